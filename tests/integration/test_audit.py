"""The audit log: every read and write recorded, hash-chained, tamper evident."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from sqlalchemy import select, update

from careplans import audit, policy
from careplans.models import AuditEvent, PlanVersion
from tests.conftest import TEST_SECRET


def test_reads_and_writes_are_recorded_in_the_chain(as_, world, db):
    pid = world.plan_ids["a"]
    kw = as_("keyworker_a")
    before = db.execute(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one()
    db.rollback()  # on SQLite an open test transaction would hold the write lock the app needs
    kw.get(f"/api/plans/{pid}")
    kw.patch(f"/api/plans/{pid}", {"next_review_date": "2027-03-03"}, version=1)
    kw.patch(f"/api/plans/{pid}", {"next_review_date": "2027-04-04"}, version=1)  # stale: refused, still logged
    db.rollback()
    rows = db.execute(select(AuditEvent).where(AuditEvent.seq > before, AuditEvent.plan_id == pid)
                      .order_by(AuditEvent.seq)).scalars().all()
    assert [r.action for r in rows] == ["plan.read", "plan.update", "plan.write_refused"]
    for row in rows:
        assert "2027" not in row.detail  # identifiers and fingerprints only, never content
    assert json.loads(rows[1].detail)["version"] == 2


def test_verify_api_and_pseudonymised_events(as_, world):
    auditor = as_("auditor")
    result = auditor.get("/api/audit/verify").json()
    assert result["ok"] is True and result["events"] > 0 and len(result["head"]) == 64
    events = auditor.get("/api/audit/events?limit=1000").json()["items"]
    raw_ids = {world.plan_ids["a"], world.client_ids["a"], str(world.users["keyworker_a"].id)}
    dumped = json.dumps(events)
    assert not any(i in dumped for i in raw_ids)
    assert "Keyworker A" not in dumped and "Person A" not in dumped
    pseud = policy.pseudonym(TEST_SECRET, "plan", world.plan_ids["a"])
    mine = auditor.get(f"/api/audit/events?plan_id={pseud}&limit=1000").json()["items"]
    assert mine and all(e["plan"] == pseud for e in mine)


@pytest.fixture()
def restore(db):
    """Tampering tests put the row back, so later tests see an intact chain."""
    saved: list[tuple] = []
    yield saved
    db.rollback()
    for table, key_col, key, col, value in saved:
        db.execute(update(table).where(key_col == key).values({col: value}))
    db.commit()
    assert audit.verify(db).ok
    db.rollback()


def test_altered_audit_row_is_detected_and_named(as_, world, db, restore):
    pid = world.plan_ids["a"]
    as_("client_a").get(f"/api/plans/{pid}")
    # Logged in before verify: verify detaches the session's objects (world's users among them)
    # once the chain is longer than one batch.
    admin = as_("admin")
    db.rollback()
    row = db.execute(select(AuditEvent).where(AuditEvent.plan_id == pid).order_by(AuditEvent.seq.desc())).scalars().first()
    restore.append((AuditEvent, AuditEvent.seq, row.seq, "actor_role", row.actor_role))
    db.rollback()
    db.execute(update(AuditEvent).where(AuditEvent.seq == row.seq).values(actor_role="admin"))
    db.commit()
    result = audit.verify(db)
    db.rollback()
    assert result.ok is False and result.first_bad == row.seq
    api_result = admin.get("/api/audit/verify").json()
    assert api_result["ok"] is False and api_result["first_bad"] == row.seq


def test_altered_plan_version_is_detected(as_, world, db, restore, database_url):
    pid = world.plan_ids["a"]
    kw = as_("keyworker_a")
    kw.patch(f"/api/plans/{pid}", {"about_me": {"what_matters": "Family"}}, version=1)
    db.rollback()
    pv = db.execute(select(PlanVersion).where(PlanVersion.number == 2, PlanVersion.plan_id == pv_id(pid))).scalar_one()
    # Plain values: verify detaches the session's objects once the chain is longer than one batch.
    event_seq = db.execute(select(AuditEvent.seq).where(AuditEvent.plan_id == pid,
                                                        AuditEvent.action == "plan.update")).scalar_one()
    restore.append((PlanVersion, PlanVersion.id, pv.id, "content", pv.content))
    db.rollback()
    db.execute(update(PlanVersion).where(PlanVersion.id == pv.id).values(content=pv.content.replace("Family", "Nobody")))
    db.commit()
    result = audit.verify(db)
    db.rollback()
    assert result.ok is False and result.first_bad == event_seq and "altered" in result.problem
    cli = subprocess.run([sys.executable, "-m", "api.cli", "audit", "verify"], capture_output=True, text=True,
                         env={"CAREPLANS_DATABASE_URL": database_url, "CAREPLANS_ENV": "test",
                              "CAREPLANS_SECRET_KEY": TEST_SECRET, "PATH": "/usr/bin:/bin"})
    assert cli.returncode == 1 and f'"first_bad": {event_seq}' in cli.stdout


def pv_id(pid: str):
    import uuid

    return uuid.UUID(pid)
