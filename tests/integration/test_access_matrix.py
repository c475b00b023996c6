"""Deny by default: every /api route × every role × own/other record, generated from
the app's route table and decided by the policy alone (careplans.policy.ACTIONS, through
each route's one guard). A new route without a policy action, a sample body or a
path-parameter recipe fails here, so it cannot be missed.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from litestar.handlers import HTTPRouteHandler

from api.guards import PUBLIC_ROUTES, action_of
from careplans import policy
from tests.conftest import Api

ROLE_USERS = {
    "client": "client_a",
    "keyworker": "keyworker_a",
    "clinician": "clinician_a",
    "auditor": "auditor",
    "admin": "admin",
}
PUBLIC = {r for r in PUBLIC_ROUTES if r[1].startswith("/api")}
# Routes where a role legitimately sees beyond its own caseload.
SEES_EVERYONE = {("admin", "GET", "/api/clients/{client_id:str}"),
                 ("admin", "GET", "/api/clients/{client_id:str}/episode"),
                 ("admin", "PATCH", "/api/clients/{client_id:str}/episode")}
# Path parameters that name catalogue entries (the same for everyone), not anyone's record.
CATALOGUE_PATHS = {"/api/questionnaires/{code:str}"}

# A valid body for every unsafe route, so that a refusal is about access, not input.
SAMPLE_BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/session"): None,
    ("DELETE", "/api/session"): None,
    ("POST", "/api/clients"): {"preferred_name": "Matrix Person", "date_of_birth": "1990-02-03"},
    ("POST", "/api/clients/{client_id:str}/plans"): None,
    ("PATCH", "/api/plans/{plan_id:str}"): {"next_review_date": "2027-02-01"},
    ("POST", "/api/plans/{plan_id:str}/goals"): {"title": "Matrix goal", "area": "health"},
    ("PATCH", "/api/plans/{plan_id:str}/goals/{goal_id:str}"): {"status": "paused"},
    ("POST", "/api/plans/{plan_id:str}/goals/{goal_id:str}/check-ins"): {"rating": 5},
    ("POST", "/api/plans/{plan_id:str}/agreements"): {"version": "{version}"},
    ("POST", "/api/plans/{plan_id:str}/choices"): {
        "option": "methadone", "information_given": True, "discussed_on": "2026-11-01",
        "outcome": "undecided"},
    ("POST", "/api/plans/{plan_id:str}/prescribing"): {
        "plan_version": "{version}", "option": "methadone", "product": "methadone_oral_solution",
        "dose_mg": 30, "frequency": "daily", "supervision": "supervised_consumption",
        "decision": "approved", "rationale": "Matrix", "client_explanation": "Matrix"},
    ("POST", "/api/plans/{plan_id:str}/shares"): {"audience": "gp", "with_client": True},
    ("DELETE", "/api/shares/{share_id:str}"): None,
    ("POST", "/api/plans/{plan_id:str}/assessments"): {"questionnaire": "barc10", "answers": []},
    ("POST", "/api/plans/{plan_id:str}/assessments/{assessment_id:str}/answers"): {"answers": []},
    ("PATCH", "/api/plans/{plan_id:str}/assessments/{assessment_id:str}/answers/{question:str}"): {
        "visibility": "care_team"},
    ("POST", "/api/plans/{plan_id:str}/feedback"): {"listened": 4},
    ("POST", "/api/staff/unlock"): {"username": "nobody-in-particular"},
    ("PATCH", "/api/clients/{client_id:str}/episode"): {"consent_to_report": True},
    ("POST", "/api/clients/{client_id:str}/interventions"): {
        "intervention_type": "psychosocial", "setting": "community", "start_date": "{today}"},
    ("PATCH", "/api/interventions/{intervention_id:str}"): {"end_date": "{today}"},
}
QUERY = {
    "/api/plans/{plan_id:str}/diff": "?from=1&to=1",
    "/api/plans/{plan_id:str}/pdf": "?audience=client",
    "/api/audit/ndtms": "?from=2026-01-01&to=2026-01-31",
}


def api_routes(app) -> list[tuple[str, str, HTTPRouteHandler]]:
    out = []
    for route in app.routes:
        if not route.path.startswith("/api"):
            continue
        for handler in getattr(route, "route_handlers", []):
            for method in sorted(handler.http_methods):
                if method in ("OPTIONS", "HEAD"):
                    continue
                out.append((method, route.path, handler))
    return sorted(out, key=lambda t: (t[1], t[0]))


def allowed_roles(handler: HTTPRouteHandler) -> frozenset[str] | None:
    """The roles the policy gives the route's action (None: the route names no action)."""
    action = action_of(handler)
    return policy.roles_for(action) if action is not None else None


