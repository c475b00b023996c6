"""api/fast_read.py: an ordinary plan read is answered in front of the middleware stack,
exactly as the stack would answer it; anything unusual is left to the stack, which answers
as it always has."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, update

from api.csrf import CSRF_COOKIE
from api.fast_read import FastRead
from api.session_model import UserSession
from careplans.models import AuditEvent, User, utcnow
from tests.integration.test_read_path import statements, written_tables


@pytest.fixture()
def answered(monkeypatch) -> list[bool]:
    """What FastRead decided for each request to a fast route: True = answered in front."""
    seen: list[bool] = []
    original = FastRead._answer

    async def spy(self, scope, send, action):
        done = await original(self, scope, send, action)
        seen.append(done)
        return done

    monkeypatch.setattr(FastRead, "_answer", spy)
    return seen


def reads_of(db, plan_id: str) -> int:
    db.rollback()
    return db.execute(select(func.count()).select_from(AuditEvent)
                      .where(AuditEvent.plan_id == str(plan_id), AuditEvent.action == "plan.read")).scalar_one()


def test_an_ordinary_read_is_answered_in_front_exactly_as_the_stack_answers_it(app, world, as_, db, answered,
                                                                                monkeypatch):
    for reader, side in (("keyworker_a", "a"), ("client_a", "a"), ("clinician_b", "b")):
        person = as_(reader)
        plan = world.plan_ids[side]
        before = reads_of(db, plan)
        first = person.get(f"/api/plans/{plan}")  # the session's first read here: two statements
        with statements(app.state.engine) as sql:
            again = person.get(f"/api/plans/{plan}")  # then one: session, user and revision together
        assert answered[-2:] == [True, True], reader
        reads = [s for s in sql if not written_tables([s]) and "audit_" not in s and not s.startswith("BEGIN")]
        assert len(reads) == 1 and "user_sessions" in reads[0] and "plans" in reads[0], reads
        with monkeypatch.context() as m:
            m.setattr(FastRead, "_answer", lambda *a: _false())
            stack = person.get(f"/api/plans/{plan}")
        for fast in (first, again):
            assert fast.status_code == stack.status_code == 200
            assert fast.content == stack.content
            assert fast.headers.multi_items() == stack.headers.multi_items()  # security headers, ETag, no-store, all
        assert reads_of(db, plan) == before + 3  # each read's audit row, once


def test_what_changed_since_a_sessions_first_read_is_seen_on_the_next(world, as_, db, answered):
    """The one-statement way compares the session row and user with what it checked: a
    change of name is answered afresh (200), of role refused by the stack (403), a plan
    moved to another caseload is 404, a touch due goes to the stack, which touches."""
    from careplans.models import CaseloadAssignment

    person = as_("keyworker_a")
    plan = f"/api/plans/{world.plan_ids['a']}"
    me = world.users["keyworker_a"].id
    assert person.get(plan).status_code == 200 and person.get(plan).status_code == 200
    db.execute(update(User).where(User.id == me).values(display_name="Keyworker A Renamed"))
    db.commit()
    renamed = person.get(plan)
    assert renamed.status_code == 200 and answered[-1] is True
    db.execute(update(UserSession).values(expires_at=utcnow() + dt.timedelta(minutes=20)))
    db.commit()
    touched = person.get(plan)
    assert touched.status_code == 200 and answered[-1] is False
    assert "careplans_session" in touched.headers.get("set-cookie", "")
    assert person.get(plan).status_code == 200 and answered[-1] is True
    db.execute(update(CaseloadAssignment).where(CaseloadAssignment.staff_user_id == me)
               .values(staff_user_id=world.users["keyworker_b"].id))
    db.commit()
    assert person.get(plan).status_code == 404 and answered[-1] is False
    db.execute(update(User).where(User.id == me).values(role="auditor"))
    db.commit()
    assert person.get(plan).status_code == 403 and answered[-1] is False


async def _false() -> bool:
    return False


def test_a_plan_outside_the_readers_caseload_is_left_to_the_stack(world, as_, answered):
    response = as_("keyworker_a").get(f"/api/plans/{world.plan_ids['b']}")
    assert response.status_code == 404
    assert answered == [False]


def test_a_role_without_the_action_is_left_to_the_stack(world, as_, answered):
    response = as_("auditor").get(f"/api/plans/{world.plan_ids['a']}")
    assert response.status_code == 403
    assert answered == [False]


def test_no_csrf_cookie_is_left_to_the_stack_which_sends_one(world, as_, answered):
    person = as_("keyworker_a")
    person.client.cookies.delete(CSRF_COOKIE)
    response = person.get(f"/api/plans/{world.plan_ids['a']}")
    assert response.status_code == 200
    assert answered == [False]
    assert CSRF_COOKIE in response.headers.get("set-cookie", "")


def test_another_sessions_csrf_cookie_is_left_to_the_stack(world, as_, answered):
    mine, theirs = as_("keyworker_a"), as_("keyworker_b")
    mine.client.cookies.set(CSRF_COOKIE, theirs.client.cookies.get(CSRF_COOKIE))
    response = mine.get(f"/api/plans/{world.plan_ids['a']}")
    assert response.status_code == 200
    assert answered == [False]
    assert CSRF_COOKIE in response.headers.get("set-cookie", "")  # its own token, from the stack


def test_a_session_due_a_touch_is_left_to_the_stack_which_touches_it(world, as_, db, answered):
    person = as_("keyworker_a")
    assert person.get(f"/api/plans/{world.plan_ids['a']}").status_code == 200
    answered.clear()
    db.execute(update(UserSession).values(expires_at=utcnow() + dt.timedelta(minutes=20)))
    db.commit()
    response = person.get(f"/api/plans/{world.plan_ids['a']}")
    assert response.status_code == 200
    assert answered == [False]
    assert "careplans_session" in response.headers.get("set-cookie", "")


def test_a_deactivated_account_is_refused(world, as_, db, answered):
    person = as_("keyworker_a")
    assert person.get(f"/api/plans/{world.plan_ids['a']}").status_code == 200  # the session's user is known
    db.execute(update(User).where(User.id == world.users["keyworker_a"].id).values(is_active=False))
    db.commit()
    assert person.get(f"/api/plans/{world.plan_ids['a']}").status_code == 401
    assert answered == [True, False]


def test_a_session_past_its_lifetime_is_refused(world, as_, db, answered):
    from api.security import RotatingSessionBackend

    person = as_("keyworker_a")
    assert person.get(f"/api/plans/{world.plan_ids['a']}").status_code == 200  # known: the one-statement way next
    answered.clear()
    stale = db.execute(select(UserSession.data)).scalars().all()
    assert stale
    backend = RotatingSessionBackend.__new__(RotatingSessionBackend)
    for row in db.execute(select(UserSession)).scalars():
        data = backend.deserialize_data(row.data)
        if data.get("user_id") == str(world.users["keyworker_a"].id):
            data["started"] = int(utcnow().timestamp()) - 10 * 24 * 3600
            row.data = backend.serialize_data(data)
    db.commit()
    assert person.get(f"/api/plans/{world.plan_ids['a']}").status_code == 401
    assert answered == [False]


def test_a_query_string_or_an_unknown_host_is_left_to_the_stack(world, as_, answered):
    person = as_("keyworker_a")
    assert person.get(f"/api/plans/{world.plan_ids['a']}?x=1").status_code == 200
    assert person.get(f"/api/plans/{world.plan_ids['a']}", headers={"Host": "elsewhere.example"}).status_code == 400
    assert answered == [False, False]


def test_no_session_is_refused_by_the_stack(world, http, answered):
    assert http.get(f"/api/plans/{world.plan_ids['a']}").status_code == 401
    assert answered == [False]
