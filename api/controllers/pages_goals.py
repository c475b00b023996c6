"""Goals: the goal page with its progress chart, adding and changing goals, and check-ins."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

from api.controllers.pages_common import (
    READERS,
    WRITERS,
    find_goal,
    load_plan,
    page,
    plain,
    saved_message,
    see_other,
)
from api.deps import transact
from api.forms import (
    LONG_TEXT,
    SHORT,
    STEP_TEXT,
    TITLE,
    Errors,
    FormData,
    date_parts,
    field_of,
    integer,
    iso_to_parts,
    merged_values,
    parse_date,
    text,
)
from api.guards import principal_of
from careplans import plan_document as doc
from careplans.errors import InvalidInput, NotFound, VersionConflict
from careplans import commands, plan_history
from careplans.services import goals
from careplans.views import text_of
from litestar.params import FromPath, FromQuery
from api.deps import DbSession

GOAL_FIELDS = ("title", "why", "area", "target_date", "status", "steps")
MAX_STEPS = 30
BLANK_STEP_ROWS = 2


def _new_id() -> str:
    return str(uuid.uuid4())


# --- the goal as form values ------------------------------------------------------------------

def goal_values(goal: dict[str, Any]) -> dict[str, Any]:
    """A saved goal as the values its form shows (steps as (id, text, who helps, when))."""
    return {
        "title": text_of(goal.get("title")).strip(),
        "why": text_of(goal.get("why")).strip(),
        "area": goal.get("area") or "",
        "target_date": goal.get("target_date") or "",
        "status": goal.get("status") or "",
        "steps": [(s["id"], text_of(s.get("text")).strip(), s.get("who_helps") or "", s.get("when") or "")
                  for s in goal.get("steps", [])],
    }


def empty_goal_values() -> dict[str, Any]:
    return {"title": "", "why": "", "area": "", "target_date": "", "status": "", "steps": []}


def read_goal_form(data: dict[str, Any], errors: Errors, *, editing: bool) -> dict[str, Any]:
    """What the person typed, checked. Errors go into `errors`; nothing is saved here."""
    values: dict[str, Any] = {
        "title": text(data, "title").strip(),
        "why": text(data, "why").strip(),
        "area": text(data, "area"),
        "status": text(data, "status") if editing else "",
    }
    if not values["title"]:
        errors.add("title", "Give the goal a name, in your own words.")
    elif len(values["title"]) > TITLE:
        errors.add("title", f"The goal’s name must be {TITLE} characters or fewer.")
    if len(values["why"]) > LONG_TEXT:
        errors.add("why", f"Why it matters must be {LONG_TEXT:,} characters or fewer.")
    if values["area"] not in doc.GOAL_AREAS:
        errors.add("area", "Choose the area this goal is about.")
    if editing and values["status"] not in doc.GOAL_STATUSES:
        errors.add("status", "Choose where this goal is up to.")
    parts = date_parts(data, "target_date")
    values["target_parts"] = parts
    values["target_date"] = parse_date(parts, "The target date", errors, "target_date") or ""
    rows = min(integer(data, "step_count") or 0, MAX_STEPS + BLANK_STEP_ROWS)
    steps = []
    for i in range(rows):
        step_id = text(data, f"step-{i}-id").strip()
        words = text(data, f"step-{i}-text").strip()
        who = text(data, f"step-{i}-who").strip()
        when = text(data, f"step-{i}-when").strip()
        if not words:
            if (who or when) and not step_id:
                errors.add(f"step-{i}-text", f"Say what step {i + 1} is, or clear who helps and when.")
                steps.append((step_id, words, who, when))
            continue  # an empty step is left out; clearing an existing step's words removes it
        if len(words) > STEP_TEXT:
            errors.add(f"step-{i}-text", f"Step {i + 1} must be {STEP_TEXT:,} characters or fewer.")
        if len(who) > SHORT:
            errors.add(f"step-{i}-who", f"Who helps with step {i + 1} must be {SHORT} characters or fewer.")
        if len(when) > SHORT:
            errors.add(f"step-{i}-when", f"When for step {i + 1} must be {SHORT} characters or fewer.")
        steps.append((step_id, words, who, when))
    if len(steps) > MAX_STEPS:
        errors.add("step-0-text", f"A goal can have up to {MAX_STEPS} steps.")
    values["steps"] = steps
    return values


def _steps_for_service(steps: list[tuple[str, str, str, str]]) -> list[dict[str, Any]]:
    return [{"id": sid or None, "text": words, "who_helps": who or None, "when": when or None}
            for sid, words, who, when in steps if words]


def _form_context(values: dict[str, Any]) -> dict[str, Any]:
    """Values shaped for the template: date parts and step rows with blanks to add more."""
    rows = [{"id": sid, "text": words, "who": who, "when": when} for sid, words, who, when in values["steps"]]
    blanks = BLANK_STEP_ROWS + (1 if not rows else 0)
    rows += [{"id": "", "text": "", "who": "", "when": ""} for _ in range(blanks)]
    return {"values": values, "target_parts": values.get("target_parts") or iso_to_parts(values["target_date"]),
            "step_rows": rows}


def _update_mutation(viewer, goal_id: str, typed: dict[str, Any], keep: set[str]):
    """Change only the fields that differ from what is saved now (and that the person keeps)."""

    def mutate(content: dict[str, Any]) -> dict[str, Any]:
        current = goal_values(doc.find_goal(content, goal_id))
        fields: dict[str, Any] = {}
        for name in GOAL_FIELDS:
            if name in keep or typed[name] == current[name]:
                continue
            if name == "steps":
                fields["steps"] = _steps_for_service(typed["steps"])
            elif name in ("target_date", "why"):
                fields[name] = typed[name] or None
            else:
                fields[name] = typed[name]
        return doc.update_goal(content, goal_id, fields, viewer.author, _new_id) if fields else content

    return mutate


# --- pages ---------------------------------------------------------------------------------------

@get("/plans/{plan_id:str}/goals/{goal_id:str}", guards=[READERS], sync_to_thread=True, include_in_schema=False)
def goal_page(request: Request, db_session: DbSession, plan_id: FromPath[str], goal_id: FromPath[str],
              saved: FromQuery[str | None] = None) -> Template:
    viewer = principal_of(request)
    context = transact(db_session, lambda: load_plan(db_session, viewer, plan_id))
    return page("plan/goal.html", goal=find_goal(context["plan"], goal_id), saved=saved_message(saved), **context)


@get("/plans/{plan_id:str}/goals/new", guards=[WRITERS], sync_to_thread=True, include_in_schema=False)
def new_goal_page(request: Request, db_session: DbSession, plan_id: FromPath[str]) -> Template:
    viewer = principal_of(request)
    context = transact(db_session, lambda: load_plan(db_session, viewer, plan_id))
    return page("plan/goal_form.html", errors=Errors(), goal=None, based_on=context["plan"]["version"],
                conflict=None, **_form_context(empty_goal_values()), **context)


@post("/plans/{plan_id:str}/goals/new", guards=[WRITERS], sync_to_thread=True, include_in_schema=False)
def new_goal_submit(request: Request, db_session: DbSession, plan_id: FromPath[str], data: FormData) -> Template | Redirect:
    viewer = principal_of(request)
    errors = Errors()
    typed = read_goal_form(data, errors, editing=False)
    based_on = integer(data, "based_on") or 0
    if not errors:
        fields = {"title": typed["title"], "why": typed["why"] or None, "area": typed["area"],
                  "target_date": typed["target_date"] or None, "steps": _steps_for_service(typed["steps"])}
        try:
            result, goal = transact(db_session, lambda: goals.add_goal(db_session, viewer, plan_id, based_on, fields))
        except VersionConflict as exc:
            context = transact(db_session, lambda: _conflict_context(db_session, viewer, plan_id, exc.your_version))
            return page("plan/goal_form.html", status_code=409, errors=errors, goal=None,
                        based_on=context["plan"]["version"], **_form_context(typed), **context)
        except InvalidInput as exc:
            for e in exc.errors:
                errors.add(field_of(e["field"]), e["message"])
        else:
            return see_other(f"/plans/{plan_id}?saved=goal#goal-{goal.id}")
    context = transact(db_session, lambda: load_plan(db_session, viewer, plan_id, audited=False))
    return page("plan/goal_form.html", status_code=422, errors=errors, goal=None, based_on=based_on, conflict=None,
                **_form_context(typed), **context)


@get("/plans/{plan_id:str}/goals/{goal_id:str}/edit", guards=[WRITERS], sync_to_thread=True,
     include_in_schema=False)
def edit_goal_page(request: Request, db_session: DbSession, plan_id: FromPath[str], goal_id: FromPath[str]) -> Template:
    viewer = principal_of(request)
    context = transact(db_session, lambda: load_plan(db_session, viewer, plan_id))
    goal = find_goal(context["plan"], goal_id)
    return page("plan/goal_form.html", errors=Errors(), goal=goal, based_on=context["plan"]["version"],
                conflict=None, **_form_context(goal_values(goal)), **context)


@post("/plans/{plan_id:str}/goals/{goal_id:str}/edit", guards=[WRITERS], sync_to_thread=True,
      include_in_schema=False)
def edit_goal_submit(request: Request, db_session: DbSession, plan_id: FromPath[str], goal_id: FromPath[str],
                     data: FormData) -> Template | Redirect:
    viewer = principal_of(request)
    errors = Errors()
    typed = read_goal_form(data, errors, editing=True)
    based_on = integer(data, "based_on") or 0
    keep = {name for name in GOAL_FIELDS if text(data, f"keep-{name}") == "saved"}
    if not errors:
        try:
            result = transact(db_session, lambda: commands.change_plan(
                db_session, viewer, plan_id, based_on, _update_mutation(viewer, goal_id, typed, keep),
                "goal.update", {"goal_id": goal_id}))
        except VersionConflict as exc:
            context = transact(db_session, lambda: _conflict_context(db_session, viewer, plan_id, exc.your_version,
                                                                     goal_id))
            goal = find_goal(context["plan"], goal_id)
            base = context["conflict"].pop("base_goal")
            values, mine, clashes = merged_values(typed, goal_values(base) if base else None, goal_values(goal),
                                                  GOAL_FIELDS)
            values["target_parts"] = typed["target_parts"] if "target_date" in mine else None
            context["conflict"].update(mine=mine, clashes=clashes)
            return page("plan/goal_form.html", status_code=409, errors=errors, goal=goal,
                        based_on=context["plan"]["version"], **_form_context(values), **context)
        except InvalidInput as exc:
            for e in exc.errors:
                errors.add(field_of(e["field"]), e["message"])
        else:
            return see_other(f"/plans/{plan_id}?saved={'goal' if result.changed else 'nothing'}#goal-{goal_id}")
    context = transact(db_session, lambda: load_plan(db_session, viewer, plan_id, audited=False))
    return page("plan/goal_form.html", status_code=422, errors=errors, goal=find_goal(context["plan"], goal_id),
                based_on=based_on, conflict=None, **_form_context(typed), **context)


def _conflict_context(db_session: Session, viewer, plan_id: str, your_version: int,
                      goal_id: str | None = None) -> dict[str, Any]:
    """The newest plan, what was saved since the person's version, and their goal as it was then."""
    # One audit event for the page: the plan read; the version and history beside it are part of it.
    context = load_plan(db_session, viewer, plan_id)
    base_goal = None
    if goal_id is not None:
        try:
            base = plain(plan_history.get_version(db_session, viewer, plan_id, your_version, audited=False))
            base_goal = next((g for g in base["goals"] if g["id"] == goal_id), None)
        except NotFound:
            base_goal = None
    newer = [v for v in plain(plan_history.list_versions(db_session, viewer, plan_id, audited=False))
             if v["version"] > your_version]
    context["conflict"] = {"version": context["plan"]["version"], "your_version": your_version, "newer": newer,
                           "base_goal": base_goal, "mine": set(), "clashes": set()}
    return context


