"""Goals and progress check-ins: each change is a new plan version."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from careplans import plan_document as doc
from careplans.access import Viewer
from careplans.models import utcnow
from careplans.services.plans import ChangeResult, change_plan


def _new_id() -> str:
    return str(uuid.uuid4())


def add_goal(db: Session, viewer: Viewer, plan_id: str, based_on: int, fields: dict[str, Any]) -> tuple[ChangeResult, dict]:
    goal_id = _new_id()
    today = utcnow().date().isoformat()
    result = change_plan(
        db, viewer, plan_id, based_on,
        lambda c: doc.add_goal(c, goal_id, fields, viewer.author, _new_id, today),
        "goal.create", {"goal_id": goal_id},
    )
    return result, doc.find_goal({"goals": result.plan["goals"]}, goal_id)


def update_goal(db: Session, viewer: Viewer, plan_id: str, goal_id: str, based_on: int,
                fields: dict[str, Any]) -> tuple[ChangeResult, dict]:
    result = change_plan(
        db, viewer, plan_id, based_on,
        lambda c: doc.update_goal(c, goal_id, fields, viewer.author, _new_id),
        "goal.update", {"goal_id": goal_id},
    )
    return result, doc.find_goal({"goals": result.plan["goals"]}, goal_id)


def add_check_in(db: Session, viewer: Viewer, plan_id: str, goal_id: str, based_on: int, rating: int,
                 note: str | None) -> tuple[ChangeResult, dict]:
    check_in_id = _new_id()
    at = utcnow().isoformat(timespec="seconds")
    result = change_plan(
        db, viewer, plan_id, based_on,
        lambda c: doc.add_check_in(c, goal_id, check_in_id, rating, note, viewer.author, at),
        "checkin.create", {"goal_id": goal_id, "check_in_id": check_in_id},
    )
    goal = doc.find_goal({"goals": result.plan["goals"]}, goal_id)
    check_in = next(ci for ci in goal["check_ins"] if ci["id"] == check_in_id)
    return result, {**check_in, "goal_id": goal_id}


def patch_plan(db: Session, viewer: Viewer, plan_id: str, based_on: int, about_me: dict | None,
               staying_safe: dict | None, next_review_date: Any = doc.DocumentError) -> ChangeResult:
    """Partial update of about_me, staying_safe and next_review_date.

    `next_review_date` defaults to a sentinel meaning "not sent" (None clears it)."""

    def mutate(content: dict) -> dict:
        if about_me:
            content = doc.set_about_me(content, about_me, viewer.author)
        if staying_safe:
            content = doc.set_staying_safe(content, staying_safe, viewer.author)
        if next_review_date is not doc.DocumentError:
            content = doc.set_next_review_date(content, next_review_date)
        return content

    return change_plan(db, viewer, plan_id, based_on, mutate, "plan.update")
