"""A progress check-in, written without the general write path's overhead.

A check-in is the most frequent change to a plan, and it only ever adds a record: the
version before it keeps its check-ins as records (careplans.versions), so the new
version's base document is the previous one unchanged, and what is new is one record.
`add_check_in` writes exactly what `commands.change_plan` would for it — the same
version row (the same base, the next link of the check-in chain, a scheme-2
fingerprint), the same record, projection and audit event, the same compare-and-set
on the plan's version under the row lock — in a fixed number of statements built once
(SQLAlchemy Core, no ORM objects), without copying or re-encoding the whole document:

1. the plan row, locked and scoped by the policy (FOR UPDATE; BEGIN IMMEDIATE on SQLite);
2. the current version's base and chain head;
3. the version bump (compare-and-set on the version the change was based on);
4. the new version row, 5. its check-in record, 6. the check-in's projection;
7-9. the audit event, chained in the same transaction (audit_batch.append_in).

The whole document is still validated against the schema with the check-in in it, and
the changes are derived from the documents before and after, as for any change. Anything
out of the ordinary (no such plan, a stale If-Match, a version that keeps its whole
document, a base in an older schema, no such goal, a check-in the schema refuses) is
left to `change_plan`, in the same transaction and before anything is written here, so
it answers exactly as before (404, 409 with the current plan and its audit row, 422).
The answer presents only the new check-in, through `present` (the one place that
decides what each reader sees of it): it does not grow with the plan either.
"""

from __future__ import annotations

import functools
import types
import uuid
from typing import Any

import msgspec
from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.orm import Session

from careplans import audit_batch, commands, document, policy, versions
from careplans import changes as ch
from careplans import plan_document as doc
from careplans.commands import ChangeResult
from careplans.models import CheckIn, Plan, PlanVersion, utcnow
from careplans.plan_document import DocumentError, canonical_json
from careplans.policy import Principal
from careplans.present import PlanView, present
from careplans.queries import actor, parse_id, reader_of, snapshot

ACTION = "checkin.create"
# What the answer shows: the goals alone, each reader's rules applied as for the whole plan.
_GOALS_ONLY = policy.Visibility("custom", frozenset({"goals"}))


@functools.lru_cache(maxsize=1024)
def _lock_plan(principal: Principal):
    """The plan row for a write, if the principal's write scope holds it, locked (built once
    per principal: building a statement costs more than running it)."""
    return (select(Plan.id, Plan.client_id, Plan.version, Plan.fingerprint, Plan.status,
                   Plan.client_signed_version, Plan.keyworker_signed_version, Plan.agreed_version,
                   Plan.agreed_fingerprint)
            .where(Plan.id == bindparam("plan_id", type_=Plan.__table__.c.id.type),
                   policy.plan_scope(principal, "write"))
            .with_for_update())


_CURRENT = select(PlanVersion.content, PlanVersion.check_ins, PlanVersion.check_in_chain).where(
    PlanVersion.plan_id == bindparam("plan_id"), PlanVersion.number == bindparam("number"))
_BUMP = (update(Plan).where(Plan.id == bindparam("plan_id"), Plan.version == bindparam("based_on"))
         .values(version=bindparam("new_version"), fingerprint=bindparam("new_fingerprint"),
                 updated_at=bindparam("now"), next_review_date=bindparam("review_date")))
_NEW_VERSION = insert(PlanVersion)
_PROJECTION = insert(CheckIn)


def add_check_in(db: Session, principal: Principal, plan_id: str, goal_id: str, based_on: int,
                 check_in_id: str, rating: int, note: str | None, at: str) -> ChangeResult | None:
    """The check-in as a new version in the caller's transaction, or None (nothing written)
    when it is not the ordinary case: then the caller runs `change_plan` for it."""
    policy.require(principal, "plans.write")
    pid = parse_id(plan_id)
    conn = db.connection()
    plan = conn.execute(_lock_plan(principal), {"plan_id": pid}).first()
    if plan is None or plan.version != based_on:
        return None
    current = conn.execute(_CURRENT, {"plan_id": pid, "number": based_on}).first()
    if current is None or current.check_ins is None:
        return None
    before = msgspec.json.decode(current.content)
    if document.schema_version_of(before) != document.SCHEMA_VERSION:
        return None  # the base is upgraded (and stored anew) by the general path
    try:
        after = doc.add_check_in(before, goal_id, check_in_id, rating, note, principal.author, at)
        document.validate(after)
    except (DocumentError, document.DocumentShapeError):
        return None
    changes = ch.derive(before, after)
    goal = doc.find_goal(after, goal_id)
    item = goal["check_ins"][-1]
    # The base is the previous version's, as stored: only the record is new.
    stored = versions.appended(current.content, [(goal_id, canonical_json(item))], current.check_ins,
                               current.check_in_chain or versions.GENESIS)
    new_number, now = based_on + 1, utcnow()
    bumped = conn.execute(_BUMP, {"plan_id": pid, "based_on": based_on, "new_version": new_number,
                                  "new_fingerprint": stored.fingerprint, "now": now,
                                  "review_date": commands.review_date(after)})
    if bumped.rowcount != 1:  # pragma: no cover - guarded by the row lock
        return None
    conn.execute(_NEW_VERSION, {
        "id": uuid.uuid4(), "plan_id": pid, "number": new_number, "author_id": principal.id,
        "author_role": principal.role, "author_name": principal.name, "created_at": now,
        "changed_paths": [c.path for c in changes], "changes": ch.to_stored(changes), **stored.row_fields()})
    versions.add_records(conn, pid, new_number, stored)
    conn.execute(_PROJECTION, {"id": uuid.UUID(check_in_id), "goal_id": uuid.UUID(goal_id), "plan_id": pid,
                               "rating": rating, "recorded_at": now, "recorded_by": principal.id,
                               "plan_version": new_number})
    detail = {"version": new_number, "fingerprint": stored.fingerprint, "goal_id": goal_id,
              "check_in_id": check_in_id}
    audit_batch.append_in(conn, [audit_batch.pending(actor(principal), ACTION, plan_id=pid,
                                                     client_id=plan.client_id, detail=detail)])
    row = types.SimpleNamespace(**plan._mapping)
    row.version, row.fingerprint = new_number, stored.fingerprint
    version = types.SimpleNamespace(number=new_number, fingerprint=stored.fingerprint, created_at=now,
                                    author_id=principal.id, author_name=principal.name,
                                    author_role=principal.role, changes=[])

    def changed_only() -> PlanView:
        vis, _ = reader_of(principal)
        part = {"goals": [{**goal, "check_ins": [item]}]}
        return present(snapshot(row, version, [], part), policy.narrowed(vis, _GOALS_ONLY), str(principal.id))

    return ChangeResult(new_number, True, after, lambda: commands.current_view(db, principal, pid),
                        changed_only, eager=False)
