"""The plan page, earlier versions, history and differences, agreement, next review date, who viewed."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

from api.controllers.pages_common import (
    READERS,
    WRITERS,
    agreement_context,
    load_plan,
    page,
    plain,
    saved_message,
    see_other,
)
from api.deps import transact
from api.forms import Errors, FormData, date_parts, integer, iso_to_parts, parse_date, text
from api.guards import principal_of
from careplans.errors import InvalidInput, VersionConflict
from careplans import assessments, commands, plan_history, policy, queries
from careplans.outcome_charts import outcome_charts
from careplans.services import goals
from litestar.params import FromPath, FromQuery, PathParameter
from api.deps import DbSession
from typing import Annotated


@get("/plans/{plan_id:str}", guards=[READERS], sync_to_thread=True, include_in_schema=False)
def plan_page(request: Request, db_session: DbSession, plan_id: FromPath[str], saved: FromQuery[str | None] = None) -> Template:
    viewer = principal_of(request)
    def work() -> dict[str, Any]:
        context = load_plan(db_session, viewer, plan_id, signatures=True)
        # Outcomes over time beside the goal check-ins, from the answers this reader may see.
        context["outcome_charts"] = (outcome_charts(assessments.outcome_series(
            db_session, viewer, queries.parse_id(plan_id))) if policy.may(viewer, "assessments.read") else None)
        return context

    context = transact(db_session, work)
    context.update(agreement_context(context["plan"], viewer, context["signatures"]))
    return page("plan/view.html", saved=saved_message(saved), **context)


@get("/plans/{plan_id:str}/versions/{number:int}", guards=[READERS], sync_to_thread=True, include_in_schema=False)
def version_page(request: Request, db_session: DbSession, plan_id: FromPath[str], number: Annotated[int, PathParameter(ge=1, le=2**31 - 1)]) -> Template:
    viewer = principal_of(request)

    def work() -> dict[str, Any]:
        context = load_plan(db_session, viewer, plan_id, audited=False)
        context["old"] = plain(plan_history.get_version(db_session, viewer, plan_id, number))
        return context

    context = transact(db_session, work)
    return page("plan/version.html", **context)


@get("/plans/{plan_id:str}/history", guards=[READERS], sync_to_thread=True, include_in_schema=False)
def history_page(request: Request, db_session: DbSession, plan_id: FromPath[str]) -> Template:
    viewer = principal_of(request)

    def work() -> dict[str, Any]:
        context = load_plan(db_session, viewer, plan_id, audited=False)
        context["versions"] = plain(plan_history.list_versions(db_session, viewer, plan_id))
        context["visits"] = plain(plan_history.list_visits(db_session, viewer, plan_id, audited=False))
        return context

    context = transact(db_session, work)
    current = context["plan"]["version"]
    return page("plan/history.html", errors=Errors(), compare_from=max(1, current - 1), compare_to=current,
                **context)


@get("/plans/{plan_id:str}/compare", guards=[READERS], sync_to_thread=True, include_in_schema=False)
def compare_page(request: Request, db_session: DbSession, plan_id: FromPath[str]) -> Template:
    viewer = principal_of(request)
    a = integer(dict(request.query_params), "from")
    b = integer(dict(request.query_params), "to")

    def work() -> dict[str, Any]:
        context = load_plan(db_session, viewer, plan_id, audited=False)
        current = context["plan"]["version"]
        errors = Errors()
        if a is None or not 1 <= a <= current:
            errors.add("from", f"Choose a version from 1 to {current} to compare from.")
        if b is None or not 1 <= b <= current:
            errors.add("to", f"Choose a version from 1 to {current} to compare with.")
        if not errors and a == b:
            errors.add("to", "Choose two different versions to see what changed.")
        context["errors"] = errors
        # One audit event for the page: the comparison (or, when the form is wrong, the history).
        context["versions"] = plain(plan_history.list_versions(db_session, viewer, plan_id, audited=bool(errors)))
        if errors:
            context["visits"] = plain(plan_history.list_visits(db_session, viewer, plan_id, audited=False))
        if not errors:
            context["diff"] = plain(plan_history.diff_versions(db_session, viewer, plan_id, a, b))
        return context

    context = transact(db_session, work)
    if context["errors"]:
        current = context["plan"]["version"]
        return page("plan/history.html", status_code=422, compare_from=a or max(1, current - 1),
                    compare_to=b or current, **context)
    authors = {v["version"]: v for v in context["versions"]}
    return page("plan/compare.html", compare_from=a, compare_to=b, authors=authors, **context)


# --- agreement --------------------------------------------------------------------------------

def _agreement_page(viewer, context: dict[str, Any], status_code: int = 200, **extra: Any) -> Template:
    context.update(agreement_context(context["plan"], viewer, context.get("signatures")))
    context.setdefault("errors", Errors())
    context.update(extra)
    return page("plan/agreement.html", status_code=status_code, **context)


@get("/plans/{plan_id:str}/agreement", guards=[READERS], sync_to_thread=True, include_in_schema=False)
def agreement_page(request: Request, db_session: DbSession, plan_id: FromPath[str], saved: FromQuery[str | None] = None) -> Template:
    viewer = principal_of(request)
    context = transact(db_session, lambda: load_plan(db_session, viewer, plan_id, signatures=True))
    return _agreement_page(viewer, context, saved=saved_message(saved), statement="", moved_on=None)


@post("/plans/{plan_id:str}/agreement", guards=[WRITERS], sync_to_thread=True, include_in_schema=False)
def agreement_submit(request: Request, db_session: DbSession, plan_id: FromPath[str], data: FormData) -> Template | Redirect:
    viewer = principal_of(request)
    version = integer(data, "version")
    statement = text(data, "statement")
    errors = Errors()
    if text(data, "confirm") != "yes":
        errors.add("confirm", "Tick the box to say you have read this version and agree with it.")
    errors.check_length(data, "statement", 4000, "Your words")
    if version is None:
        errors.add("confirm", "This page is out of date. Read the plan again, then sign.")
    if not errors:
        try:
            transact(db_session, lambda: commands.sign_agreement(db_session, viewer, plan_id, version, statement))
        except VersionConflict as exc:
            context = transact(db_session, lambda: load_plan(db_session, viewer, plan_id, audited=False,
                                                             signatures=True))
            return _agreement_page(viewer, context, status_code=409, statement=statement, saved=None,
                                   moved_on={"from": exc.your_version, "to": exc.current_version})
        return see_other(f"/plans/{plan_id}/agreement?saved=signed")
    context = transact(db_session, lambda: load_plan(db_session, viewer, plan_id, audited=False, signatures=True))
    return _agreement_page(viewer, context, status_code=422, errors=errors, statement=statement, saved=None,
                           moved_on=None)


# --- next review date ----------------------------------------------------------------------------

@get("/plans/{plan_id:str}/review-date", guards=[WRITERS], sync_to_thread=True, include_in_schema=False)
def review_date_page(request: Request, db_session: DbSession, plan_id: FromPath[str]) -> Template:
    viewer = principal_of(request)
    context = transact(db_session, lambda: load_plan(db_session, viewer, plan_id))
    return page("plan/review_date.html", errors=Errors(), parts=iso_to_parts(context["plan"]["next_review_date"]),
                based_on=context["plan"]["version"], conflict=None, **context)


@post("/plans/{plan_id:str}/review-date", guards=[WRITERS], sync_to_thread=True, include_in_schema=False)
def review_date_submit(request: Request, db_session: DbSession, plan_id: FromPath[str], data: FormData) -> Template | Redirect:
    viewer = principal_of(request)
    errors = Errors()
    parts = date_parts(data, "review_date")
    based_on = integer(data, "based_on") or 0
    value = parse_date(parts, "The next review date", errors, "review_date")
    conflict = None
    if not errors:
        try:
            result = transact(db_session, lambda: goals.patch_plan(db_session, viewer, plan_id, based_on, None, None,
                                                                   value))
        except VersionConflict as exc:
            conflict = exc
        except InvalidInput as exc:
            for e in exc.errors:
                errors.add("review_date", e["message"], "review_date-day")
        else:
            return see_other(f"/plans/{plan_id}?saved={'review-date' if result.changed else 'nothing'}")
    context = transact(db_session, lambda: load_plan(db_session, viewer, plan_id, audited=False))
    if conflict is not None:
        return page("plan/review_date.html", status_code=409, errors=errors, parts=parts,
                    based_on=conflict.current_version, conflict=conflict.current, **context)
    return page("plan/review_date.html", status_code=422, errors=errors, parts=parts, based_on=based_on,
                conflict=None, **context)


# --- who has looked at the plan ---------------------------------------------------------------------

@get("/plans/{plan_id:str}/who-viewed", guards=[WRITERS], sync_to_thread=True, include_in_schema=False)
def who_viewed_page(request: Request, db_session: DbSession, plan_id: FromPath[str]) -> Template:
    viewer = principal_of(request)

    def work() -> dict[str, Any]:
        context = load_plan(db_session, viewer, plan_id, audited=False)
        context["looked"] = plain(queries.who_looked(db_session, viewer, plan_id))
        return context

    return page("plan/who_viewed.html", **transact(db_session, work))


ROUTES = [plan_page, version_page, history_page, compare_page, agreement_page, agreement_submit,
          review_date_page, review_date_submit, who_viewed_page]
