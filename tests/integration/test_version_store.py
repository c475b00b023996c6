"""Writes that do not grow with history, as statement counts and bytes (never times).

Check-ins are kept once as records (careplans.versions): one check-in on a plan with
hundreds of check-ins runs the same statements and stores the same bytes as one on a
plan with ten; any version reads back in the same statements as version 1, byte for byte
as its canonical document, its fingerprint matching.
"""

from __future__ import annotations

import uuid
import pytest
from sqlalchemy import select, update

from careplans import audit, commands, versions
from careplans.models import CheckInRecord, PlanVersion
from careplans.plan_document import canonical_json
from careplans.plan_history import get_version
from careplans.services import clients, goals
from tests.integration.test_read_path import statements as counted

MANY = 2000


def _plan(db, kw, name: str, n_goals: int, n_check_ins: int) -> tuple[uuid.UUID, list[str], int]:
    import datetime as dt

    c = clients.create_client(db, kw, preferred_name=name, date_of_birth=dt.date(1990, 1, 1))
    plan = commands.create_plan(db, kw, c["id"])
    v, gids = plan.version, []
    for i in range(n_goals):
        r, g = goals.add_goal(db, kw, plan.id, v, {"title": f"Goal {i}", "area": "health", "why": "Feeling stronger."})
        v, gids = r.version, gids + [g.id]
    for i in range(n_check_ins):
        v = goals.add_check_in(db, kw, plan.id, gids[i % n_goals], v, 5, f"Week {i % 10}: a steady week.")[0].version
    db.commit()
    return uuid.UUID(plan.id), gids, v


@pytest.fixture(scope="module")
def plans(engine):
    """Two plans of the same shape (3 goals): one with 10 check-ins, one with MANY."""
    from sqlalchemy.orm import Session

    from tests.conftest import build_world

    with Session(engine, expire_on_commit=False) as db:
        world = build_world(db)
        kw = world.viewer("keyworker_a")
        small = _plan(db, kw, "Ten", 3, 10)
        big = _plan(db, kw, "Many", 3, MANY)
    return kw, small, big


def _one_check_in(db, engine, kw, plan) -> tuple[int, int, list[str]]:
    plan_id, gids, v = plan
    before = versions.stored_bytes(db, plan_id)
    db.commit()
    with counted(engine) as sql:
        result, _ = goals.add_check_in(db, kw, str(plan_id), gids[0], v, 5, "Week 0: a steady week.")
        db.commit()
    written = versions.stored_bytes(db, plan_id) - before
    db.commit()
    return result.version, written, sql


def test_a_check_in_costs_the_same_with_ten_or_hundreds_before_it(plans, db, engine):
    kw, small, big = plans
    _, small_bytes, small_sql = _one_check_in(db, engine, kw, small)
    big_version, big_bytes, big_sql = _one_check_in(db, engine, kw, big)
    assert len(big_sql) == len(small_sql), (small_sql, big_sql)
    assert abs(big_bytes - small_bytes) <= 8, (small_bytes, big_bytes)
    whole = len(versions.content_of(db, big[0], big_version))
    assert big_bytes * 10 < whole, (big_bytes, whole)  # a check-in no longer copies the document
    records = db.execute(select(CheckInRecord).where(CheckInRecord.plan_id == big[0])).scalars().all()
    assert len(records) == MANY + 1 and sorted(r.seq for r in records) == list(range(MANY + 1))


def test_any_version_reads_in_the_same_statements_as_version_1(plans, db, engine):
    kw, _, (plan_id, _, last) = plans
    counts = []
    for number in (1, 2, last // 2, last):
        db.commit()
        with counted(engine) as sql:
            view = get_version(db, kw, str(plan_id), number, audited=False)
        counts.append(len(sql))
        assert view.version == number
    assert len(set(counts)) == 1, counts
    for number in (1, last // 2, last):
        with counted(engine) as sql:
            versions.content_of(db, plan_id, number)
        assert len(sql) <= 2


def test_stored_size_is_a_small_fraction_of_full_copies(plans, db):
    _, _, (plan_id, _, last) = plans
    full = sum(len(versions.content_of(db, plan_id, n)) for n in range(1, last + 1))
    stored = versions.stored_bytes(db, plan_id)
    assert stored <= 0.10 * full, (stored, full, stored / full)


def test_every_version_reads_back_whole_and_its_fingerprint_matches(plans, db):
    _, _, (plan_id, gids, last) = plans
    rows = db.execute(select(PlanVersion).where(PlanVersion.plan_id == plan_id)
                      .order_by(PlanVersion.number)).scalars().all()
    actual = versions.fingerprints_of(db, list(rows))
    for pv in rows:
        assert actual[(str(plan_id), pv.number)] == pv.fingerprint, pv.number
        text = versions.content_of(db, plan_id, pv.number)
        doc = versions.decode(text)
        assert canonical_json(doc) == text  # canonical, so the same bytes whoever reads it
        assert sum(len(g["check_ins"]) for g in doc["goals"]) == (pv.check_ins or 0)
    last_doc = versions.document_of(db, rows[-1])
    per_goal = {g: 0 for g in gids}
    for goal_id in db.execute(select(CheckInRecord.goal_id).where(CheckInRecord.plan_id == plan_id)).scalars():
        per_goal[goal_id] += 1
    assert {g["id"]: len(g["check_ins"]) for g in last_doc["goals"]} == per_goal
    assert sum(per_goal.values()) >= MANY
    assert all(pv.fingerprint_scheme == versions.SCHEME_CHAINED for pv in rows)


def test_an_altered_check_in_record_is_detected_by_audit_verify(plans, db):
    _, _, (plan_id, _, _) = plans
    assert audit.verify(db).ok
    db.rollback()
    record = db.execute(select(CheckInRecord).where(CheckInRecord.plan_id == plan_id, CheckInRecord.seq == 3)
                        ).scalar_one()
    original = record.body
    db.execute(update(CheckInRecord).where(CheckInRecord.id == record.id)
               .values(body=original.replace('"rating":5', '"rating":9')))
    db.commit()
    try:
        result = audit.verify(db)
        db.rollback()
        assert result.ok is False and "altered" in (result.problem or "")
    finally:
        db.execute(update(CheckInRecord).where(CheckInRecord.id == record.id).values(body=original))
        db.commit()
    assert audit.verify(db).ok
    db.rollback()
