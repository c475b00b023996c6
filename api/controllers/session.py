"""Logging in and out, and who am I."""

from __future__ import annotations

from litestar import Request, Response, delete, get, post
from sqlalchemy.orm import Session

from api.deps import transact
from api.guards import SIGNED_IN, principal_of
from api.schemas import Health, LoginRequest, LoginResult, Me
from api.security import start_session
from careplans.services import accounts
from litestar.params import JSONBody
from api.deps import DbSession


def me_view(user_id, username: str | None, role: str, display_name: str) -> Me:
    return Me(id=str(user_id), username=username, role=role, display_name=display_name)


@post("/api/session", sync_to_thread=True, exclude_from_auth=True, exclude_from_csrf=True, tags=["session"], status_code=200,
      summary="Log in")
def login(request: Request, db_session: DbSession, data: JSONBody[LoginRequest]) -> Response[LoginResult]:
    user = transact(db_session, lambda: accounts.authenticate(
        db_session, data.username, data.password, address=request.client.host if request.client else None))
    token = start_session(request, user)  # the CSRF cookie for the new session is set by api.csrf
    body = LoginResult(user=me_view(user.id, user.username, user.role, user.display_name), csrf_token=token)
    return Response(body, status_code=200)


@delete("/api/session", guards=[SIGNED_IN], status_code=204, tags=["session"], summary="Log out")
async def logout(request: Request) -> None:
    request.clear_session()


@get("/api/me", guards=[SIGNED_IN], sync_to_thread=True, tags=["session"], summary="Who is logged in")
def me(request: Request, db_session: DbSession) -> Me:
    viewer = principal_of(request)
    from sqlalchemy import select

    from careplans.models import User

    from careplans.models import Client, Plan

    def work():
        username = db_session.execute(select(User.username).where(User.id == viewer.id)).scalar_one_or_none()
        own = db_session.execute(select(Client.id, Plan.id).outerjoin(Plan, Plan.client_id == Client.id)
                                 .where(Client.user_id == viewer.id)).first()
        return username, own

    username, own = transact(db_session, work)
    me = me_view(viewer.id, username, viewer.role, viewer.name)
    if own is not None:
        me.client_id = str(own[0])
        me.plan_id = str(own[1]) if own[1] else None
    return me


@get("/health", exclude_from_auth=True, sync_to_thread=True, tags=["health"], summary="Database answers")
def health(db_session: DbSession) -> Response[Health]:
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    try:
        transact(db_session, lambda: db_session.execute(text("SELECT 1")))
    except SQLAlchemyError:
        return Response(Health(status="unavailable"), status_code=503)
    return Response(Health(status="ok"))


@get("/health/live", exclude_from_auth=True, tags=["health"], summary="The process answers (no database)")
async def live() -> Health:
    return Health(status="ok")
