"""One part of a plan as a write returns it (a goal, a check-in, a choice), and the
choices list: cut from the presented plan, so a write answers with what its writer may read."""

from __future__ import annotations

from typing import Any

import msgspec

from careplans import changes as ch
from careplans import document
from careplans.document import ChoiceEntry, Goal
from careplans.present_views import ChoiceEntryView, PlanView, View
from careplans.present_words import choice_summary


class GoalResult(Goal, kw_only=True):
    plan_version: int


class CheckInResult(document.CheckIn, kw_only=True):
    goal_id: str
    plan_version: int


class ChoiceResult(ChoiceEntryView, kw_only=True):
    plan_version: int


class ChoiceList(View):
    items: list[ChoiceEntryView]
    plan_version: int


def _fields(struct: msgspec.Struct) -> dict[str, Any]:
    return {f: getattr(struct, f) for f in struct.__struct_fields__}


def goal_result(view: PlanView, goal_id: str) -> GoalResult:
    goal = next(g for g in view.goals if g.id == goal_id)
    return GoalResult(**_fields(goal), plan_version=view.version)


def check_in_result(view: PlanView, goal_id: str, check_in_id: str) -> CheckInResult:
    goal = next(g for g in view.goals if g.id == goal_id)
    check_in = next(c for c in goal.check_ins if c.id == check_in_id)
    return CheckInResult(**_fields(check_in), goal_id=goal_id, plan_version=view.version)


def choice_list(view: PlanView, reader: ch.Reader) -> ChoiceList:
    return ChoiceList(items=[choice_view(e, reader) for e in view.choices], plan_version=view.version)


def choice_view(entry: ChoiceEntry, reader: ch.Reader) -> ChoiceEntryView:
    return ChoiceEntryView(**_fields(entry), summary=choice_summary(msgspec.to_builtins(entry), reader))


def choice_result(view: PlanView, entry_id: str, reader: ch.Reader) -> ChoiceResult:
    entry = next(e for e in view.choices if e.id == entry_id)
    return ChoiceResult(**_fields(choice_view(entry, reader)), plan_version=view.version)