# --- check-ins ------------------------------------------------------------------------------------

@get("/plans/{plan_id:str}/goals/{goal_id:str}/check-in", guards=[WRITERS], sync_to_thread=True,
     include_in_schema=False)
def check_in_page(request: Request, db_session: DbSession, plan_id: FromPath[str], goal_id: FromPath[str]) -> Template:
    viewer = principal_of(request)
    context = transact(db_session, lambda: load_plan(db_session, viewer, plan_id))
    return page("plan/check_in.html", errors=Errors(), goal=find_goal(context["plan"], goal_id), rating="",
                note="", based_on=context["plan"]["version"], conflict=None, **context)


@post("/plans/{plan_id:str}/goals/{goal_id:str}/check-in", guards=[WRITERS], sync_to_thread=True,
      include_in_schema=False)
def check_in_submit(request: Request, db_session: DbSession, plan_id: FromPath[str], goal_id: FromPath[str],
                    data: FormData) -> Template | Redirect:
    viewer = principal_of(request)
    errors = Errors()
    raw_rating = text(data, "rating").strip()
    note = text(data, "note")
    based_on = integer(data, "based_on") or 0
    rating = integer(data, "rating")
    if rating is None or not 0 <= rating <= 10:
        errors.add("rating", "Choose a number from 0 to 10.")
    errors.check_length(data, "note", LONG_TEXT, "The note")
    if not errors:
        try:
            transact(db_session, lambda: goals.add_check_in(db_session, viewer, plan_id, goal_id, based_on, rating,
                                                            note.strip() or None))
        except VersionConflict as exc:
            context = transact(db_session, lambda: _conflict_context(db_session, viewer, plan_id, exc.your_version))
            return page("plan/check_in.html", status_code=409, errors=errors,
                        goal=find_goal(context["plan"], goal_id), rating=raw_rating, note=note,
                        based_on=context["plan"]["version"], **context)
        except InvalidInput as exc:
            for e in exc.errors:
                errors.add("rating" if e["field"] == "rating" else "note", e["message"])
        else:
            return see_other(f"/plans/{plan_id}/goals/{goal_id}?saved=check-in")
    context = transact(db_session, lambda: load_plan(db_session, viewer, plan_id, audited=False))
    return page("plan/check_in.html", status_code=422, errors=errors, goal=find_goal(context["plan"], goal_id),
                rating=raw_rating, note=note, based_on=based_on, conflict=None, **context)


ROUTES = [new_goal_page, new_goal_submit, goal_page, edit_goal_page, edit_goal_submit, check_in_page,
          check_in_submit]
