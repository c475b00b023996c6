"""Goals, progress check-ins and the plan's own fields: each change is a new plan version."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from careplans import checkin_write
from careplans import plan_document as doc
from careplans.commands import ChangeResult, change_plan
from careplans.models import utcnow
from careplans.policy import Principal
from careplans.present import CheckInResult, GoalResult, check_in_result, goal_result

NOT_SENT: Any = object()  # a field left out of a partial update (None clears it)


def _new_id() -> str:
    return str(uuid.uuid4())


def add_goal(db: Session, principal: Principal, plan_id: str, based_on: int,
             fields: dict[str, Any]) -> tuple[ChangeResult, GoalResult]:
    goal_id = _new_id()
    today = utcnow().date().isoformat()
    result = change_plan(
        db, principal, plan_id, based_on,
        lambda c: doc.add_goal(c, goal_id, fields, principal.author, _new_id, today),
        "goal.create", {"goal_id": goal_id},
    )
    return result, goal_result(result.plan, goal_id)


def update_goal(db: Session, principal: Principal, plan_id: str, goal_id: str, based_on: int,
                fields: dict[str, Any]) -> tuple[ChangeResult, GoalResult]:
    result = change_plan(
        db, principal, plan_id, based_on,
        lambda c: doc.update_goal(c, goal_id, fields, principal.author, _new_id),
        "goal.update", {"goal_id": goal_id},
    )
    return result, goal_result(result.plan, goal_id)


def add_check_in(db: Session, principal: Principal, plan_id: str, goal_id: str, based_on: int, rating: int,
                 note: str | None) -> tuple[ChangeResult, CheckInResult]:
    check_in_id, at = checkin_write.new_check_in()
    # The ordinary case in a fixed few statements; anything else through the general path.
    result = checkin_write.in_session(db, principal, plan_id, goal_id, based_on, check_in_id, rating, note, at)
    if result is None:
        result = change_plan(
            db, principal, plan_id, based_on,
            lambda c: doc.add_check_in(c, goal_id, check_in_id, rating, note, principal.author, at),
            checkin_write.ACTION, {"goal_id": goal_id, "check_in_id": check_in_id}, whole_view=False,
        )
    # Presented with only the new check-in: the response does not grow with the history.
    return result, check_in_result(result.changed_plan, goal_id, check_in_id)


def patch_plan(db: Session, principal: Principal, plan_id: str, based_on: int, about_me: dict | None = None,
               staying_safe: dict | None = None, next_review_date: Any = NOT_SENT,
               substances: Any = NOT_SENT) -> ChangeResult:
    """Partial update of about_me, staying_safe, next_review_date (None clears the date) and the
    substances the plan is about."""

    def mutate(content: dict) -> dict:
        if about_me:
            content = doc.set_about_me(content, about_me, principal.author)
        if staying_safe:
            content = doc.set_staying_safe(content, staying_safe, principal.author)
        if next_review_date is not NOT_SENT:
            content = doc.set_next_review_date(content, next_review_date)
        if substances is not NOT_SENT:
            content = doc.set_substances(content, list(substances or []))
        return content

    return change_plan(db, principal, plan_id, based_on, mutate, "plan.update")
