"""The check-in write (careplans.checkin_write) as statement counts and stored bytes, never times.

- POST /api/plans/{id}/goals/{goal}/check-ins runs the same statements on a plan with ten
  check-ins and on one with 2,000, in one write transaction, writing only its own rows;
- it stores exactly what the general path (commands.change_plan) stores for the same
  check-in: the same version row, record, projection and audit detail;
- a stale If-Match is still 409 with its audit row, another caseload's plan 404, an
  unknown goal 422, and the chain and every fingerprint verify afterwards;
- a check-in tried while another writer holds the write lock waits its turn and succeeds.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from careplans import audit, checkin_write, commands, queries
from careplans import plan_document as doc
from careplans.models import AuditEvent, CheckIn, CheckInRecord, Plan, PlanVersion
from careplans.services import clients, goals
from tests.integration.test_read_path import statements, written_tables
from tests.fresh_thread import in_a_fresh_thread, off_the_main_thread, wait_until

MANY = 2000
WRITTEN = {"plans", "plan_versions", "check_in_records", "check_ins", "audit_events", "audit_head"}


def _plan(db: Session, kw, name: str, check_ins: int) -> tuple[str, str, int]:
    c = clients.create_client(db, kw, preferred_name=name, date_of_birth=dt.date(1990, 1, 1))
    plan = commands.create_plan(db, kw, c["id"])
    r, g = goals.add_goal(db, kw, plan.id, plan.version, {"title": "Walk daily", "area": "health"})
    v = r.version
    for i in range(check_ins):
        v = goals.add_check_in(db, kw, plan.id, g.id, v, i % 11, f"Week {i}")[0].version
    db.commit()
    return plan.id, g.id, v


def _shape(sql: list[str]) -> list[str]:
    """A statement without its values' spelling (PostgreSQL numbers some bind names)."""
    return [re.sub(r"_\d+\b", "", s) for s in sql]


def test_a_served_check_in_runs_the_same_statements_with_ten_or_2000_before_it(app, world, as_, db):
    kw_p = world.viewer("keyworker_a")
    small = _plan(db, kw_p, "Ten", 10)
    big = _plan(db, kw_p, "Many", MANY)
    kw = as_("keyworker_a")
    kw.get(f"/api/plans/{small[0]}")  # the session renewed before counting
    costs = []
    for plan_id, goal_id, v in (small, big):
        with statements(app.state.engine) as sql:
            r = kw.post(f"/api/plans/{plan_id}/goals/{goal_id}/check-ins", {"rating": 6, "note": "Steady"}, version=v)
        assert r.status_code == 201, r.text
        assert r.json()["plan_version"] == v + 1 and r.headers["etag"] == f'"{v + 1}"'
        costs.append(sql)
    small_sql, big_sql = costs
    assert _shape(small_sql) == _shape(big_sql), (small_sql, big_sql)
    assert set(written_tables(big_sql)) == WRITTEN, big_sql
    assert written_tables(big_sql).count("plan_versions") == 1
    assert written_tables(big_sql).count("audit_events") == 1
    if app.state.engine.dialect.name == "sqlite":
        assert [s for s in big_sql if s.strip().upper().startswith("BEGIN")] == ["BEGIN IMMEDIATE"]
    locks = [s for s in big_sql if "FOR UPDATE" in s.upper()]
    if app.state.engine.dialect.name == "postgresql":
        assert len(locks) == 2 and "FROM plans" in locks[0] and "FROM audit_head" in locks[1], locks
    assert len(big_sql) <= 13, big_sql  # session and user (2), BEGIN, the write (9)


def _captured(db: Session, plan_id: str, number: int) -> dict:
    pid = uuid.UUID(plan_id)
    pv = db.execute(select(PlanVersion).where(PlanVersion.plan_id == pid, PlanVersion.number == number)).scalar_one()
    record = db.execute(select(CheckInRecord).where(CheckInRecord.plan_id == pid,
                                                    CheckInRecord.plan_version == number)).scalar_one()
    projection = db.execute(select(CheckIn).where(CheckIn.plan_id == pid, CheckIn.plan_version == number)).scalar_one()
    event = db.execute(select(AuditEvent).where(AuditEvent.plan_id == plan_id)
                       .order_by(AuditEvent.seq.desc()).limit(1)).scalar_one()
    return {
        "version": {k: getattr(pv, k) for k in ("content", "fingerprint", "fingerprint_scheme", "check_ins",
                                                 "check_in_chain", "changed_paths", "changes", "author_id",
                                                 "author_role", "author_name")},
        "record": (record.seq, record.goal_id, record.body, record.chain),
        "projection": (projection.id, projection.goal_id, projection.rating, projection.recorded_by),
        "audit": (event.action, event.actor_id, event.client_id, event.detail),
    }


