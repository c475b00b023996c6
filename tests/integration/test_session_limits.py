"""CSRF origin checks and session lifetimes (issue 10, item 4)."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from litestar.testing import TestClient
from sqlalchemy import select, func
from sqlalchemy.orm import Session

from api.app import create_app
from api.session_model import UserSession
from tests.conftest import Api


@pytest.mark.parametrize("origin", ["null", "http://testserver:8443", "https://testserver", "http://evil.example"])
def test_origin_must_match_scheme_host_and_port(as_, world, origin):
    kw = as_("keyworker_a")
    r = kw.post(f"/api/plans/{world.plan_ids['a']}/goals", {"title": "Walk", "area": "health"}, version=1,
                headers={"Origin": origin})
    assert r.status_code == 403, (origin, r.text)
    assert kw.plan(world.plan_ids["a"])["version"] == 1


def test_same_origin_is_accepted(as_, world):
    kw = as_("keyworker_a")
    r = kw.post(f"/api/plans/{world.plan_ids['a']}/goals", {"title": "Walk", "area": "health"}, version=1,
                headers={"Origin": "http://testserver.local"})
    assert r.status_code == 201, r.text


def test_sessions_have_an_absolute_lifetime(app, world, monkeypatch):
    kw = Api(TestClient(app), world.username("keyworker_a"))
    assert kw.get("/api/me").status_code == 200
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 12 * 3600 + 60)
    # Active all along (idle timeout renewed), but past 12 hours from login: log in again.
    assert kw.get("/api/me").status_code == 401


def test_expired_sessions_are_deleted_without_an_operator(settings, engine, world):
    from dataclasses import replace

    with Session(engine) as db:
        db.add(UserSession(session_id="expired-" + world.tag, data=b"{}",
                           expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)))
        db.commit()
    app = create_app(replace(settings, session_cleanup_minutes=0))  # 0: every second
    with TestClient(app):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with Session(engine) as db:
                left = db.execute(select(func.count()).select_from(UserSession)
                                  .where(UserSession.session_id == "expired-" + world.tag)).scalar_one()
                db.rollback()
            if not left:
                break
            time.sleep(0.2)
    assert left == 0


def test_schema_is_off_in_production_by_default():
    from api.settings import Settings

    env = {"CAREPLANS_ENV": "production", "CAREPLANS_SECRET_KEY": "k" * 40, "CAREPLANS_ALLOWED_HOSTS": "care.example"}
    assert Settings.from_env(env).openapi is False
    assert Settings.from_env({**env, "CAREPLANS_OPENAPI": "on"}).openapi is True
    assert Settings.from_env({}).openapi is True


def test_openapi_documents_login_as_200(http):
    schema = http.get("/schema/openapi.json").json()
    responses = schema["paths"]["/api/session"]["post"]["responses"]
    assert "200" in responses and "201" not in responses, list(responses)
