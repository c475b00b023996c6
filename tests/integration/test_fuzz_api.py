"""Schemathesis against the live OpenAPI (issue 10, item 2).

A real server (uvicorn, in a child process) on a database of its own, loaded with the demo
data. For every operation in /schema/openapi.json, for each role (and for nobody logged in),
Schemathesis generates requests from the schema, valid and invalid, half of them aimed at
the demo's real plan, goal, assessment and share so that they reach the domain rather than
stopping at "not found". Every response is checked:

- not a server error (a 503 from a deliberate "database away" is documented, not a 500);
- status code, content type, headers and body as the schema documents them.

CI runs it on SQLite and, with CAREPLANS_DATABASE_URL, on PostgreSQL. It prints how many
requests it made. CAREPLANS_FUZZ_EXAMPLES sets examples per operation, role and mode
(default 6: a few minutes per engine); CAREPLANS_FUZZ_SEED another seed (default fixed, so
CI is repeatable).
"""

from __future__ import annotations

import os
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from careplans.db import is_sqlite, make_engine, upgrade
from careplans.demo import DEMO_PASSWORD, load_demo
from careplans.models import Assessment, Client, Goal, Plan, Share, User
from tests.conftest import TEST_SECRET
from tests.live_server import live_server

ROLES = {  # role → demo account; None: nobody logged in
    "nobody": None,
    "client": "demo-client",
    "keyworker": "demo-keyworker",
    "clinician": "demo-clinician",
    "auditor": "demo-auditor",
    "admin": "demo-admin",
}
EXAMPLES = int(os.environ.get("CAREPLANS_FUZZ_EXAMPLES", "6"))
SEED = int(os.environ.get("CAREPLANS_FUZZ_SEED", "10"))
# Rendering a PDF takes a good part of a second: fewer of those.
FEWER = {"GET /api/plans/{plan_id}/pdf": 2}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


@dataclass
class Tally:
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    nonconforming: list[str] = field(default_factory=list)


