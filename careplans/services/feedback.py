""""Was I heard?": three short optional questions for the client after their plan is
agreed or reviewed (signed by them at a new version), which they can answer in part, or skip.

The answers belong to the person: they and their keyworker read them, comment included.
A comment reaches the service only if the client marks it to pass on, and then without
their name or plan. Auditors read totals per quarter and question only
(`careplans.reports.feedback_totals`), withheld below `policy.FEEDBACK_MIN_ANSWERS`.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from careplans import audit, policy
from careplans.errors import AlreadyExists, InvalidInput, NotFound
from careplans.models import FeedbackResponse, Plan, utcnow
from careplans.policy import Principal
from careplans.queries import actor, parse_id
from careplans.reports import FEEDBACK_QUESTIONS

COMMENT_MAX = 2000


def _plan(db: Session, principal: Principal, plan_id: str | uuid.UUID) -> Plan:
    plan = db.execute(select(Plan).where(Plan.id == parse_id(plan_id), policy.plan_scope(principal, "read"))
                      ).scalar_one_or_none()
    if plan is None:
        raise NotFound("There is no such plan.")
    return plan


def _asked_after(db: Session, plan: Plan) -> str | None:
    """"agreed" the first time the client signs, "reviewed" on later signed versions;
    None while the client has not signed the current version."""
    if plan.client_signed_version != plan.version:
        return None
    earlier = db.execute(select(FeedbackResponse.id).where(FeedbackResponse.plan_id == plan.id).limit(1)).first()
    return "reviewed" if earlier else "agreed"


def invitation(db: Session, principal: Principal, plan_id: str | uuid.UUID) -> dict[str, Any] | None:
    """Whether to ask the client now: they signed the current version and have not
    answered or skipped for it. Only the client is asked."""
    if not policy.may(principal, "feedback.give"):
        return None
    plan = _plan(db, principal, plan_id)
    after = _asked_after(db, plan)
    if after is None:
        return None
    done = db.execute(select(FeedbackResponse.id).where(FeedbackResponse.plan_id == plan.id,
                                                        FeedbackResponse.plan_version == plan.version)).first()
    return None if done else {"plan_id": str(plan.id), "plan_version": plan.version, "after": after}


def _score(value: Any, field: str) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise InvalidInput(field, "Choose a number from 1 to 5, or leave it.")
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(field, "Choose a number from 1 to 5, or leave it.") from exc
    if not 1 <= number <= 5:
        raise InvalidInput(field, "Choose a number from 1 to 5, or leave it.")
    return number


def give(db: Session, principal: Principal, plan_id: str | uuid.UUID, body: dict[str, Any],
         *, skip: bool = False) -> dict[str, Any]:
    """Record the client's answers (each optional) or their skip, for the version they signed."""
    policy.require(principal, "feedback.give")
    plan = _plan(db, principal, plan_id)
    after = _asked_after(db, plan)
    if after is None:
        raise InvalidInput("plan", "These questions come after you have signed your plan.")
    if db.execute(select(FeedbackResponse.id).where(FeedbackResponse.plan_id == plan.id,
                                                    FeedbackResponse.plan_version == plan.version)).first():
        raise AlreadyExists("You have already answered for this version of your plan. Thank you.")
    scores = {q: None if skip else _score(body.get(q), q) for q, _ in FEEDBACK_QUESTIONS}
    comment = None if skip else (str(body.get("comment") or "").strip() or None)
    if comment is not None and len(comment) > COMMENT_MAX:
        raise InvalidInput("comment", f"Comments are {COMMENT_MAX:,} characters or fewer.")
    pass_on = bool(body.get("pass_on")) and comment is not None and not skip
    skipped = skip or (all(v is None for v in scores.values()) and comment is None)
    row = FeedbackResponse(plan_id=plan.id, plan_version=plan.version, asked_after=after, comment=comment,
                           pass_on=pass_on, skipped=skipped, answered_at=utcnow(), **scores)
    db.add(row)
    db.flush()
    audit.record(db, actor(principal), "feedback.skip" if skipped else "feedback.give", plan_id=plan.id,
                 client_id=plan.client_id, detail={"version": plan.version, "answered": sorted(
                     q for q, v in scores.items() if v is not None), "comment": comment is not None,
                     "pass_on": pass_on})
    return _view(row, principal)


def _view(row: FeedbackResponse, principal: Principal) -> dict[str, Any]:
    out: dict[str, Any] = {"id": str(row.id), "plan_version": row.plan_version, "after": row.asked_after,
                           "skipped": row.skipped, "at": row.answered_at.isoformat(),
                           **{q: getattr(row, q) for q, _ in FEEDBACK_QUESTIONS}, "pass_on": row.pass_on}
    if policy.sees_feedback_comments(principal):
        out["comment"] = ({"text": row.comment, "voice": "client", "by": "client"}
                          if row.comment is not None else None)
    return out


def for_plan(db: Session, principal: Principal, plan_id: str | uuid.UUID) -> list[dict[str, Any]]:
    """The client's answers about this plan, newest first: for them and their keyworker."""
    policy.require(principal, "feedback.read")
    plan = _plan(db, principal, plan_id)
    rows = db.execute(select(FeedbackResponse).where(FeedbackResponse.plan_id == plan.id)
                      .order_by(FeedbackResponse.answered_at.desc())).scalars().all()
    audit.record(db, actor(principal), "feedback.read", plan_id=plan.id, client_id=plan.client_id,
                 detail={"count": len(rows)})
    return [_view(r, principal) for r in rows]
