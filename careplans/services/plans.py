"""Plans: read, change (append a version), history, differences, agreement, access log."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from careplans import audit
from careplans.access import Viewer, plan_scope, plan_write_scope
from careplans.audit import Actor
from careplans.errors import AlreadyExists, InvalidInput, NotFound, VersionConflict
from careplans.models import Agreement, CheckIn, Client, Goal, Plan, PlanVersion, User, utcnow
from careplans.plan_changes import describe, paths_overlap, version_summary
from careplans.plan_document import (
    DocumentError,
    canonical_json,
    empty_content,
    fingerprint,
)
from careplans.rules.agreement import AgreementFacts, agreed_version_after_signing, agreement_state

Mutation = Callable[[dict[str, Any]], dict[str, Any]]


def actor(viewer: Viewer) -> Actor:
    return Actor(id=str(viewer.id), role=viewer.role)


def _uuid(value: str | uuid.UUID) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise NotFound("There is no such plan.") from exc


def _iso(at: dt.datetime) -> str:
    return at.astimezone(dt.timezone.utc).isoformat(timespec="seconds")


# --- reading --------------------------------------------------------------------------

def agreement_view(plan: Plan) -> dict[str, Any]:
    facts = AgreementFacts(plan.version, plan.client_signed_version, plan.keyworker_signed_version, plan.agreed_version)
    return {
        "state": agreement_state(facts),
        "version": plan.agreed_version,
        "fingerprint": plan.agreed_fingerprint,
        "current_version": plan.version,
        "current_fingerprint": plan.fingerprint,
        "client_signed_version": plan.client_signed_version,
        "keyworker_signed_version": plan.keyworker_signed_version,
    }


def plan_view(plan: Plan, content: dict[str, Any], updated_at: dt.datetime,
              prescribing: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "id": str(plan.id),
        "client_id": str(plan.client_id),
        "version": plan.version,
        "status": plan.status,
        "fingerprint": plan.fingerprint,
        "updated_at": _iso(updated_at),
        "agreement": agreement_view(plan),
        "about_me": content["about_me"],
        "goals": content["goals"],
        "choices": content.get("choices", []),
        "prescribing": prescribing or [],
        "staying_safe": content.get("staying_safe"),
        "next_review_date": content.get("next_review_date"),
    }


def _load_current(db: Session, viewer: Viewer, plan_id: uuid.UUID, *, for_write: bool) -> tuple[Plan, PlanVersion]:
    if for_write:
        # Lock the plan row on its own first. In PostgreSQL's READ COMMITTED a locked
        # row is re-checked after the wait; a join on plan.version would then compare the
        # new plan row with the old version row and find nothing, so a waiting editor
        # would be told "no such plan" instead of "someone saved first".
        plan = db.execute(
            select(Plan).where(Plan.id == plan_id, plan_write_scope(viewer)).with_for_update()
        ).scalar_one_or_none()
        if plan is None:
            raise NotFound("There is no such plan.")
        version = db.execute(
            select(PlanVersion).where(PlanVersion.plan_id == plan.id, PlanVersion.number == plan.version)
        ).scalar_one()
        return plan, version
    row = db.execute(
        select(Plan, PlanVersion)
        .join(PlanVersion, and_(PlanVersion.plan_id == Plan.id, PlanVersion.number == Plan.version))
        .where(Plan.id == plan_id, plan_scope(viewer))
    ).first()
    if row is None:
        raise NotFound("There is no such plan.")
    return row[0], row[1]


def _decisions(db: Session, plan_id: uuid.UUID) -> list[dict[str, Any]]:
    from careplans.services.prescribing import decisions_for_plan

    return decisions_for_plan(db, plan_id)


def read_plan(db: Session, viewer: Viewer, plan_id: str | uuid.UUID, *, audited: bool = True) -> dict[str, Any]:
    from careplans.services.prescribing import decisions_for_plan

    plan, version = _load_current(db, viewer, _uuid(plan_id), for_write=False)
    view = plan_view(plan, json.loads(version.content), version.created_at, decisions_for_plan(db, plan.id))
    if audited:
        audit.record(db, actor(viewer), "plan.read", plan_id=plan.id, client_id=plan.client_id,
                     detail={"version": plan.version})
    return view


def plan_id_for_client(db: Session, client_id: uuid.UUID) -> uuid.UUID | None:
    return db.execute(select(Plan.id).where(Plan.client_id == client_id)).scalar_one_or_none()


# --- creating and changing -----------------------------------------------------------

def create_plan(db: Session, viewer: Viewer, client_id: str | uuid.UUID, today: dt.date | None = None) -> dict[str, Any]:
    from careplans.access import client_scope

    cid = _uuid(client_id)
    if viewer.role != "keyworker":
        raise NotFound("There is no such client.")
    client = db.execute(select(Client).where(Client.id == cid, client_scope(viewer))).scalar_one_or_none()
    if client is None:
        raise NotFound("There is no such client.")
    if plan_id_for_client(db, cid) is not None:
        raise AlreadyExists("This person already has a plan. Open it to carry on.")
    content = empty_content()
    fp = fingerprint(content)
    now = utcnow()
    plan = Plan(client_id=cid, version=1, fingerprint=fp, status="active", start_date=today or now.date())
    db.add(plan)
    db.flush()
    summary = f"Plan started, by {viewer.name} ({viewer.role})"
    db.add(PlanVersion(plan_id=plan.id, number=1, author_id=viewer.id, author_role=viewer.role,
                       author_name=viewer.name, created_at=now, summary=summary,
                       content=canonical_json(content), fingerprint=fp, changed_paths=[]))
    audit.record(db, actor(viewer), "plan.create", plan_id=plan.id, client_id=cid,
                 detail={"version": 1, "fingerprint": fp})
    db.flush()
    return plan_view(plan, content, now)


@dataclass
class ChangeResult:
    plan: dict[str, Any]
    version: int
    changed: bool


def change_plan(
    db: Session,
    viewer: Viewer,
    plan_id: str | uuid.UUID,
    based_on: int,
    mutate: Mutation,
    action: str,
    extra_detail: dict[str, Any] | None = None,
) -> ChangeResult:
    """Apply `mutate` to the current content as a new version, if `based_on` is still current.

    The plan row is locked for the write (FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE on
    SQLite) and the version bump is a compare-and-set, so two editors can never both
    succeed from the same version: the second gets VersionConflict with the current plan.
    """
    plan, current = _load_current(db, viewer, _uuid(plan_id), for_write=True)
    before = json.loads(current.content)
    if plan.version != based_on:
        view = plan_view(plan, before, current.created_at)
        audit.record(db, actor(viewer), "plan.write_refused", plan_id=plan.id, client_id=plan.client_id,
                     detail={"version": plan.version, "based_on": based_on, "attempted": action})
        raise VersionConflict(plan.version, based_on, view)
    try:
        after = mutate(before)
    except DocumentError as exc:
        raise InvalidInput(exc.field, exc.message) from exc
    changes = describe(before, after)
    if not changes:
        return ChangeResult(plan_view(plan, before, current.created_at, _decisions(db, plan.id)), plan.version, False)
    new_number = plan.version + 1
    fp = fingerprint(after)
    now = utcnow()
    result = db.execute(
        update(Plan)
        .where(Plan.id == plan.id, Plan.version == based_on)
        .values(version=new_number, fingerprint=fp, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # pragma: no cover - guarded by the row lock; kept as a second line
        raise VersionConflict(plan.version, based_on, plan_view(plan, before, current.created_at))
    db.add(PlanVersion(
        plan_id=plan.id, number=new_number, author_id=viewer.id, author_role=viewer.role,
        author_name=viewer.name, created_at=now,
        summary=version_summary(changes, viewer.name, viewer.role),
        content=canonical_json(after), fingerprint=fp, changed_paths=[c.path for c in changes],
    ))
    _sync_projections(db, plan.id, before, after, new_number, viewer, now)
    detail = {"version": new_number, "fingerprint": fp, **(extra_detail or {})}
    audit.record(db, actor(viewer), action, plan_id=plan.id, client_id=plan.client_id, detail=detail)
    db.flush()
    db.refresh(plan)
    return ChangeResult(plan_view(plan, after, now, _decisions(db, plan.id)), new_number, True)


def _sync_projections(db: Session, plan_id: uuid.UUID, before: dict, after: dict, version: int,
                      viewer: Viewer, now: dt.datetime) -> None:
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
                               recorded_at=now, recorded_by=viewer.id, plan_version=version))


# --- history ---------------------------------------------------------------------------

def list_versions(db: Session, viewer: Viewer, plan_id: str | uuid.UUID) -> list[dict[str, Any]]:
    plan, _ = _load_current(db, viewer, _uuid(plan_id), for_write=False)
    rows = db.execute(
        select(PlanVersion.number, PlanVersion.author_name, PlanVersion.author_role, PlanVersion.created_at,
               PlanVersion.summary, PlanVersion.fingerprint)
        .where(PlanVersion.plan_id == plan.id).order_by(PlanVersion.number)
    ).all()
    audit.record(db, actor(viewer), "plan.history.read", plan_id=plan.id, client_id=plan.client_id,
                 detail={"version": plan.version})
    return [
        {"version": r.number, "author": r.author_name, "role": r.author_role, "at": _iso(r.created_at),
         "summary": r.summary, "fingerprint": r.fingerprint}
        for r in rows
    ]


def get_version(db: Session, viewer: Viewer, plan_id: str | uuid.UUID, number: int) -> dict[str, Any]:
    plan, _ = _load_current(db, viewer, _uuid(plan_id), for_write=False)
    pv = db.execute(
        select(PlanVersion).where(PlanVersion.plan_id == plan.id, PlanVersion.number == number)
    ).scalar_one_or_none()
    if pv is None:
        raise NotFound("There is no such version of this plan.")
    audit.record(db, actor(viewer), "plan.version.read", plan_id=plan.id, client_id=plan.client_id,
                 detail={"version": number})
    from careplans.services.prescribing import decisions_for_plan

    content = json.loads(pv.content)
    view = plan_view(plan, content, pv.created_at, decisions_for_plan(db, plan.id, up_to_version=number))
    view.update({"version": pv.number, "fingerprint": pv.fingerprint, "author": pv.author_name,
                 "role": pv.author_role, "at": _iso(pv.created_at), "summary": pv.summary,
                 "is_current": pv.number == plan.version})
    return view


def diff_versions(db: Session, viewer: Viewer, plan_id: str | uuid.UUID, a: int, b: int) -> dict[str, Any]:
    plan, _ = _load_current(db, viewer, _uuid(plan_id), for_write=False)
    lo, hi = min(a, b), max(a, b)
    rows = db.execute(
        select(PlanVersion).where(PlanVersion.plan_id == plan.id, PlanVersion.number >= lo,
                                  PlanVersion.number <= hi).order_by(PlanVersion.number)
    ).scalars().all()
    by_number = {r.number: r for r in rows}
    for n, field in ((a, "from"), (b, "to")):
        if n not in by_number:
            raise InvalidInput(field, f"This plan has no version {n}.")
    before = json.loads(by_number[a].content)
    after = json.loads(by_number[b].content)
    changes = []
    for change in describe(before, after):
        who = None
        for r in reversed(rows):
            if r.number > lo and any(paths_overlap(change.path, p) for p in (r.changed_paths or [])):
                who = f"{r.author_name} ({r.author_role})"
                break
        changes.append({
            "path": change.path, "before": change.before, "after": change.after, "by": who,
            "summary": f"{change.summary}, by {who}" if who else change.summary,
        })
    audit.record(db, actor(viewer), "plan.diff.read", plan_id=plan.id, client_id=plan.client_id,
                 detail={"from": a, "to": b})
    return {"from": a, "to": b, "changes": changes}


# --- agreement ----------------------------------------------------------------------------

def sign_agreement(db: Session, viewer: Viewer, plan_id: str | uuid.UUID, version: int,
                   statement: str | None) -> dict[str, Any]:
    plan, current = _load_current(db, viewer, _uuid(plan_id), for_write=True)
    content = json.loads(current.content)
    if version != plan.version:
        audit.record(db, actor(viewer), "agreement.refused", plan_id=plan.id, client_id=plan.client_id,
                     detail={"version": plan.version, "based_on": version})
        raise VersionConflict(plan.version, version, plan_view(plan, content, current.created_at))
    role = "client" if viewer.role == "client" else "keyworker"
    db.add(Agreement(plan_id=plan.id, version=version, fingerprint=plan.fingerprint, signer_id=viewer.id,
                     signer_role=role, statement=(statement or "").strip() or None))
    if role == "client":
        plan.client_signed_version = version
    else:
        plan.keyworker_signed_version = version
    agreed = agreed_version_after_signing(plan.version, plan.client_signed_version, plan.keyworker_signed_version)
    if agreed is not None:
        plan.agreed_version = agreed
        plan.agreed_fingerprint = plan.fingerprint
    audit.record(db, actor(viewer), "agreement.sign", plan_id=plan.id, client_id=plan.client_id,
                 detail={"version": version, "fingerprint": plan.fingerprint, "as": role})
    db.flush()
    return plan_view(plan, content, current.created_at, _decisions(db, plan.id))


def list_signatures(db: Session, plan_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = db.execute(
        select(Agreement, User.display_name).join(User, User.id == Agreement.signer_id)
        .where(Agreement.plan_id == plan_id).order_by(Agreement.signed_at)
    ).all()
    return [{"version": a.version, "fingerprint": a.fingerprint, "role": a.signer_role, "by": name,
             "at": _iso(a.signed_at)} for a, name in rows]


# --- who has seen the plan -----------------------------------------------------------------

ACTION_WORDS = {
    "plan.read": "viewed the plan",
    "plan.create": "started the plan",
    "plan.update": "changed the plan",
    "plan.history.read": "looked at the plan's history",
    "plan.version.read": "looked at an earlier version",
    "plan.diff.read": "compared versions",
    "plan.write_refused": "tried to save over a newer version (nothing was overwritten)",
    "goal.create": "added a goal",
    "goal.update": "changed a goal",
    "checkin.create": "added a check-in",
    "choice.create": "recorded a treatment options discussion",
    "agreement.sign": "signed the plan",
    "agreement.refused": "tried to sign an older version",
    "access_log.read": "looked at who has seen the plan",
    "choices.read": "looked at the treatment options discussed",
    "prescribing.decide": "made a prescribing decision",
    "prescribing.refused": "tried to decide on an older version (nothing was saved)",
}


def access_log(db: Session, viewer: Viewer, plan_id: str | uuid.UUID, limit: int = 200) -> list[dict[str, Any]]:
    plan, _ = _load_current(db, viewer, _uuid(plan_id), for_write=True)
    from careplans.models import AuditEvent

    rows = db.execute(
        select(AuditEvent.at, AuditEvent.action, AuditEvent.actor_role, AuditEvent.actor_id)
        .where(AuditEvent.plan_id == str(plan.id))
        .order_by(AuditEvent.seq.desc()).limit(limit)
    ).all()
    # Audit rows keep actor ids as text so the log outlives any account change;
    # names are looked up in one query.
    ids = {uuid.UUID(r.actor_id) for r in rows if r.actor_id}
    names = dict(db.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all()) if ids else {}
    audit.record(db, actor(viewer), "access_log.read", plan_id=plan.id, client_id=plan.client_id, detail={})
    return [{"at": _iso(r.at), "who": names.get(uuid.UUID(r.actor_id), "unknown") if r.actor_id else "unknown",
             "role": r.actor_role, "action": r.action,
             "what": ACTION_WORDS.get(r.action, r.action.replace(".", " "))} for r in rows]