@pytest.fixture()
def records(world, as_):
    """Give each side a goal so goal routes have something to point at."""
    ids: dict[str, dict[str, str]] = {}
    for side in ("a", "b"):
        kw = as_(f"keyworker_{side}")
        pid = world.plan_ids[side]
        version = kw.plan(pid)["version"]
        goal = kw.post(f"/api/plans/{pid}/goals", {"title": "A goal", "area": "health"}, version=version).json()
        share = kw.post(f"/api/plans/{pid}/shares", {"audience": "gp", "with_client": True})
        assert share.status_code == 201, share.text
        assessment = kw.post(f"/api/plans/{pid}/assessments", {"questionnaire": "feel_safe", "answers": [
            {"question": "safer_places", "value": "Near the door", "visibility": "care_team"}]},
            version=version + 1).json()
        intervention = kw.post(f"/api/clients/{world.client_ids[side]}/interventions", {
            "intervention_type": "psychosocial", "setting": "community", "start_date": dt.date.today().isoformat()})
        assert intervention.status_code == 201, intervention.text
        ids[side] = {"client_id": world.client_ids[side], "plan_id": pid, "goal_id": goal["id"], "number": "1",
                     "intervention_id": intervention.json()["id"],
                     "share_id": share.json()["id"], "assessment_id": assessment["id"],
                     "question": "safer_places", "code": "pc_ptsd_5"}
    return ids


def fill(path: str, values: dict[str, str]) -> str:
    def sub(m: re.Match) -> str:
        name = m.group(1)
        if name not in values:
            raise AssertionError(f"test_access_matrix has no recipe for path parameter {name!r} in {path}")
        return values[name]

    return re.sub(r"\{(\w+)(?::\w+)?\}", sub, path) + QUERY.get(path, "")


def body_for(method: str, path: str, version: int) -> Any:
    if method not in ("POST", "PATCH", "PUT", "DELETE"):
        return None
    if (method, path) not in SAMPLE_BODIES:
        raise AssertionError(f"test_access_matrix needs a sample body for {method} {path}")
    body = SAMPLE_BODIES[(method, path)]
    if isinstance(body, dict):
        today = dt.date.today().isoformat()
        body = {k: (version if v == "{version}" else today if v == "{today}" else v) for k, v in body.items()}
    return body


def call(api_or_client, method: str, url: str, body: Any, version: int):
    if isinstance(api_or_client, Api):
        fn = {"GET": api_or_client.get, "POST": api_or_client.post, "PATCH": api_or_client.patch,
              "DELETE": api_or_client.delete}[method]
        if method == "GET":
            return fn(url)
        if method == "DELETE":
            return fn(url)
        return fn(url, body, version=version)
    return api_or_client.request(method, url, json=body, headers={"If-Match": f'"{version}"'})


def test_every_api_route_states_who_may_call_it(app):
    missing = [f"{m} {p}" for m, p, h in api_routes(app)
               if (m, p) not in PUBLIC and allowed_roles(h) is None]
    assert not missing, f"routes without a policy action: {missing}"


def test_access_matrix(app, world, records, as_, http):
    failures: list[str] = []
    routes = [r for r in api_routes(app) if (r[0], r[1]) != ("DELETE", "/api/session")]
    for method, path, handler in routes:
        if (method, path) in PUBLIC:
            continue
        allowed = allowed_roles(handler)
        has_record = "{" in path and path not in CATALOGUE_PATHS
        # Not logged in: 401, whatever the record.
        url = fill(path, records["a"])
        r = call(http, method, url, body_for(method, path, 1), 1)
        if r.status_code != 401:
            failures.append(f"anonymous {method} {url}: {r.status_code} (expected 401)")
        for role, key in ROLE_USERS.items():
            api = as_(key)
            for side in (("a", "b") if has_record else ("a",)):
                url = fill(path, records[side])
                version = as_("keyworker_" + side).plan(records[side]["plan_id"])["version"]
                r = call(api, method, url, body_for(method, path, version), version)
                status = r.status_code
                where = f"{role} {method} {path} ({'own' if side == 'a' else 'other'}): {status}"
                if role not in allowed:
                    if status != 403:
                        failures.append(f"{where} (expected 403)")
                elif side == "b" and (role, method, path) not in SEES_EVERYONE:
                    if status != 404:
                        failures.append(f"{where} (expected 404: other people's records must not be found)")
                elif status in (401, 403, 404) or status >= 500:
                    failures.append(f"{where} (expected access) {r.text[:200]}")
    assert not failures, "\n".join(failures)


def test_logout_route_needs_a_session(http):
    assert http.delete("/api/session").status_code == 401
