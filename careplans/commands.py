"""The one write path for plan content.

Every change to a plan, from a form or the API, goes through `change_plan`:

1. the policy: may this principal's role change plans at all (403), and is this plan
   in their write scope (404, checked in the query that locks the row);
2. If-Match: the version the change was based on must still be current (409, with
   the current plan, so nothing typed is lost);
3. the change itself, a pure function of the document, then the typed schema check;
4. the new version with its structured changes (never copies of free text), the
   projections for queries, and one audit event — all in the caller's transaction;
5. the new version, presented for the writer.

Agreement signatures and starting a plan are commands too, here beside it.
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from typing import Any, Callable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from careplans import audit, document, policy, versions
from careplans import changes as ch
from careplans.errors import AlreadyExists, InvalidInput, NotFound, VersionConflict
from careplans.models import Agreement, CheckIn, Client, Goal, Plan, PlanVersion, utcnow
from careplans.plan_document import DocumentError, empty_content
from careplans.policy import Principal
from careplans.present import PlanView, present
from careplans.queries import (
    actor,
    agreement_snapshot,
    decisions_for_plan,
    load_current,
    parse_id,
    plan_id_for_client,
    reader_of,
)
from careplans.rules.agreement import agreed_version_after_signing

Mutation = Callable[[dict[str, Any]], dict[str, Any]]


class ChangeResult:
    """A change's outcome. `content` is the new document without the check-ins made before
    this change (all a caller needs to return the part it changed); `plan` is the whole new
    version presented for the writer; `changed_plan` is the same version presented with only
    the check-ins this change added. With `whole_view=False` (change_plan) `plan` is built
    only when asked for, inside the caller's transaction: it holds every check-in, so
    building it grows with the plan's history."""

    def __init__(self, version: int, changed: bool, content: dict[str, Any],
                 whole: Callable[[], PlanView], changed_only: Callable[[], PlanView] | None = None,
                 eager: bool = True) -> None:
        self.version, self.changed, self.content = version, changed, content
        self._whole, self._changed_only = whole, changed_only or whole
        self._plan: PlanView | None = whole() if eager else None

    @property
    def plan(self) -> PlanView:
        if self._plan is None:
            self._plan = self._whole()
        return self._plan

    @property
    def changed_plan(self) -> PlanView:
        return self._changed_only() if self._plan is None else self._plan


def _view(db: Session, principal: Principal, plan: Plan, version: PlanVersion, content: dict[str, Any],
          with_decisions: bool = True) -> PlanView:
    vis, _ = reader_of(principal)
    decisions = decisions_for_plan(db, plan.id) if with_decisions else []
    return present(agreement_snapshot(db, plan, version, decisions, content=content), vis, str(principal.id))


def current_view(db: Session, principal: Principal, plan_id: uuid.UUID) -> PlanView:
    """The plan's current version, whole, presented for the writer (inside the write's transaction)."""
    plan, version = load_current(db, principal, plan_id, purpose="write")
    return _view(db, principal, plan, version, versions.document_of(db, version))


def create_plan(db: Session, principal: Principal, client_id: str | uuid.UUID,
                today: dt.date | None = None) -> PlanView:
    policy.require(principal, "plans.create")
    cid = parse_id(client_id, "client")
    client = db.execute(select(Client).where(Client.id == cid, policy.client_scope(principal))).scalar_one_or_none()
    if client is None:
        raise NotFound("There is no such client.")
    if plan_id_for_client(db, cid) is not None:
        raise AlreadyExists("This person already has a plan. Open it to carry on.")
    content = empty_content()
    stored = versions.first_version(content)
    fp = stored.fingerprint
    now = utcnow()
    plan = Plan(client_id=cid, version=1, fingerprint=fp, status="active", start_date=today or now.date())
    db.add(plan)
    db.flush()
    version = PlanVersion(plan_id=plan.id, number=1, author_id=principal.id, author_role=principal.role,
                          author_name=principal.name, created_at=now, changed_paths=[], changes=[],
                          **stored.row_fields())
    db.add(version)
    versions.add_records(db, plan.id, 1, stored)
    audit.record(db, actor(principal), "plan.create", plan_id=plan.id, client_id=cid,
                 detail={"version": 1, "fingerprint": fp})
    db.flush()
    return _view(db, principal, plan, version, content, with_decisions=False)


