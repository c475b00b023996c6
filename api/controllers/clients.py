"""Clients and starting a plan."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, Response, get, post
from sqlalchemy.orm import Session

from api.deps import etag, transact
from api.guards import CLIENTS_CREATE, CLIENTS_LIST, CLIENTS_READ, PLAN_CREATE, principal_of
from api.schemas import ClientCreate, ClientList, ClientView, out
from careplans import commands
from careplans.present import PlanView
from careplans.services import clients
from litestar.params import FromPath, JSONBody, QueryParameter
from api.deps import DbSession


@get("/api/clients", guards=[CLIENTS_LIST], sync_to_thread=True, tags=["clients"], summary="My caseload")
def list_clients(
    request: Request,
    db_session: DbSession,
    limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    offset: Annotated[int, QueryParameter(ge=0, le=2**31 - 1)] = 0,
) -> ClientList:
    principal = principal_of(request)
    return out(transact(db_session, lambda: clients.list_clients(db_session, principal, limit, offset)), ClientList)


@post("/api/clients", guards=[CLIENTS_CREATE], sync_to_thread=True, tags=["clients"],
      summary="Add a client")
def create_client(request: Request, db_session: DbSession, data: JSONBody[ClientCreate]) -> Response[ClientView]:
    principal = principal_of(request)
    view = transact(db_session, lambda: clients.create_client(
        db_session, principal, preferred_name=data.preferred_name, date_of_birth=data.date_of_birth,
        pronouns=data.pronouns, nhs_number=data.nhs_number, keyworker_id=data.keyworker_id))
    return Response(out(view, ClientView), status_code=201)


@get("/api/clients/{client_id:str}", guards=[CLIENTS_READ], sync_to_thread=True, tags=["clients"],
     summary="One client")
def get_client(request: Request, db_session: DbSession, client_id: FromPath[str]) -> ClientView:
    principal = principal_of(request)
    return out(transact(db_session, lambda: clients.get_client(db_session, principal, client_id)), ClientView)


@post("/api/clients/{client_id:str}/plans", guards=[PLAN_CREATE], sync_to_thread=True, tags=["plans"],
      summary="Start the client's plan")
def create_plan(request: Request, db_session: DbSession, client_id: FromPath[str]) -> Response[PlanView]:
    principal = principal_of(request)
    view = transact(db_session, lambda: commands.create_plan(db_session, principal, client_id))
    return Response(view, status_code=201, headers=etag(view.version))
