"""Plan references for auditors ("P-…"): from a reference to the plan by an index.

An auditor sees and sends plans only by their pseudonym (`policy.pseudonym(secret,
"plan", id)`, an HMAC keyed by the service secret, so it cannot be turned back into the
id). Finding the plan for a reference used to mean hashing every plan. The references
are kept in `plan_references`, keyed by a fingerprint of the secret (`key_id`), and
looked up by an index. The domain's write path has no secret, so a plan gets its row the
first time an auditor looks something up after it was made: `fill` adds the rows missing
for this secret (one anti-join, then one HMAC and one row per new plan only).
"""

from __future__ import annotations

import hashlib
import hmac
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from careplans import policy
from careplans.models import Plan, PlanReference


def key_id(secret: str) -> str:
    """A short fingerprint of the secret (an HMAC of a constant: it reveals nothing of it)."""
    return hmac.new(secret.encode(), b"plan-reference-key", hashlib.sha256).hexdigest()[:16]


def fill(db: Session, secret: str, batch: int = 5000) -> int:
    """Add the references of plans that have none for this secret. Returns how many."""
    kid = key_id(secret)
    missing = select(Plan.id).where(~select(PlanReference.plan_id).where(
        PlanReference.key_id == kid, PlanReference.plan_id == Plan.id).exists())
    ids = db.execute(missing).scalars().all()
    table = PlanReference.__table__
    for start in range(0, len(ids), batch):
        rows = [{"key_id": kid, "plan_id": pid, "reference": policy.pseudonym(secret, "plan", pid)}
                for pid in ids[start:start + batch]]
        db.execute(_insert_ignoring_duplicates(db, table), rows)
    return len(ids)


def _insert_ignoring_duplicates(db: Session, table):
    """INSERT … ON CONFLICT DO NOTHING: two auditors filling at once both succeed."""
    if db.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table).on_conflict_do_nothing()


def plan_ids(db: Session, secret: str, reference: str) -> list[uuid.UUID]:
    """The plans with this reference (normally one; none for an unknown reference).
    An indexed lookup; references of plans made since the last lookup are added first."""
    if not reference.startswith("P-"):
        return []
    kid = key_id(secret)
    lookup = select(PlanReference.plan_id).where(PlanReference.key_id == kid, PlanReference.reference == reference)
    found = db.execute(lookup).scalars().all()
    if not found and fill(db, secret):
        found = db.execute(lookup).scalars().all()
    return list(found)
