"""Treatment choices, the option catalogue and prescribing review (JSON API). Routes in ROUTES."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, Response, get, post
from litestar.params import Parameter
from sqlalchemy.orm import Session

from api.deps import etag, if_match_version, transact
from api.schemas import to_plain
from api.schemas_choices import ChoiceCreate, DecisionCreate
from api.security import roles, viewer_of
from careplans.services import choices, prescribing

ANYONE = roles("client", "keyworker", "clinician", "auditor", "admin")
READERS = roles("client", "keyworker", "clinician")
WRITERS = roles("client", "keyworker")
CLINICIANS = roles("clinician")


def _unavailable(request: Request) -> frozenset[str]:
    return frozenset(request.app.state.settings.unavailable_options)


@get("/api/options", guards=[ANYONE], sync_to_thread=False, tags=["choices"],
     summary="The treatment option catalogue, with what is not available locally")
def list_options(request: Request) -> list[dict]:
    return choices.list_options(_unavailable(request))


@get("/api/plans/{plan_id:str}/choices", guards=[READERS], sync_to_thread=True, tags=["choices"],
     summary="The treatment options ledger of a plan")
def list_choices(request: Request, db_session: Session, plan_id: str) -> Response[dict]:
    viewer = viewer_of(request)
    body = transact(db_session, lambda: choices.list_choices(db_session, viewer, plan_id))
    return Response(body, headers=etag(body["plan_version"]))


@post("/api/plans/{plan_id:str}/choices", guards=[WRITERS], sync_to_thread=True, tags=["choices"],
      summary="Record one treatment option discussed (a ledger entry; If-Match required)")
def create_choice(request: Request, db_session: Session, plan_id: str, data: ChoiceCreate) -> Response[dict]:
    viewer = viewer_of(request)
    based_on = if_match_version(request)
    unavailable = _unavailable(request)
    result, entry = transact(db_session, lambda: choices.add_choice(
        db_session, viewer, plan_id, based_on, to_plain(data), unavailable))
    return Response({**entry, "plan_version": result.version}, status_code=201, headers=etag(result.version))


@get("/api/prescribing/queue", guards=[CLINICIANS], sync_to_thread=True, tags=["prescribing"],
     summary="Plans waiting for a prescribing review, oldest first")
def prescribing_queue(request: Request, db_session: Session) -> dict:
    viewer = viewer_of(request)
    return {"items": transact(db_session, lambda: prescribing.queue(db_session, viewer))}


@get("/api/plans/{plan_id:str}/prescribing", guards=[READERS], sync_to_thread=True, tags=["prescribing"],
     summary="Prescribing decisions about a plan, latest first")
def list_decisions(request: Request, db_session: Session, plan_id: str) -> dict:
    from careplans.services.plans import read_plan

    viewer = viewer_of(request)
    plan = transact(db_session, lambda: read_plan(db_session, viewer, plan_id))
    return {"items": plan["prescribing"], "plan_version": plan["version"]}


@post("/api/plans/{plan_id:str}/prescribing", guards=[CLINICIANS], sync_to_thread=True, tags=["prescribing"],
      summary="Record a prescribing decision about an exact plan version")
def create_decision(request: Request, db_session: Session, plan_id: str, data: DecisionCreate) -> Response[dict]:
    viewer = viewer_of(request)
    body = to_plain(data)
    decision = transact(db_session, lambda: prescribing.decide(db_session, viewer, plan_id, body))
    return Response(decision, status_code=201, headers=etag(decision["plan_version"]))


@get("/api/audit/prescribing", guards=[roles("auditor")], sync_to_thread=True, tags=["audit"],
     summary="Prescribing decisions, pseudonymised")
def audit_prescribing(
    request: Request,
    db_session: Session,
    after: Annotated[int, Parameter(ge=0)] = 0,
    limit: Annotated[int, Parameter(ge=1, le=1000)] = 200,
) -> dict:
    viewer = viewer_of(request)
    secret = request.app.state.settings.secret_key
    return transact(db_session, lambda: prescribing.audit_decisions(db_session, viewer, secret, after, limit))


ROUTES: list = [list_options, list_choices, create_choice, prescribing_queue, list_decisions, create_decision,
                audit_prescribing]
