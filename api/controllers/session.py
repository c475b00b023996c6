"""Logging in and out, and who am I."""

from __future__ import annotations

from litestar import Request, Response, delete, get, post
from sqlalchemy.orm import Session

from api.deps import transact
from api.schemas import LoginRequest
from api.security import new_csrf_cookie, roles, start_session, viewer_of
from careplans.services import accounts

ANY_ROLE = roles("client", "keyworker", "clinician", "auditor", "admin")


def me_view(user_id, username: str | None, role: str, display_name: str) -> dict:
    return {"id": str(user_id), "username": username, "role": role, "display_name": display_name}


@post("/api/session", sync_to_thread=True, exclude_from_auth=True, exclude_from_csrf=True, tags=["session"],
      summary="Log in")
def login(request: Request, db_session: Session, data: LoginRequest) -> Response[dict]:
    user = transact(db_session, lambda: accounts.authenticate(db_session, data.username, data.password))
    start_session(request, user)
    settings = request.app.state.settings
    token, cookie = new_csrf_cookie(settings.secret_key, settings.secure_cookies)
    body = {"user": me_view(user.id, user.username, user.role, user.display_name), "csrf_token": token}
    return Response(body, status_code=200, cookies=[cookie])


@delete("/api/session", guards=[ANY_ROLE], status_code=204, tags=["session"], summary="Log out")
async def logout(request: Request) -> None:
    request.clear_session()


@get("/api/me", guards=[ANY_ROLE], sync_to_thread=True, tags=["session"], summary="Who is logged in")
def me(request: Request, db_session: Session) -> dict:
    viewer = viewer_of(request)
    from sqlalchemy import select

    from careplans.models import User

    username = transact(db_session, lambda: db_session.execute(
        select(User.username).where(User.id == viewer.id)).scalar_one_or_none())
    return me_view(viewer.id, username, viewer.role, viewer.name)


@get("/health", exclude_from_auth=True, sync_to_thread=True, tags=["health"], summary="Database answers")
def health(db_session: Session) -> Response[dict]:
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    try:
        transact(db_session, lambda: db_session.execute(text("SELECT 1")))
    except SQLAlchemyError:
        return Response({"status": "unavailable"}, status_code=503)
    return Response({"status": "ok"})


@get("/health/live", exclude_from_auth=True, tags=["health"], summary="The process answers (no database)")
async def live() -> dict:
    return {"status": "ok"}