def test_it_stores_what_the_general_path_stores(engine, world):
    kw = world.viewer("keyworker_a")
    with Session(engine, expire_on_commit=False) as db:
        plan_id, goal_id, v = _plan(db, kw, "Twice", 3)
    check_in_id, at = str(uuid.uuid4()), "2026-03-01T10:00:00+00:00"
    with Session(engine, expire_on_commit=False) as db:
        general = commands.change_plan(
            db, kw, plan_id, v, lambda c: doc.add_check_in(c, goal_id, check_in_id, 8, "Good week", kw.author, at),
            checkin_write.ACTION, {"goal_id": goal_id, "check_in_id": check_in_id}, whole_view=False)
        db.flush()
        expected = _captured(db, plan_id, v + 1)
        db.rollback()
    with Session(engine, expire_on_commit=False) as db:
        lean = checkin_write.in_session(db, kw, plan_id, goal_id, v, check_in_id, 8, "Good week", at)
        assert lean is not None and lean.version == general.version == v + 1
        db.flush()
        assert _captured(db, plan_id, v + 1) == expected
        assert lean.changed_plan.goals[0].check_ins[0].id == check_in_id
        db.commit()
    with Session(engine) as db:
        assert audit.verify(db).ok


def test_refusals_answer_as_before(app, world, as_, db):
    pid = world.plan_ids["a"]
    kw = as_("keyworker_a")
    r = kw.post(f"/api/plans/{pid}/goals", {"title": "Walk daily", "area": "health"}, version=1)
    goal_id = r.json()["id"]
    assert kw.post(f"/api/plans/{pid}/goals/{goal_id}/check-ins", {"rating": 5}, version=2).status_code == 201
    stale = kw.post(f"/api/plans/{pid}/goals/{goal_id}/check-ins", {"rating": 5}, version=2)
    assert stale.status_code == 409 and stale.json()["current_version"] == 3
    assert stale.json()["current"]["goals"][0]["check_ins"][0]["rating"] == 5  # the whole current plan
    refused = db.execute(select(AuditEvent).where(AuditEvent.plan_id == pid)
                         .order_by(AuditEvent.seq.desc()).limit(1)).scalar_one()
    assert refused.action == "plan.write_refused"
    unknown = kw.post(f"/api/plans/{pid}/goals/{uuid.uuid4()}/check-ins", {"rating": 5}, version=3)
    assert unknown.status_code == 422, unknown.text
    other = kw.post(f"/api/plans/{world.plan_ids['b']}/goals/{goal_id}/check-ins", {"rating": 5}, version=1)
    assert other.status_code == 404
    assert as_("clinician_a").post(f"/api/plans/{pid}/goals/{goal_id}/check-ins", {"rating": 5},
                                   version=3).status_code == 403
    db.commit()
    assert audit.verify(db).ok


def test_a_check_in_while_another_writer_holds_the_lock_waits_its_turn(app, world, as_):
    pid = world.plan_ids["a"]
    kw = as_("keyworker_a")
    goal_id = kw.post(f"/api/plans/{pid}/goals", {"title": "Walk daily", "area": "health"}, version=1).json()["id"]
    holding, release = threading.Event(), threading.Event()

    def other_writer() -> None:
        with app.state.engine.begin() as conn:  # BEGIN IMMEDIATE (SQLite); the plan row locked (PostgreSQL)
            conn.execute(select(Plan.id).where(Plan.id == uuid.UUID(pid)).with_for_update())
            holding.set()
            release.wait(30)

    t = threading.Thread(target=other_writer)
    t.start()
    assert holding.wait(30)
    answer: dict = {}
    poster = threading.Thread(target=lambda: answer.update(
        r=kw.post(f"/api/plans/{pid}/goals/{goal_id}/check-ins", {"rating": 4}, version=2)))
    poster.start()
    poster.join(0.5)
    assert "r" not in answer  # it waits for the write lock...
    release.set()
    t.join(30)
    poster.join(30)
    assert answer["r"].status_code == 201, answer["r"].text  # ...and is written once it is free


