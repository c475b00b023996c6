"""Canary: distinctive words planted in one person's record never reach the auditor,
by any route (JSON or HTML), through the history's sentences or the presented plan."""

from __future__ import annotations

import re

import msgspec
from sqlalchemy import update

from careplans import plan_history, policy, queries
from careplans import changes as ch
from careplans.models import Client
from careplans.present import Namer, present, sentences
from careplans.services import choices, goals

CANARIES = ("CANARYNAME", "CANARYGOAL", "CANARYABOUT", "CANARYREASON", "CANARYRENAMED")


def plant(db, world) -> str:
    pid = world.plan_ids["a"]
    kw = world.viewer("keyworker_a")
    db.execute(update(Client).where(Client.id == queries.parse_id(world.client_ids["a"]))
               .values(preferred_name="CANARYNAME Person"))
    v = queries.read_plan(db, kw, pid, audited=False).version
    v = goals.patch_plan(db, kw, pid, v, {"what_matters": "CANARYABOUT matters"}).version
    result, goal = goals.add_goal(db, kw, pid, v, {"title": "CANARYGOAL flat", "area": "health"})
    result, _ = choices.add_choice(db, kw, pid, result.version, {
        "option": "methadone", "information_given": True, "discussed_on": "2026-11-01",
        "outcome": "declined", "reason": "CANARYREASON not now"})
    goals.update_goal(db, kw, pid, goal.id, result.version, {"title": "CANARYRENAMED flat"})
    db.commit()
    return goal.id


def _paths(app, values: dict[str, str]):
    for route in app.routes:
        if route.path.startswith(("/static", "/assets")):
            continue
        for handler in getattr(route, "route_handlers", []):
            if "GET" not in handler.http_methods:
                continue
            path = re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: values.get(m.group(1), "1"), route.path)
            yield path + ("?from=1&to=5" if path.endswith(("/diff", "/compare")) else "")


def test_auditor_never_reads_the_planted_words(app, world, db, as_):
    goal_id = plant(db, world)
    auditor = as_("auditor")
    values = {"plan_id": world.plan_ids["a"], "client_id": world.client_ids["a"], "goal_id": goal_id,
              "number": "3", "option": "methadone"}
    seen = 0
    for path in _paths(app, values):
        r = auditor.get(path, follow_redirects=True)
        seen += 1
        for canary in CANARIES:
            assert canary not in r.text, f"{canary} leaked to the auditor through GET {path} ({r.status_code})"
    assert seen >= 25
    # The audit log, filtered to the plan by its pseudonym, pages through cleanly too.
    ref = policy.pseudonym(app.state.settings.secret_key, "plan", world.plan_ids["a"])
    log = auditor.get(f"/api/audit/events?plan_id={ref}&limit=1000")
    assert log.status_code == 200 and len(log.json()["items"]) >= 5
    assert not any(c in log.text for c in CANARIES)
    assert auditor.get(f"/api/audit/events?plan_id={world.plan_ids['a']}").status_code == 422


def test_what_the_auditor_audience_would_read_holds_no_planted_words(world, db):
    goal_id = plant(db, world)
    kw = world.viewer("keyworker_a")
    plan, version = queries.load_current(db, kw, queries.parse_id(world.plan_ids["a"]))
    snap = queries.snapshot(plan, version, queries.decisions_for_plan(db, plan.id))
    auditor_view = msgspec.json.encode(present(snap, policy.visibility("auditor"))).decode()
    assert not any(c in auditor_view for c in CANARIES)
    assert goal_id in auditor_view  # the shape of the plan is there, the words are not
    keyworker_view = msgspec.json.encode(present(snap, policy.visibility("keyworker"))).decode()
    assert "CANARYRENAMED" in keyworker_view  # the same step shows the keyworker everything

    reader = ch.Reader(id=None, visibility=policy.visibility("auditor"))
    namer = Namer([snap.content])
    author = ch.Author(id=None, name="Keyworker A", role="keyworker")
    history = [line for r in plan_history._history_rows(db, plan.id)  # noqa: SLF001 - the stored changes themselves
               for line in sentences(ch.from_stored(r.changes), author, reader, namer)]
    assert any("renamed a goal about health, body and mind" in line for line in history)
    assert not any(c in line for line in history for c in CANARIES)
    assert not any("Keyworker A" in line for line in history)
