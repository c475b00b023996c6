"""Pages for assurance, and the client's "was I heard?".

Auditors (their browser home is /audit): each plan's checklist, the service's figures
with filters (tables, and bar charts that carry every number in text), the CSV export,
a random case-file sample whose seed is shown, "was I heard?" totals, the audit log and
its verification. Everything shown comes from careplans.reports / queries, which select
no names, dates of birth or words anyone wrote, and audit each read.

Clients: three optional questions after they sign their plan (or skip), and, for them
and their keyworker, what they answered.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

from api.controllers.pages_common import load_plan, page, see_other
from api.deps import transact
from api.forms import Errors, FormData, text
from api.guards import AUDIT_EVENTS, AUDIT_NDTMS, AUDIT_REPORTS, AUDIT_VERIFY, FEEDBACK_GIVE, FEEDBACK_READ, principal_of
from careplans import audit, ndtms, queries, reports
from careplans.catalogue import load_options
from careplans.errors import DomainError, InvalidInput
from careplans.services import feedback
from litestar.params import FromPath, FromQuery
from api.deps import DbSession

PAGE_SIZE = 50


def _add(errors: Errors, exc: InvalidInput) -> None:
    for e in exc.errors:
        errors.add(e["field"], e["message"])


def _secret(request: Request) -> str:
    return request.app.state.settings.secret_key


def _filter_form(request: Request) -> tuple[dict[str, str], reports.ReportFilter | None, Errors]:
    """The filter as typed (to show back) and as checked; errors name the field."""
    q = request.query_params
    typed = {k: (q.get(k) or "").strip()[:40] for k in ("from", "to", "keyworker", "option")}
    errors = Errors()
    try:
        flt = reports.make_filter(typed["from"], typed["to"], typed["keyworker"], typed["option"])
    except InvalidInput as exc:
        _add(errors, exc)
        return typed, None, errors
    return typed, flt, errors


def _filter_context(db: Session, request: Request) -> dict[str, Any]:
    start, end = reports.quarter_range(dt.date.today())
    return {"keyworkers": reports.keyworker_refs(db, _secret(request)),
            "options": [(o.code, o.name) for o in load_options()],
            "this_quarter": {"from": start.isoformat(), "to": end.isoformat()}}


def _query(typed: dict[str, str], **extra: Any) -> str:
    from urllib.parse import urlencode

    return urlencode({**{k: v for k, v in typed.items() if v}, **{k: v for k, v in extra.items() if v is not None}})


@get("/audit", guards=[AUDIT_REPORTS], sync_to_thread=True, include_in_schema=False)
def audit_home(request: Request, db_session: DbSession) -> Template:
    viewer = principal_of(request)
    start, end = reports.quarter_range(dt.date.today())
    flt = reports.ReportFilter(date_from=start, date_to=end)
    figures = transact(db_session, lambda: reports.at_a_glance(db_session, viewer, _secret(request), flt))
    return page("audit/home.html", nav_current="audit", figures=figures,
                quarter={"from": start.isoformat(), "to": end.isoformat()})


@get("/audit/plans", guards=[AUDIT_REPORTS], sync_to_thread=True, include_in_schema=False)
def audit_plans(request: Request, db_session: DbSession, page_number: FromQuery[int] = 1) -> Template:
    viewer = principal_of(request)
    typed, flt, errors = _filter_form(request)
    page_number = max(1, min(page_number, 100_000))

    def work() -> dict[str, Any]:
        context = _filter_context(db_session, request)
        if flt is not None:
            context["result"] = reports.checklists(db_session, viewer, _secret(request), flt, limit=PAGE_SIZE,
                                                   offset=(page_number - 1) * PAGE_SIZE)
        return context

    context = transact(db_session, work)
    return page("audit/plans.html", status_code=422 if errors else 200, nav_current="audit", typed=typed,
                errors=errors, page_number=page_number, page_size=PAGE_SIZE, query=_query(typed), **context)


@get("/audit/checklist", guards=[AUDIT_REPORTS], sync_to_thread=True, include_in_schema=False)
def audit_plan(request: Request, db_session: DbSession, plan: FromQuery[str] = "") -> Template | Redirect:
    """One plan's checklist, by its reference (?plan=P-…: an auditor reaches every plan by
    reference, so it is a query, not a record path scoped to a caseload)."""
    viewer = principal_of(request)
    ref = plan.strip()[:20]
    if not ref:
        return Redirect(path="/audit/plans", status_code=302)
    plan = transact(db_session, lambda: reports.plan_checklist(db_session, viewer, _secret(request), ref))
    return page("audit/plan.html", nav_current="audit", plan=plan, STATUS_WORDS=reports.STATUS_WORDS)


@get("/audit/service", guards=[AUDIT_REPORTS], sync_to_thread=True, include_in_schema=False)
def audit_service(request: Request, db_session: DbSession) -> Template:
    viewer = principal_of(request)
    typed, flt, errors = _filter_form(request)

    def work() -> dict[str, Any]:
        context = _filter_context(db_session, request)
        if flt is not None:
            figures = reports.service_figures(db_session, viewer, _secret(request), flt)
            context["figures"] = figures
            context["charts"] = {
                "information": reports.chart_bars(figures["options"], "name", "information_given"),
                "preferred": reports.chart_bars(figures["options"], "name", "preferred"),
                "chosen": reports.chart_bars(figures["options"], "name", "chosen"),
                "categories": reports.chart_bars(
                    [{"name": c["category"].replace("_", " ").capitalize(), "people": c["people"]}
                     for c in figures["information_by_category"]], "name", "people"),
            }
        return context

    context = transact(db_session, work)
    return page("audit/service.html", status_code=422 if errors else 200, nav_current="audit", typed=typed,
                errors=errors, query=_query(typed), **context)


@get("/audit/sample", guards=[AUDIT_REPORTS], sync_to_thread=True, include_in_schema=False)
def audit_sample(request: Request, db_session: DbSession) -> Template:
    viewer = principal_of(request)
    q = request.query_params
    typed = {"n": (q.get("n") or "").strip()[:6], "seed": (q.get("seed") or "").strip()[:20]}
    errors = Errors()
    result = None
    if typed["n"]:
        try:
            n = int(typed["n"])
        except ValueError:
            errors.add("n", "Give the number of plans as a whole number, for example 10.")
        seed: int | None = None
        if typed["seed"]:
            try:
                seed = int(typed["seed"])
            except ValueError:
                errors.add("seed", "The seed is a whole number, for example 48213.")
        if not errors:
            try:
                result = transact(db_session, lambda: reports.sample(db_session, viewer, _secret(request), n, seed))
            except InvalidInput as exc:
                _add(errors, exc)
    return page("audit/sample.html", status_code=422 if errors else 200, nav_current="audit", typed=typed,
                errors=errors, result=result, max_sample=reports.MAX_SAMPLE)


@get("/audit/feedback", guards=[AUDIT_REPORTS], sync_to_thread=True, include_in_schema=False)
def audit_feedback(request: Request, db_session: DbSession) -> Template:
    viewer = principal_of(request)
    typed, flt, errors = _filter_form(request)
    result = None
    if flt is not None:
        result = transact(db_session, lambda: reports.feedback_totals(db_session, viewer, flt.date_from, flt.date_to))
    return page("audit/feedback.html", status_code=422 if errors else 200, nav_current="audit", typed=typed,
                errors=errors, result=result)


@get("/audit/ndtms", guards=[AUDIT_NDTMS], sync_to_thread=True, include_in_schema=False)
def audit_ndtms(request: Request) -> Template:
    """Choose the period (last month unless given) and download the return's dates."""
    q = request.query_params
    start, end = ndtms.last_month(dt.date.today())
    typed = {"from": (q.get("from") or start.isoformat()).strip()[:10],
             "to": (q.get("to") or end.isoformat()).strip()[:10]}
    errors = Errors()
    period = None
    try:
        flt = reports.make_filter(typed["from"], typed["to"])
        ndtms.check_range(flt.date_from, flt.date_to)
        period = {"from": typed["from"], "to": typed["to"]}
    except InvalidInput as exc:
        _add(errors, exc)
    return page("audit/ndtms.html", status_code=422 if errors else 200, nav_current="audit", typed=typed,
                errors=errors, period=period)


