"""Assurance reports (JSON API): the choice report (JSON or CSV), the case-file sample,
"was I heard?" totals for auditors, and the client's own "was I heard?" answers.

Thin handlers: the figures are computed by careplans.reports (SQL aggregation,
pseudonymised by what it selects); every read is audited there.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from litestar import Request, Response, get, post
from msgspec import Meta
from sqlalchemy.orm import Session

from api.deps import transact
from api.guards import AUDIT_REPORTS, FEEDBACK_GIVE, FEEDBACK_READ, principal_of
from api.schemas import Input, to_plain
from careplans import reports
from careplans.services import feedback
from litestar.params import FromPath, JSONBody, QueryParameter, Parameter
from api.deps import DbSession

Score = Annotated[int, Meta(ge=1, le=5)]
DateText = Annotated[str, Parameter(max_length=10, description="a date, YYYY-MM-DD")]


class FeedbackCreate(Input):
    """"Was I heard?": every answer optional (1 = not at all, 5 = completely)."""

    listened: Score | None = None
    options_explained: Score | None = None
    plan_is_mine: Score | None = None
    comment: Annotated[str, Meta(max_length=feedback.COMMENT_MAX)] | None = None
    pass_on: bool = False
    skip: bool = False


def _secret(request: Request) -> str:
    return request.app.state.settings.secret_key


def _filter(date_from: str | None, date_to: str | None, keyworker: str | None,
            option: str | None) -> reports.ReportFilter:
    return reports.make_filter(date_from, date_to, keyworker, option)


@get("/api/audit/choice-report", guards=[AUDIT_REPORTS], sync_to_thread=True, tags=["audit"],
     summary="Was a real choice offered? Per-plan checklists (pseudonymised) and service totals; ?format=csv")
def choice_report(
    request: Request,
    db_session: DbSession,
    date_from: Annotated[str | None, QueryParameter(name="from", max_length=10)] = None,
    date_to: Annotated[str | None, QueryParameter(name="to", max_length=10)] = None,
    keyworker: Annotated[str | None, QueryParameter(max_length=20, description="worker reference, S-…")] = None,
    option: Annotated[str | None, QueryParameter(max_length=40)] = None,
    plan: Annotated[str | None, QueryParameter(max_length=20, description="one plan's reference, P-…")] = None,
    format: Annotated[Literal["json", "csv"], QueryParameter()] = "json",  # noqa: A002 - the query parameter
    limit: Annotated[int, QueryParameter(ge=1, le=5000)] = 500,
    offset: Annotated[int, QueryParameter(ge=0)] = 0,
) -> Response[Any]:
    principal = principal_of(request)
    secret = _secret(request)

    def work() -> Any:
        flt = _filter(date_from, date_to, keyworker, option)
        if format == "csv":
            return reports.choice_report_csv(db_session, principal, secret, flt)
        if plan is not None:
            return {"plans": [reports.plan_checklist(db_session, principal, secret, plan)],
                    "totals": None, "total_plans": 1, "offset": 0, "next_offset": None}
        return reports.choice_report(db_session, principal, secret, flt, limit=limit, offset=offset)

    body = transact(db_session, work)
    if format == "csv":
        name = f"choice-report-{dt.date.today().isoformat()}.csv"
        return Response(body, media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return Response(body)


@get("/api/audit/sample", guards=[AUDIT_REPORTS], sync_to_thread=True, tags=["audit"],
     summary="A reproducible random sample of plan references (the seed is returned and audited)")
def sample(
    request: Request,
    db_session: DbSession,
    n: Annotated[int, QueryParameter(ge=1, le=reports.MAX_SAMPLE)] = 10,
    seed: Annotated[int | None, QueryParameter(ge=0, le=2**63 - 1)] = None,
) -> dict[str, Any]:
    principal = principal_of(request)
    return transact(db_session, lambda: reports.sample(db_session, principal, _secret(request), n, seed))


@get("/api/audit/feedback", guards=[AUDIT_REPORTS], sync_to_thread=True, tags=["audit"],
     summary="Was I heard? Totals per quarter and question, withheld below 5 answers")
def feedback_totals(
    request: Request,
    db_session: DbSession,
    date_from: Annotated[str | None, QueryParameter(name="from", max_length=10)] = None,
    date_to: Annotated[str | None, QueryParameter(name="to", max_length=10)] = None,
) -> dict[str, Any]:
    principal = principal_of(request)

    def work() -> dict[str, Any]:
        flt = _filter(date_from, date_to, None, None)
        return reports.feedback_totals(db_session, principal, flt.date_from, flt.date_to)

    return transact(db_session, work)


@post("/api/plans/{plan_id:str}/feedback", guards=[FEEDBACK_GIVE], sync_to_thread=True, tags=["audit"],
      summary="Was I heard? The client's optional answers after signing their plan (or a skip)")
def give_feedback(request: Request, db_session: DbSession, plan_id: FromPath[str], data: JSONBody[FeedbackCreate]) -> Response[Any]:
    principal = principal_of(request)
    body = to_plain(data)
    result = transact(db_session, lambda: feedback.give(db_session, principal, plan_id, body,
                                                        skip=bool(body.get("skip"))))
    return Response(result, status_code=201)


@get("/api/plans/{plan_id:str}/feedback", guards=[FEEDBACK_READ], sync_to_thread=True, tags=["audit"],
     summary="Was I heard? The client's answers about this plan (client and keyworker only)")
def list_feedback(request: Request, db_session: DbSession, plan_id: FromPath[str]) -> dict[str, Any]:
    principal = principal_of(request)
    return {"items": transact(db_session, lambda: feedback.for_plan(db_session, principal, plan_id))}


ROUTES: list = [choice_report, sample, feedback_totals, give_feedback, list_feedback]
