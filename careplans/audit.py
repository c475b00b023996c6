"""Append-only, hash-chained audit log.

Each row carries the previous row's hash; the single `audit_head` row is locked
by every writer (SELECT ... FOR UPDATE on PostgreSQL; BEGIN IMMEDIATE on SQLite),
so concurrent transactions cannot fork the chain. Rows are written in the same
transaction as the change they record: if the change rolls back, so does its row.

Details hold identifiers, version numbers and fingerprints — never free text,
names, passwords or tokens.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careplans import versions  # the version store knows each fingerprint scheme
from careplans.models import AuditEvent, AuditHead, PlanVersion, utcnow
from careplans.plan_document import canonical_json

GENESIS = "0" * 64
# Actions whose detail records a plan version written in the same transaction.
VERSION_ACTIONS = frozenset({"plan.create", "plan.update", "goal.create", "goal.update", "checkin.create", "choice.create",
                             "assessment.create", "assessment.update", "assessment.visibility",
                             "plan.substances"})


@dataclass(frozen=True)
class Actor:
    id: str | None
    role: str | None


def _iso(at: dt.datetime) -> str:
    return at.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")


def event_hash(prev_hash: str, seq: int, at: dt.datetime, actor_id: str | None, actor_role: str | None,
               action: str, plan_id: str | None, client_id: str | None, detail: str) -> str:
    body = canonical_json(
        {
            "seq": seq,
            "at": _iso(at),
            "actor_id": actor_id,
            "actor_role": actor_role,
            "action": action,
            "plan_id": plan_id,
            "client_id": client_id,
            "detail": detail,
            "prev_hash": prev_hash,
        }
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def record(
    db: Session,
    actor: Actor,
    action: str,
    *,
    plan_id: Any = None,
    client_id: Any = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. Call inside the transaction that makes the change."""
    head = db.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one()
    seq = head.seq + 1
    at = utcnow()
    detail_json = canonical_json(detail or {})
    pid = str(plan_id) if plan_id is not None else None
    cid = str(client_id) if client_id is not None else None
    digest = event_hash(head.hash, seq, at, actor.id, actor.role, action, pid, cid, detail_json)
    event = AuditEvent(
        seq=seq, at=at, actor_id=actor.id, actor_role=actor.role, action=action,
        plan_id=pid, client_id=cid, detail=detail_json, prev_hash=head.hash, hash=digest,
    )
    db.add(event)
    head.seq = seq
    head.hash = digest
    db.flush()
    return event


@dataclass
class VerifyResult:
    ok: bool
    events: int
    head: str
    first_bad: int | None = None
    problem: str | None = None
    versions_checked: int = 0

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": self.ok, "events": self.events, "head": self.head,
                               "versions_checked": self.versions_checked}
        if self.first_bad is not None:
            out["first_bad"] = self.first_bad
        if self.problem:
            out["problem"] = self.problem
        return out


def verify(db: Session, batch: int = 2000) -> VerifyResult:
    """Walk the whole chain, recomputing every hash, and check every plan version
    against the fingerprint its audit row recorded."""
    prev = GENESIS
    count = 0
    last_seq = 0
    versions_checked = 0
    while True:
        rows = db.execute(
            select(AuditEvent).where(AuditEvent.seq > last_seq).order_by(AuditEvent.seq).limit(batch)
        ).scalars().all()
        if not rows:
            break
        wanted: dict[tuple[str, int], tuple[int, str]] = {}
        for ev in rows:
            count += 1
            if ev.seq != last_seq + 1:
                return VerifyResult(False, count, prev, ev.seq, f"event {last_seq + 1} is missing")
            if ev.prev_hash != prev:
                return VerifyResult(False, count, prev, ev.seq, "the link to the previous event is broken")
            expected = event_hash(prev, ev.seq, ev.at, ev.actor_id, ev.actor_role, ev.action,
                                  ev.plan_id, ev.client_id, ev.detail)
            if not hmac.compare_digest(expected, ev.hash):
                return VerifyResult(False, count, prev, ev.seq, "the event's content does not match its hash")
            if ev.action in VERSION_ACTIONS and ev.plan_id:
                d = json.loads(ev.detail)
                if "version" in d and "fingerprint" in d:
                    wanted[(ev.plan_id, int(d["version"]))] = (ev.seq, d["fingerprint"])
            prev = ev.hash
            last_seq = ev.seq
        if wanted:
            bad = _check_versions(db, wanted)
            versions_checked += len(wanted)
            if bad is not None:
                return VerifyResult(False, count, prev, bad[0], bad[1], versions_checked)
        # Let go of what this batch loaded (not the caller's own objects), so memory stays flat.
        for ev in rows:
            db.expunge(ev)
    head = db.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one()
    if head.seq != last_seq or head.hash != prev:
        return VerifyResult(False, count, prev, last_seq + 1 if head.seq > last_seq else head.seq,
                            "the chain head does not match the last event", versions_checked)
    total_versions = db.execute(select(func.count()).select_from(PlanVersion)).scalar_one()
    if total_versions != versions_checked:
        return VerifyResult(False, count, prev, None,
                            f"{total_versions - versions_checked} plan versions have no audit record",
                            versions_checked)
    return VerifyResult(True, count, prev, None, None, versions_checked)