def test_a_session_that_read_the_plan_sees_the_new_version_after_a_check_in(engine, world):
    kw = world.viewer("keyworker_a")
    with Session(engine, expire_on_commit=False) as db:
        plan_id, goal_id, v = _plan(db, kw, "Same session", 1)
        held = db.get(Plan, uuid.UUID(plan_id))  # the plan row, held in the session
        assert held is not None and held.version == v
        result, _ = goals.add_check_in(db, kw, plan_id, goal_id, v, 7, "Better")
        view = queries.read_plan(db, kw, plan_id, audited=False)
        assert view.version == result.version == v + 1
        assert view.agreement.current_version == v + 1 and view.fingerprint == view.agreement.current_fingerprint
        assert [c.rating for c in view.goals[0].check_ins][-1] == 7 and held.version == v + 1
        db.commit()


@off_the_main_thread  # its own loops; and 'no loop running here' must be true
def test_sqlite_check_ins_commit_on_the_loop_and_checkpoint_in_a_thread(database_url, world, monkeypatch,
                                                                      checkpoint_threads):
    """On SQLite an ordinary check-in commits on the event loop when the write lock is free
    (no hop to the thread pool); the loop's commits never checkpoint the WAL themselves,
    every CHECKPOINT_EVERY commits one runs in a worker thread. With the lock held
    elsewhere, or off a loop, nothing is written and `rawsql.Busy` sends the caller to a thread."""
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite only")
    import asyncio

    from careplans import rawsql
    from careplans.db import make_engine

    ran = checkpoint_threads
    monkeypatch.setattr(checkin_write, "CHECKPOINT_EVERY", 2)
    kw = world.viewer("keyworker_a")
    engine = make_engine(database_url)
    with Session(engine, expire_on_commit=False) as db:
        plan_id, goal_id, v = _plan(db, kw, "On the loop", 1)
    with pytest.raises(rawsql.Busy):  # no loop running here
        checkin_write.add_inline(engine, kw, plan_id, goal_id, v, 3, None)
    seen: dict = {"versions": []}

    async def check_ins() -> None:
        seen["loop"] = threading.current_thread().name
        version = v
        for rating in (4, 5, 6, 7):
            version, result = checkin_write.add_inline(engine, kw, plan_id, goal_id, version, rating, "ok")
            seen["versions"].append((version, result.rating))
        seen["stale"] = checkin_write.add_inline(engine, kw, plan_id, goal_id, v, 1, None)  # not ordinary: None
        with engine.begin() as conn:  # another connection takes the write lock (BEGIN IMMEDIATE)
            conn.execute(select(Plan.id).where(Plan.id == uuid.UUID(plan_id)))
            with pytest.raises(rawsql.Busy):
                checkin_write.add_inline(engine, kw, plan_id, goal_id, version, 2, None)
        await wait_until(lambda: len(ran) >= 2)

    try:
        in_a_fresh_thread(lambda: asyncio.run(check_ins()))  # its own loop; what fails there fails the test
    finally:
        engine.dispose()
    assert seen["versions"] == [(v + 1, 4), (v + 2, 5), (v + 3, 6), (v + 4, 7)]
    assert seen["stale"] is None
    assert len(ran) >= 2 and seen["loop"] not in ran, (seen, ran)
    with Session(make_engine(database_url)) as db:
        assert db.get(Plan, uuid.UUID(plan_id)).version == v + 4  # nothing from the stale or the busy one
        assert db.execute(select(CheckIn.rating).where(CheckIn.plan_id == uuid.UUID(plan_id))
                          .order_by(CheckIn.plan_version)).scalars().all() == [0, 4, 5, 6, 7]
        assert audit.verify(db).ok