@get("/audit/log", guards=[AUDIT_EVENTS], sync_to_thread=True, include_in_schema=False)
def audit_log(request: Request, db_session: DbSession, after: FromQuery[int] = 0, plan: FromQuery[str | None] = None) -> Template:
    viewer = principal_of(request)
    plan = (plan or "").strip()[:20] or None
    after = max(0, min(after, 2**62))
    errors = Errors()
    result: dict[str, Any] = {"items": [], "next_after": after}
    try:
        result = transact(db_session, lambda: queries.audit_events(db_session, viewer, _secret(request),
                                                                   plan_ref=plan, after=after, limit=PAGE_SIZE))
    except InvalidInput as exc:
        errors.add("plan", exc.detail)
    return page("audit/log.html", status_code=422 if errors else 200, nav_current="audit", result=result,
                plan=plan or "", after=after, errors=errors, page_size=PAGE_SIZE)


@get("/audit/verify", guards=[AUDIT_VERIFY], sync_to_thread=True, include_in_schema=False)
def audit_verify(request: Request, db_session: DbSession) -> Template:
    result = transact(db_session, lambda: audit.verify(db_session)).as_dict()
    return page("audit/verify.html", nav_current="audit", result=result)


# --- "was I heard?" ------------------------------------------------------------------------------------