def _check_versions(db: Session, wanted: dict[tuple[str, int], tuple[int, str]]) -> tuple[int, str] | None:
    import uuid

    plan_ids = {uuid.UUID(pid) for pid, _ in wanted}
    numbers = {n for _, n in wanted}
    found: dict[tuple[str, int], PlanVersion] = {}
    loaded = db.execute(
        select(PlanVersion).where(PlanVersion.plan_id.in_(plan_ids), PlanVersion.number.in_(numbers))
    ).scalars().all()
    for pv in loaded:
        key = (str(pv.plan_id), pv.number)
        if key in wanted:
            found[key] = pv
    actual = versions.fingerprints_of(db, list(found.values()))
    problems: list[tuple[int, str]] = []
    for key, (seq, recorded) in wanted.items():
        pv = found.get(key)
        if pv is None:
            problems.append((seq, f"plan version {key[1]} recorded here is missing"))
        elif pv.fingerprint != recorded:
            problems.append((seq, f"plan version {key[1]} has a different fingerprint from the one recorded"))
        elif actual[key] != recorded:
            problems.append((seq, f"plan version {key[1]} content was altered after it was written"))
    for pv in loaded:
        db.expunge(pv)
    return min(problems) if problems else None


# --- anchoring the head outside the database ------------------------------------------
#
# The chain proves no event was altered or removed from the middle; it cannot show that the
# newest events were removed and `audit_head` rewound, because the head lives in the same
# database. An anchor is the head (sequence, hash, time) written somewhere else: an
# append-only file, a ticket, an email. `verify_anchors` then checks each anchor is still
# in the chain with the same hash.


def anchor(db: Session) -> dict[str, Any]:
    """The current head, to be kept outside the database."""
    head = db.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one()
    return {"seq": head.seq, "hash": head.hash, "at": _iso(utcnow())}


def verify_anchors(db: Session, anchors: list[dict[str, Any]]) -> VerifyResult | None:
    """None when every anchor is still in the chain; else what is wrong (the first problem)."""
    head = db.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one()
    for item in sorted(anchors, key=lambda a: int(a["seq"])):
        seq, digest = int(item["seq"]), str(item["hash"])
        if seq == 0:
            continue
        if head.seq < seq:
            return VerifyResult(False, head.seq, head.hash, head.seq + 1,
                                f"the chain head ({head.seq}) is behind an anchor taken at {item.get('at')} "
                                f"(event {seq}): events after {head.seq} are missing or the head was rewound")
        event = db.execute(select(AuditEvent).where(AuditEvent.seq == seq)).scalar_one_or_none()
        if event is None:
            return VerifyResult(False, head.seq, head.hash, seq, f"anchored event {seq} is missing")
        if not hmac.compare_digest(event.hash, digest):
            return VerifyResult(False, head.seq, head.hash, seq,
                                f"anchored event {seq} has a different hash: the chain was rewritten")
    return None