@off_the_main_thread  # its own loops; and 'no loop running here' must be true
def test_sqlite_check_ins_of_one_loop_turn_commit_together_each_with_its_own_rows(database_url, world, monkeypatch):
    """Check-ins that reach the loop in the same turn are written in one transaction (one
    BEGIN IMMEDIATE), each with its own version, record, projection and audit row, answered
    only after it committed; a stale one writes nothing and changes nothing for the others;
    one that fails is that request's error alone: the rest are written again, each alone."""
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite only")
    import asyncio

    from careplans.db import make_engine

    kw = world.viewer("keyworker_a")
    engine = make_engine(database_url)
    with Session(engine, expire_on_commit=False) as db:
        plans = [_plan(db, kw, f"Together {n}", 1) for n in range(4)]
    real_write = checkin_write.write
    failing = plans[3][1]

    def write(cur, principal, pid, goal_id, *args):
        if goal_id == failing:
            raise RuntimeError("this check-in fails")
        return real_write(cur, principal, pid, goal_id, *args)

    async def together(batch, stale=None):
        calls = [checkin_write.add_on_loop(engine, kw, p, g, v, 5, "together") for p, g, v in batch]
        if stale is not None:
            calls.append(checkin_write.add_on_loop(engine, kw, stale[0], stale[1], stale[2] - 1, 5, None))
        return await asyncio.gather(*calls, return_exceptions=True)

    try:
        with statements(engine) as sql:
            first = asyncio.run(together(plans[:2], stale=plans[2]))
        assert [s for s in sql if s.strip().upper().startswith("BEGIN")] == ["BEGIN IMMEDIATE"], sql
        assert written_tables(sql).count("audit_events") == 2
        assert [r[0] for r in first[:2]] == [plans[0][2] + 1, plans[1][2] + 1] and first[2] is None
        monkeypatch.setattr(checkin_write, "write", write)
        with statements(engine) as sql:
            second = asyncio.run(together([plans[2], plans[3], (plans[0][0], plans[0][1], plans[0][2] + 1)]))
        # Together first (rolled back when one raised), then each alone: three more BEGINs.
        assert [s for s in sql if s.strip().upper().startswith("BEGIN")] == ["BEGIN IMMEDIATE"] * 4, sql
        assert isinstance(second[1], RuntimeError)
        assert [second[0][0], second[2][0]] == [plans[2][2] + 1, plans[0][2] + 2]
    finally:
        engine.dispose()
    with Session(make_engine(database_url)) as db:
        stored = {p: db.get(Plan, uuid.UUID(p)).version for p, _, _ in plans}
        assert stored == {plans[0][0]: plans[0][2] + 2, plans[1][0]: plans[1][2] + 1, plans[2][0]: plans[2][2] + 1,
                          plans[3][0]: plans[3][2]}
        for p, _, v in plans:
            assert len(db.execute(select(CheckIn.id).where(CheckIn.plan_id == uuid.UUID(p))).all()) == \
                1 + stored[p] - v
            details = db.execute(select(AuditEvent.detail).where(AuditEvent.plan_id == p,
                                                                 AuditEvent.action == checkin_write.ACTION)
                                 .order_by(AuditEvent.seq)).scalars().all()
            versions = [(d if isinstance(d, dict) else json.loads(d))["version"] for d in details]
            assert versions == list(range(v, stored[p] + 1))  # one row for each version written
        assert audit.verify(db).ok


@off_the_main_thread  # its own loops; and 'no loop running here' must be true
def test_sqlite_a_checkpoint_that_cannot_start_is_never_the_check_ins_error(database_url, world, monkeypatch):
    """The check-in has committed when its checkpoint is due: if no thread can take the
    checkpoint (the loop's executor is shut down, as when the app stops), the writer still
    gets its answer."""
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite only")
    import asyncio

    from careplans.db import make_engine

    monkeypatch.setattr(checkin_write, "CHECKPOINT_EVERY", 1)
    kw = world.viewer("keyworker_a")
    engine = make_engine(database_url)
    with Session(engine, expire_on_commit=False) as db:
        plan_id, goal_id, v = _plan(db, kw, "Stopping", 1)

    async def stopping():
        await asyncio.get_running_loop().shutdown_default_executor()
        return await checkin_write.add_on_loop(engine, kw, plan_id, goal_id, v, 6, None)

    try:
        version, result = asyncio.run(stopping())
    finally:
        engine.dispose()
    assert version == v + 1 and result.rating == 6