def change_plan(db: Session, principal: Principal, plan_id: str | uuid.UUID, based_on: int, mutate: Mutation,
                action: str, extra_detail: dict[str, Any] | None = None, *, whole_view: bool = True) -> ChangeResult:
    """Apply `mutate` to the current document as a new version, if `based_on` is still current.

    The plan row is locked for the write (FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE on
    SQLite) and the version bump is a compare-and-set, so two editors can never both
    succeed from the same version: the second gets VersionConflict with the current plan.
    """
    if action not in audit.VERSION_ACTIONS:  # `careplans audit verify` accounts for every version by these
        raise ValueError(f"{action!r} makes plan versions: add it to audit.VERSION_ACTIONS")
    policy.require(principal, "plans.write")
    plan, current = load_current(db, principal, parse_id(plan_id), purpose="write", lock=True)
    if plan.version != based_on:
        audit.record(db, actor(principal), "plan.write_refused", plan_id=plan.id, client_id=plan.client_id,
                     detail={"version": plan.version, "based_on": based_on, "attempted": action})
        raise VersionConflict(plan.version, based_on,
                              _view(db, principal, plan, current, versions.document_of(db, current)))
    # A version keeping its check-ins as records is changed without them (check-ins are
    # only ever added, so the change never needs the earlier ones): the write does not
    # grow with the plan's history. An older version holding its whole document is
    # changed whole, and the new version is stored with records from then on.
    records_mode = current.check_ins is not None
    before = versions.base_document(current)
    try:
        after = mutate(before)
    except DocumentError as exc:
        raise InvalidInput(exc.field, exc.message) from exc
    try:
        document.validate(after)
    except document.DocumentShapeError as exc:
        raise InvalidInput("plan", f"This change does not fit the plan: {exc}") from exc
    changes = ch.derive(before, after)
    if not changes:
        return ChangeResult(plan.version, False, before,
                            lambda: _view(db, principal, plan, current, versions.document_of(db, current)),
                            lambda: _view(db, principal, plan, current, before), eager=whole_view)
    new_number = plan.version + 1
    stored = _stored(db, plan.id, current, after, records_mode)
    fp = stored.fingerprint
    now = utcnow()
    result = db.execute(
        update(Plan).where(Plan.id == plan.id, Plan.version == based_on)
        .values(version=new_number, fingerprint=fp, updated_at=now, next_review_date=review_date(after))
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # pragma: no cover - guarded by the row lock; kept as a second line
        raise VersionConflict(plan.version, based_on, _view(db, principal, plan, current, before))
    version = PlanVersion(
        plan_id=plan.id, number=new_number, author_id=principal.id, author_role=principal.role,
        author_name=principal.name, created_at=now, changed_paths=[c.path for c in changes],
        changes=ch.to_stored(changes), **stored.row_fields(),
    )
    db.add(version)
    versions.add_records(db, plan.id, new_number, stored)
    _sync_projections(db, plan.id, before, after, new_number, principal, now)
    detail = {"version": new_number, "fingerprint": fp, **(extra_detail or {})}
    audit.record(db, actor(principal), action, plan_id=plan.id, client_id=plan.client_id, detail=detail)
    db.flush()
    db.refresh(plan)
    return ChangeResult(new_number, True, after,
                        lambda: _view(db, principal, plan, version, versions.document_of(db, version)),
                        lambda: _view(db, principal, plan, version, after), eager=whole_view)


def _stored(db: Session, plan_id: uuid.UUID, current: PlanVersion, after: dict[str, Any],
            records_mode: bool) -> versions.Stored:
    """How the new version is kept: its base and new check-in records when it can be, else
    its whole document (with the plan's records put back into it)."""
    if records_mode:
        stored = versions.next_version(current, after)
        if stored is not None:
            return stored
    log, count, chain = versions.log_of(db, plan_id)
    whole = versions.assemble(copy.deepcopy(after), [(g, versions.decode(b)) for g, items in log.items()
                                                     for b in items]) if records_mode else after
    parts = versions.split(whole, log)
    if parts is None:
        return versions.whole(whole)
    return versions.stored_as(parts[0], parts[1], count, chain)


def review_date(content: dict) -> dt.date | None:
    """The document's next review date, for the plan row (the reports' projection)."""
    value = content.get("next_review_date")
    return dt.date.fromisoformat(value) if value else None


def _sync_projections(db: Session, plan_id: uuid.UUID, before: dict, after: dict, version: int,
                      principal: Principal, now: dt.datetime) -> None:
    old_goals = {g["id"]: g for g in before.get("goals", [])}
    for goal in after.get("goals", []):
        gid = uuid.UUID(goal["id"])
        target = dt.date.fromisoformat(goal["target_date"]) if goal.get("target_date") else None
        old = old_goals.get(goal["id"])
        if old is None:
            db.add(Goal(id=gid, plan_id=plan_id, area=goal["area"], status=goal["status"], target_date=target,
                        created_in_version=version, updated_in_version=version))
        elif any(old.get(k) != goal.get(k) for k in ("area", "status", "target_date", "title", "why", "steps")):
            db.execute(update(Goal).where(Goal.id == gid).values(
                area=goal["area"], status=goal["status"], target_date=target, updated_in_version=version))
        old_ci = {c["id"] for c in (old or {}).get("check_ins", [])}
        for ci in goal.get("check_ins", []):
            if ci["id"] not in old_ci:
                db.add(CheckIn(id=uuid.UUID(ci["id"]), goal_id=gid, plan_id=plan_id, rating=ci["rating"],
                               recorded_at=now, recorded_by=principal.id, plan_version=version))


def sign_agreement(db: Session, principal: Principal, plan_id: str | uuid.UUID, version: int,
                   statement: str | None) -> PlanView:
    policy.require(principal, "plans.sign")
    plan, current = load_current(db, principal, parse_id(plan_id), purpose="write", lock=True)
    content = versions.document_of(db, current)
    if version != plan.version:
        audit.record(db, actor(principal), "agreement.refused", plan_id=plan.id, client_id=plan.client_id,
                     detail={"version": plan.version, "based_on": version})
        raise VersionConflict(plan.version, version, _view(db, principal, plan, current, content))
    party = policy.signs_as(principal)
    db.add(Agreement(plan_id=plan.id, version=version, fingerprint=plan.fingerprint, signer_id=principal.id,
                     signer_role=party, statement=(statement or "").strip() or None))
    if party == policy.CLIENT:
        plan.client_signed_version = version
    else:
        plan.keyworker_signed_version = version
    agreed = agreed_version_after_signing(plan.version, plan.client_signed_version, plan.keyworker_signed_version)
    if agreed is not None:
        plan.agreed_version = agreed
        plan.agreed_fingerprint = plan.fingerprint
    audit.record(db, actor(principal), "agreement.sign", plan_id=plan.id, client_id=plan.client_id,
                 detail={"version": version, "fingerprint": plan.fingerprint, "as": party})
    db.flush()
    return _view(db, principal, plan, current, content)