def _fresh_database(database_url: str, tmp_path) -> tuple[str, str | None]:
    if is_sqlite(database_url):
        return f"sqlite:///{tmp_path / 'fuzz.db'}", None
    name = f"{database_url.rsplit('/', 1)[1]}_fuzz_{uuid.uuid4().hex[:6]}"
    admin = make_engine(database_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return database_url.rsplit("/", 1)[0] + "/" + name, name


def _drop(database_url: str, name: str | None) -> None:
    if name is None:
        return
    admin = make_engine(database_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _real_ids(url: str) -> dict[str, str]:
    """Path parameters that exist: Jordan's plan, a goal, an assessment, a share."""
    engine = make_engine(url, immediate=False)
    with Session(engine) as db:
        client_id, plan_id = db.execute(
            select(Client.id, Plan.id).join(Plan, Plan.client_id == Client.id).join(User, User.id == Client.user_id)
            .where(User.username == "demo-client")).one()
        ids = {"client_id": str(client_id), "plan_id": str(plan_id), "number": "1", "code": "barc10"}
        if goal := db.execute(select(Goal.id).where(Goal.plan_id == plan_id)).scalars().first():
            ids["goal_id"] = str(goal)
        if assessment := db.execute(select(Assessment.id).where(Assessment.plan_id == plan_id)).scalars().first():
            ids["assessment_id"] = str(assessment)
        if share := db.execute(select(Share.id).where(Share.plan_id == plan_id)).scalars().first():
            ids["share_id"] = str(share)
    engine.dispose()
    return ids


def _log_in(base: str, username: str | None) -> tuple[requests.Session, dict[str, str]]:
    session = requests.Session()
    if username is None:
        return session, {}
    r = session.post(f"{base}/api/session", json={"username": username, "password": DEMO_PASSWORD}, timeout=30)
    assert r.status_code == 200, r.text
    return session, {"X-CSRF-Token": r.json()["csrf_token"]}


def _fuzz_operation(op, base: str, role: str, username: str | None, state: dict, ids: dict, tally: Tally) -> None:
    """Run one operation's generated cases as one role; `state` holds the role's session and
    headers and the real plan's latest known version."""
    names = {p.name for p in op.path_parameters}
    real = {n: ids[n] for n in names if n in ids}
    strategies = [op.as_strategy(generation_mode=mode) for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]
    if real and len(real) == len(names):
        strategies += [op.as_strategy(generation_mode=mode, path_parameters=real)
                       for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]
    label = f"{op.method.upper()} {op.path}"

    @seed(SEED)
    @settings(max_examples=FEWER.get(label, EXAMPLES) * len(strategies), deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck), derandomize=False)
    @given(case=st.one_of(strategies))
    def run(case) -> None:
        on_real_plan = case.path_parameters.get("plan_id") == ids["plan_id"]
        if on_real_plan and case.headers and "If-Match" in case.headers:
            # When the generated case sends If-Match at all, send the plan's current version,
            # so that the body gets as far as the domain rules instead of a 409.
            case.headers["If-Match"] = f'"{state["version"]}"'
        # The schema documents the session cookie (SessionAuth's security scheme), so cases carry
        # made-up ones: send this role's real cookies instead, and its CSRF header.
        response = case.call(base_url=base, session=state["session"], headers=dict(state["headers"]),
                             cookies=state["session"].cookies.get_dict(), timeout=60)
        tally.requests += 1
        if on_real_plan and re.fullmatch(r'"[0-9]+"', response.headers.get("ETag", "")):
            state["version"] = max(state["version"], int(response.headers["ETag"].strip('"')))
        tally.statuses[response.status_code] += 1
        where = f"{role}: {label} → {response.status_code}"
        if response.status_code >= 500 and response.status_code != 503:
            tally.server_errors.append(f"{where}\n  {case.as_curl_command()}\n  {response.text[:300]}")
        else:
            try:
                case.validate_response(response, checks=CHECKS)
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected, reported together
                kinds = "; ".join(sorted({str(e).split(chr(10))[0] for e in getattr(exc, "exceptions", [exc])}))
                tally.nonconforming.append(f"{where}: {kinds}\n  {case.as_curl_command()[:400]}")
        if label in ("DELETE /api/session", "POST /api/session"):
            # Logged out (or a different person logged in): log in again as this role.
            state["session"], state["headers"] = _log_in(base, username)

    run()


def test_schemathesis_every_operation_every_role(database_url: str, tmp_path) -> None:
    url, created = _fresh_database(database_url, tmp_path)
    try:
        upgrade(url)
        engine = make_engine(url)
        with Session(engine, expire_on_commit=False) as db:
            assert load_demo(db)
            db.commit()
        engine.dispose()
        ids = _real_ids(url)
        tally = Tally()
        with live_server(url, TEST_SECRET) as base:
            schema = schemathesis.openapi.from_url(f"{base}/schema/openapi.json")
            operations = [result.ok() for result in schema.get_all_operations()]
            # Logging in from one address over and over is throttled (per-address delays),
            # by design: the login operation is fuzzed last, once, with nobody logged in.
            login = [op for op in operations if op.method.upper() == "POST" and op.path == "/api/session"]
            others = [op for op in operations if op not in login]
            keyworker, _ = _log_in(base, ROLES["keyworker"])
            version = int(keyworker.get(f"{base}/api/plans/{ids['plan_id']}", timeout=30).headers["ETag"].strip('"'))
            for role, username in ROLES.items():
                session, headers = _log_in(base, username)
                state = {"session": session, "headers": headers, "version": version}
                for op in others:
                    _fuzz_operation(op, base, role, username, state, ids, tally)
            for op in login:
                _fuzz_operation(op, base, "nobody", None, {"session": requests.Session(), "headers": {}, "version": 1},
                                ids, tally)
        print(f"\nschemathesis: {tally.requests} requests, {len(operations)} operations, {len(ROLES)} roles, "
              f"{len(tally.server_errors)} server errors, {len(tally.nonconforming)} responses not as documented; "
              f"statuses {dict(sorted(tally.statuses.items()))}")
        assert not tally.server_errors, "\n".join(tally.server_errors[:20])
        distinct = {line.split(chr(10))[0].split(": ", 1)[1]: line for line in tally.nonconforming}
        assert not distinct, f"{len(distinct)} distinct:\n" + "\n".join(sorted(distinct.values()))
        assert tally.requests >= len(operations) * len(ROLES) * EXAMPLES
    finally:
        _drop(database_url, created)
