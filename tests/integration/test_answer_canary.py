"""Canary across every route: a secret kept "only me" and one shared "me and my keyworker"
appear only in the responses of the roles the person allowed, on every GET route of the
app (JSON and HTML pages, generated from the route table so a new route cannot be
missed), for every role; and narrowing one makes it disappear for the role that lost it."""

from __future__ import annotations

import re

from careplans import assessments
from careplans.assessments import AnswerInput

ONLY_ME = "CANARYONLYME7"
KEYWORKER = "CANARYKEYWORKER7"
ROLES = {"client": "client_a", "keyworker": "keyworker_a", "clinician": "clinician_a", "auditor": "auditor",
         "admin": "admin"}


def plant(db, world) -> dict[str, str]:
    pid = world.plan_ids["a"]
    client = world.viewer("client_a")
    from careplans import queries

    v = queries.read_plan(db, client, pid, audited=False).version
    a = assessments.start_assessment(db, client, pid, v, "feel_safe", [
        AnswerInput(question="safer_places", value=f"{ONLY_ME} by the door", visibility="only_me"),
        AnswerInput(question="safer_times", value=f"{KEYWORKER} mornings", visibility="me_and_keyworker"),
        AnswerInput(question="distress_helps", value="Shared with the care team", visibility="care_team"),
    ])
    # A TOP, so the outcome charts have something to draw from visible and hidden answers.
    top = assessments.start_assessment(db, client, pid, a.plan_version, "top", [
        AnswerInput(question="days_alcohol", value=17, visibility="only_me")], stage="start")
    db.commit()
    return {"plan_id": pid, "client_id": world.client_ids["a"], "assessment_id": a.id, "question": "safer_places",
            "code": "feel_safe", "number": str(top.plan_version), "n": "2", "goal_id": "00000000-0000-0000-0000-000000000000",
            "option": "methadone", "share_id": "00000000-0000-0000-0000-000000000000"}


def get_routes(app, values: dict[str, str]) -> list[str]:
    out = []
    for route in app.routes:
        if route.path.startswith(("/static", "/assets")):
            continue
        for handler in getattr(route, "route_handlers", []):
            if "GET" not in handler.http_methods:
                continue
            path = re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: values.get(m.group(1), "made-up"), route.path)
            if path.endswith(("/diff", "/compare")):
                path += f"?from=1&to={values['number']}"
            out.append(path)
    return sorted(set(out))


def _sweep(app, as_, paths, secrets) -> tuple[dict[str, set[str]], int]:
    seen: dict[str, set[str]] = {s: set() for s in secrets}
    calls = 0
    for role, key in ROLES.items():
        api = as_(key)
        for path in paths:
            r = api.get(path, follow_redirects=True)
            calls += 1
            assert r.status_code < 500, f"{role} GET {path}: {r.status_code}"
            for s in secrets:
                if s in r.text:
                    seen[s].add(role)
    return seen, calls


def test_each_secret_reaches_only_the_roles_the_person_allowed(app, world, db, as_):
    values = plant(db, world)
    paths = get_routes(app, values)
    assert len(paths) >= 40 and any("/assessments/" in p for p in paths)
    seen, calls = _sweep(app, as_, paths, (ONLY_ME, KEYWORKER))
    assert seen[ONLY_ME] == {"client"}
    assert seen[KEYWORKER] == {"client", "keyworker"}
    print(f"answer canary: {len(paths)} GET routes x {len(ROLES)} roles = {calls} responses checked")

    # The person narrows the keyworker's answer to "only me": it disappears for the keyworker.
    from careplans import queries

    client = world.viewer("client_a")
    v = queries.read_plan(db, client, values["plan_id"], audited=False).version
    assessments.change_visibility(db, client, values["plan_id"], values["assessment_id"], "safer_times", "only_me", v)
    db.commit()
    kw = as_("keyworker_a")
    for path in paths:
        r = kw.get(path, follow_redirects=True)
        assert KEYWORKER not in r.text, f"narrowed answer still reaches the keyworker through GET {path}"
    assert KEYWORKER in as_("client_a").get(f"/api/plans/{values['plan_id']}/assessments").text
