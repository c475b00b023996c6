"""Treatment choices, the option catalogue and prescribing review (JSON API). Routes in ROUTES."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, Response, get, post
from sqlalchemy.orm import Session

from api.deps import etag, if_match_version, transact
from api.guards import AUDIT_PRESCRIBING, CLINICIANS, OPTIONS, PRESCRIBING_QUEUE, READERS, WRITERS, principal_of
from api.schemas import AuditDecisions, DecisionList, OptionView, Queue, out, to_plain
from api.schemas_choices import ChoiceCreate, DecisionCreate
from careplans import queries
from careplans.present import ChoiceList, ChoiceResult, DecisionView
from careplans.services import choices, prescribing
from litestar.params import FromPath, JSONBody, QueryParameter
from api.deps import DbSession


def _unavailable(request: Request) -> frozenset[str]:
    return frozenset(request.app.state.settings.unavailable_options)


@get("/api/options", guards=[OPTIONS], sync_to_thread=False, tags=["choices"],
     summary="The treatment option catalogue, with what is not available locally")
def list_options(request: Request) -> list[OptionView]:
    return out(choices.list_options(_unavailable(request)), list[OptionView])


@get("/api/plans/{plan_id:str}/choices", guards=[READERS], sync_to_thread=True, tags=["choices"],
     summary="The treatment options ledger of a plan")
def list_choices(request: Request, db_session: DbSession, plan_id: FromPath[str]) -> Response[ChoiceList]:
    principal = principal_of(request)
    body = transact(db_session, lambda: choices.list_choices(db_session, principal, plan_id))
    return Response(body, headers=etag(body.plan_version))


@post("/api/plans/{plan_id:str}/choices", guards=[WRITERS], sync_to_thread=True, tags=["choices"],
      summary="Record one treatment option discussed (a ledger entry; If-Match required)")
def create_choice(request: Request, db_session: DbSession, plan_id: FromPath[str],
                  data: JSONBody[ChoiceCreate]) -> Response[ChoiceResult]:
    principal = principal_of(request)
    based_on = if_match_version(request)
    unavailable = _unavailable(request)
    result, entry = transact(db_session, lambda: choices.add_choice(
        db_session, principal, plan_id, based_on, to_plain(data), unavailable))
    return Response(entry, status_code=201, headers=etag(result.version))


@get("/api/prescribing/queue", guards=[PRESCRIBING_QUEUE], sync_to_thread=True, tags=["prescribing"],
     summary="Plans waiting for a prescribing review, oldest first")
def prescribing_queue(request: Request, db_session: DbSession) -> Queue:
    principal = principal_of(request)
    return out({"items": transact(db_session, lambda: prescribing.queue(db_session, principal))}, Queue)


@get("/api/plans/{plan_id:str}/prescribing", guards=[READERS], sync_to_thread=True, tags=["prescribing"],
     summary="Prescribing decisions about a plan, latest first")
def list_decisions(request: Request, db_session: DbSession, plan_id: FromPath[str]) -> DecisionList:
    principal = principal_of(request)
    plan = transact(db_session, lambda: queries.read_plan(db_session, principal, plan_id))
    return DecisionList(items=plan.prescribing, plan_version=plan.version)


@post("/api/plans/{plan_id:str}/prescribing", guards=[CLINICIANS], sync_to_thread=True, tags=["prescribing"],
      summary="Record a prescribing decision about an exact plan version")
def create_decision(request: Request, db_session: DbSession, plan_id: FromPath[str],
                    data: JSONBody[DecisionCreate]) -> Response[DecisionView]:
    principal = principal_of(request)
    body = to_plain(data)
    decision = transact(db_session, lambda: prescribing.decide(db_session, principal, plan_id, body))
    return Response(decision, status_code=201, headers=etag(decision.plan_version))


@get("/api/audit/prescribing", guards=[AUDIT_PRESCRIBING], sync_to_thread=True, tags=["audit"],
     summary="Prescribing decisions, pseudonymised")
def audit_prescribing(
    request: Request,
    db_session: DbSession,
    after: Annotated[int, QueryParameter(ge=0, le=2**31 - 1)] = 0,
    limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 200,
) -> AuditDecisions:
    principal = principal_of(request)
    secret = request.app.state.settings.secret_key
    return out(transact(db_session, lambda: prescribing.audit_decisions(db_session, principal, secret, after, limit)),
               AuditDecisions)


ROUTES: list = [list_options, list_choices, create_choice, prescribing_queue, list_decisions, create_decision,
                audit_prescribing]
