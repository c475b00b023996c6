"""Clients and starting a plan."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, Response, get, post
from litestar.params import Parameter
from sqlalchemy.orm import Session

from api.deps import etag, transact
from api.schemas import ClientCreate
from api.security import roles, viewer_of
from careplans.services import clients, plans

STAFF_READ = roles("keyworker", "clinician", "admin")
SCOPED = roles("client", "keyworker", "clinician", "admin")


@get("/api/clients", guards=[STAFF_READ], sync_to_thread=True, tags=["clients"], summary="My caseload")
def list_clients(
    request: Request,
    db_session: Session,
    limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
    offset: Annotated[int, Parameter(ge=0)] = 0,
) -> dict:
    viewer = viewer_of(request)
    return transact(db_session, lambda: clients.list_clients(db_session, viewer, limit, offset))


@post("/api/clients", guards=[roles("keyworker", "admin")], sync_to_thread=True, tags=["clients"],
      summary="Add a client")
def create_client(request: Request, db_session: Session, data: ClientCreate) -> Response[dict]:
    viewer = viewer_of(request)
    view = transact(db_session, lambda: clients.create_client(
        db_session, viewer, preferred_name=data.preferred_name, date_of_birth=data.date_of_birth,
        pronouns=data.pronouns, nhs_number=data.nhs_number, keyworker_id=data.keyworker_id))
    return Response(view, status_code=201)


@get("/api/clients/{client_id:str}", guards=[SCOPED], sync_to_thread=True, tags=["clients"],
     summary="One client")
def get_client(request: Request, db_session: Session, client_id: str) -> dict:
    viewer = viewer_of(request)
    return transact(db_session, lambda: clients.get_client(db_session, viewer, client_id))


@post("/api/clients/{client_id:str}/plans", guards=[roles("keyworker")], sync_to_thread=True, tags=["plans"],
      summary="Start the client's plan")
def create_plan(request: Request, db_session: Session, client_id: str) -> Response[dict]:
    viewer = viewer_of(request)
    view = transact(db_session, lambda: plans.create_plan(db_session, viewer, client_id))
    return Response(view, status_code=201, headers=etag(view["version"]))