@get("/plans/{plan_id:str}/was-i-heard", guards=[FEEDBACK_GIVE], sync_to_thread=True, include_in_schema=False)
def heard_form(request: Request, db_session: DbSession, plan_id: FromPath[str]) -> Template:
    viewer = principal_of(request)
    invite = transact(db_session, lambda: feedback.invitation(db_session, viewer, plan_id))
    return page("feedback/ask.html", nav_current="my-plan", plan_id=plan_id, invite=invite, errors=Errors(),
                typed={}, questions=reports.FEEDBACK_QUESTIONS)


@post("/plans/{plan_id:str}/was-i-heard", guards=[FEEDBACK_GIVE], sync_to_thread=True, include_in_schema=False)
def heard_submit(request: Request, db_session: DbSession, plan_id: FromPath[str], data: FormData) -> Template | Redirect:
    viewer = principal_of(request)
    skip = text(data, "action") == "skip"
    typed = {q: text(data, q) for q, _ in reports.FEEDBACK_QUESTIONS}
    typed["comment"] = text(data, "comment")
    typed["pass_on"] = "yes" if text(data, "pass_on") == "yes" else ""
    errors = Errors()
    try:
        transact(db_session, lambda: feedback.give(db_session, viewer, plan_id,
                                                   {**typed, "pass_on": typed["pass_on"] == "yes"}, skip=skip))
    except InvalidInput as exc:
        _add(errors, exc)
    except DomainError as exc:
        if getattr(exc, "status_hint", 0) != 409:
            raise
        return see_other("/my-plan?saved=feedback")
    if errors:
        invite = transact(db_session, lambda: feedback.invitation(db_session, viewer, plan_id))
        return page("feedback/ask.html", status_code=422, nav_current="my-plan", plan_id=plan_id, invite=invite,
                    errors=errors, typed=typed, questions=reports.FEEDBACK_QUESTIONS)
    return see_other("/my-plan?saved=" + ("feedback-skipped" if skip else "feedback"))


@get("/plans/{plan_id:str}/feedback", guards=[FEEDBACK_READ], sync_to_thread=True, include_in_schema=False)
def heard_answers(request: Request, db_session: DbSession, plan_id: FromPath[str]) -> Template:
    viewer = principal_of(request)

    def work() -> dict[str, Any]:
        items = feedback.for_plan(db_session, viewer, plan_id)
        context = load_plan(db_session, viewer, plan_id, audited=False)
        return {"items": items, "plan": context["plan"], "people": context["people"]}

    context = transact(db_session, work)
    return page("feedback/answers.html", nav_current="my-plan" if viewer.role == "client" else "caseload",
                questions=reports.FEEDBACK_QUESTIONS, **context)


ROUTES: list = [audit_home, audit_plans, audit_plan, audit_service, audit_sample, audit_feedback, audit_ndtms,
                audit_log, audit_verify, heard_form, heard_submit, heard_answers]
