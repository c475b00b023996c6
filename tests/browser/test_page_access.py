"""Deny by default on the HTML pages: every page route × every role × own and other record.

Generated from the app's route table and each route's role guard, so a new page without a
guard, or one that leaks another caseload's plan, fails here. (Runs without a browser.)
"""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from litestar.testing import TestClient

from careplans import queries
from careplans.catalogue import load_options
from careplans.services import accounts, episodes, goals
from api.guards import PUBLIC_ROUTES, action_of
from careplans import assessments, policy
from careplans.assessments import AnswerInput
from tests.conftest import Api

# Pages that anyone may open without logging in.
PUBLIC = {r for r in PUBLIC_ROUTES if not r[1].startswith(("/api", "/health"))}
SKIP_PREFIXES = ("/api", "/static", "/assets", "/schema", "/health")
# Every page module is in the matrix: a new page is checked the day it is added.
PAGE_MODULE_PREFIX = "api.controllers.pages"
ROLE_USERS = {"client": "client_a", "keyworker": "keyworker_a", "clinician": "clinician_a", "auditor": "auditor",
              "admin": "admin"}


def page_handlers(app):
    for route in app.routes:
        if route.path.startswith(SKIP_PREFIXES):
            continue
        for handler in getattr(route, "route_handlers", []):
            for method in sorted(handler.http_methods - {"OPTIONS", "HEAD"}):
                yield method, route.path, handler


def module_of(handler) -> str:
    fn = handler.fn
    return getattr(getattr(fn, "func", fn), "__module__", "")


def allowed_roles(handler) -> set[str] | None:
    """The roles the policy gives the page's action (None: the page names no action)."""
    action = action_of(handler)
    return set(policy.roles_for(action)) if action is not None else None


def test_every_page_route_states_who_may_use_it(app):
    unguarded = [(m, p) for m, p, h in page_handlers(app) if (m, p) not in PUBLIC and allowed_roles(h) is None]
    assert not unguarded, f"page routes without a role guard: {unguarded}"


@pytest.fixture()
def records(world, db):
    """A goal in each caseload's plan, so goal pages have something to find."""
    out = {}
    for side in ("a", "b"):
        kw = world.viewer(f"keyworker_{side}")
        version = queries.read_plan(db, kw, world.plan_ids[side], audited=False).version
        _, goal = goals.add_goal(db, kw, world.plan_ids[side], version, {"title": f"Goal {side}", "area": "health"})
        assessment = assessments.start_assessment(db, kw, world.plan_ids[side], version + 1, "feel_safe", [
            AnswerInput(question="safer_places", value="Near the door", visibility="care_team")], finish=False)
        # A throwaway staff account for the administrator's account pages (deactivate, reset).
        spare = accounts.create_user(db, f"spare-{side}-{world.tag}", "a long enough password 1", "keyworker",
                                     f"Spare {side}", check_strength=False)
        intervention = episodes.add_intervention(db, kw, world.client_ids[side], {
            "intervention_type": "psychosocial", "setting": "community", "start_date": dt.date.today()})
        out[side] = {"plan_id": world.plan_ids[side], "goal_id": goal.id, "client_id": world.client_ids[side],
                     "intervention_id": intervention["id"],
                     "number": "1", "option": load_options()[0].code, "assessment_id": assessment.id, "n": "1",
                     "question": "safer_places", "user_id": str(spare.id)}
    db.commit()
    return out


def _path(template: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: values[m.group(1)], template)


def _request(client: TestClient, method: str, path: str, csrf: str | None):
    if method == "GET":
        return client.get(path, follow_redirects=False)
    data = {"_csrf_token": csrf} if csrf else {}
    return client.post(path, data=data, follow_redirects=False)


def test_page_access_matrix(app, world, records):
    handlers = [(m, p, h) for m, p, h in page_handlers(app)
                if module_of(h).startswith(PAGE_MODULE_PREFIX) and (m, p) not in PUBLIC]
    handlers.sort(key=lambda item: item[1] == "/logout")  # logging out ends the sessions: last
    assert len(handlers) >= 20
    failures = []
    anonymous = TestClient(app)
    sessions = {}
    for role, key in ROLE_USERS.items():
        api = Api(TestClient(app), world.username(key))
        sessions[role] = (api.client, api.csrf)

    for method, template, handler in handlers:
        roles = allowed_roles(handler) or set()
        uses_record = "{" in template
        own = _path(template, records["a"])
        other = _path(template, records["b"])

        r = _request(anonymous, method, own, None)
        if not (r.status_code in (302, 303) and r.headers.get("location", "").startswith("/login")):
            failures.append(f"anonymous {method} {template}: {r.status_code}, expected a redirect to log in")

        for role, (client, csrf) in sessions.items():
            r = _request(client, method, own, csrf)
            if role not in roles:
                if r.status_code != 403:
                    failures.append(f"{role} {method} {template}: {r.status_code}, expected 403")
                continue
            if r.status_code in (403, 404) or r.status_code >= 500:
                failures.append(f"{role} {method} {template} (own): {r.status_code}, expected to be allowed")
            # Administrators reach every client record and account by design (policy.client_scope,
            # policy.staff_scope): they have no "other caseload"; plan pages are 403 for them above.
            if uses_record and role != "admin":
                r = _request(client, method, other, csrf)
                if method == "GET" and r.status_code in (302, 303) and other in r.headers.get("location", ""):
                    # A short alias that only redirects deeper into the same record: where it lands must 404.
                    r = _request(client, "GET", r.headers["location"], csrf)
                if r.status_code != 404:
                    failures.append(f"{role} {method} {template} (other caseload): {r.status_code}, expected 404")
        # A made-up id is as unknown as another caseload's.
        if uses_record and "client" in roles:
            client, csrf = sessions["client"]
            r = _request(client, method, _path(template, {**records["a"], "plan_id": str(uuid.uuid4())}), csrf)
            if r.status_code != 404 and "{plan_id" in template:
                failures.append(f"client {method} {template} (made-up plan): {r.status_code}, expected 404")
    assert not failures, "\n".join(failures)
