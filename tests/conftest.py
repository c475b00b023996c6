"""Shared fixtures: a real database (SQLite file, or PostgreSQL when
CAREPLANS_DATABASE_URL points at one), migrated once with the real migrations,
and a factory of people, clients and plans that are unique to each test.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterator

os.environ.setdefault("CAREPLANS_ARGON2_PROFILE", "cheapest")
os.environ.setdefault("CAREPLANS_ENV", "test")

import pytest
from litestar.testing import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.app import create_app
from api.settings import Settings
from careplans.policy import Principal
from careplans.db import is_sqlite, make_engine, normalise_url, upgrade
from careplans import commands, queries
from careplans.services import accounts, clients

PASSWORD = "test-password-123"
TEST_SECRET = "test-secret-key-" + "x" * 32


def reset_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("CAREPLANS_DATABASE_URL", "").strip()
    if url and not is_sqlite(url):
        url = normalise_url(url)
        reset_postgres(url)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'careplans-test.db'}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(env="test", database_url=database_url, secret_key=TEST_SECRET)


@pytest.fixture(scope="session")
def app(settings: Settings):
    application = create_app(settings)
    # Run the app's start-up and shut-down once for the whole session; the per-person
    # clients below share it (each with its own cookie jar) without a lifespan of their own,
    # and its event loop: as under uvicorn, every request runs on the loop the app started on.
    with TestClient(application) as started:
        application.state.test_portal = started.blocking_portal
        yield application


@pytest.fixture(scope="session")
def engine(database_url: str):
    # Deferred transactions: a test reading the database must not hold SQLite's write
    # lock while the app under test writes.
    eng = make_engine(database_url, immediate=False)
    yield eng
    eng.dispose()


@pytest.fixture()
def db(engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture()
def http(app) -> Iterator[TestClient]:
    client = TestClient(app)
    yield client
    client.cookies.clear()


class Api:
    """A logged-in person using the JSON API: adds the CSRF header to unsafe requests."""

    def __init__(self, client: TestClient, username: str, password: str = PASSWORD) -> None:
        self.client = client
        self.username = username
        response = client.post("/api/session", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        self.user = response.json()["user"]
        self.csrf = response.json()["csrf_token"]

    def _headers(self, version: int | None, headers: dict | None) -> dict:
        out = {"X-CSRF-Token": self.csrf}
        if version is not None:
            out["If-Match"] = f'"{version}"'
        out.update(headers or {})
        return out

    def get(self, path: str, **kw: Any):
        return self.client.get(path, **kw)

    def post(self, path: str, json: Any = None, version: int | None = None, headers: dict | None = None):
        return self.client.post(path, json=json, headers=self._headers(version, headers))

    def patch(self, path: str, json: Any = None, version: int | None = None, headers: dict | None = None):
        return self.client.patch(path, json=json, headers=self._headers(version, headers))

    def delete(self, path: str, headers: dict | None = None):
        return self.client.delete(path, headers=self._headers(None, headers))

    def plan(self, plan_id: str) -> dict:
        r = self.get(f"/api/plans/{plan_id}")
        assert r.status_code == 200, r.text
        return r.json()


@dataclass
class World:
    """Two caseloads that must never see each other's records."""

    tag: str
    users: dict[str, Any] = field(default_factory=dict)  # key -> User
    client_ids: dict[str, str] = field(default_factory=dict)  # "a" / "b" -> client id
    plan_ids: dict[str, str] = field(default_factory=dict)  # "a" / "b" -> plan id

    def username(self, key: str) -> str:
        return self.users[key].username

    def viewer(self, key: str) -> Principal:
        u = self.users[key]
        return Principal(id=u.id, role=u.role, name=u.display_name)


ROLE_OF = {
    "client_a": "client", "client_b": "client", "keyworker_a": "keyworker", "keyworker_b": "keyworker",
    "clinician_a": "clinician", "clinician_b": "clinician", "auditor": "auditor", "admin": "admin",
}


def build_world(session: Session) -> World:
    tag = uuid.uuid4().hex[:8]
    w = World(tag=tag)
    for key, role in ROLE_OF.items():
        w.users[key] = accounts.create_user(session, f"{key}-{tag}", PASSWORD, role, f"{key.replace('_', ' ').title()}")
    for side in ("a", "b"):
        kw = w.viewer(f"keyworker_{side}")
        c = clients.create_client(session, kw, preferred_name=f"Person {side.upper()}", date_of_birth=dt.date(1990, 1, 1),
                                  user_id=w.users[f"client_{side}"].id)
        w.client_ids[side] = c["id"]
        clients.assign_staff(session, uuid.UUID(c["id"]), w.users[f"clinician_{side}"].id, "prescriber")
        w.plan_ids[side] = commands.create_plan(session, kw, c["id"]).id
    session.commit()
    return w


@pytest.fixture()
def world(db: Session) -> World:
    return build_world(db)


@pytest.fixture()
def login(http):
    def _login(username: str) -> Api:
        return Api(http, username)

    return _login


@pytest.fixture()
def as_(app, world):
    """as_("keyworker_a") → a logged-in Api for that person, each with its own cookie jar."""
    opened: list[TestClient] = []

    def _as(key: str) -> Api:
        client = TestClient(app)
        client.blocking_portal = app.state.test_portal  # the app's own loop (see `app`)
        opened.append(client)
        return Api(client, world.username(key))

    yield _as
    for c in opened:
        c.cookies.clear()


@pytest.fixture()
def checkpoint_threads(monkeypatch) -> list[str]:
    """The names of the threads careplans.rawsql.checkpoint runs in during the test (it still
    runs): the WAL checkpoints of commits made on an event loop must run off it."""
    import threading

    from careplans import rawsql

    ran: list[str] = []
    real = rawsql.checkpoint

    def watched(engine):
        ran.append(threading.current_thread().name)
        return real(engine)

    monkeypatch.setattr(rawsql, "checkpoint", watched)
    return ran
