"""Administrators: let a person try to log in again now (clear their login delays).

JSON: POST /api/staff/unlock {"username": ...}. Page: GET/POST /admin/unlock. Who may is the
policy's `staff.unlock`; the work is careplans.services.accounts.unlock (audited).
"""

from __future__ import annotations

from typing import Annotated

from litestar import Request, post, get
from litestar.params import JSONBody
from litestar.response import Template
from msgspec import Meta, Struct

from api.controllers.pages_common import page
from api.deps import DbSession, transact
from api.forms import Errors, FormData, text
from api.guards import STAFF_UNLOCK, principal_of
from careplans.audit import Actor
from careplans.errors import NotFound
from careplans.services import accounts


class UnlockRequest(Struct, forbid_unknown_fields=True, kw_only=True):
    username: Annotated[str, Meta(min_length=1, max_length=64)]


class UnlockResult(Struct, kw_only=True):
    username: str
    cleared: int


def _actor(request: Request) -> Actor:
    viewer = principal_of(request)
    return Actor(str(viewer.id), viewer.role)


@post("/api/staff/unlock", guards=[STAFF_UNLOCK], sync_to_thread=True, status_code=200, tags=["accounts"],
      summary="Clear a person's login delays so they can try again now")
def unlock_api(request: Request, db_session: DbSession, data: JSONBody[UnlockRequest]) -> UnlockResult:
    actor = _actor(request)
    cleared = transact(db_session, lambda: accounts.unlock(db_session, actor, data.username))
    return UnlockResult(username=data.username, cleared=cleared)


@get("/admin/unlock", guards=[STAFF_UNLOCK], sync_to_thread=False, include_in_schema=False)
def unlock_page() -> Template:
    return page("admin/unlock.html", nav_current="home", errors=Errors(), username="", done=None)


@post("/admin/unlock", guards=[STAFF_UNLOCK], sync_to_thread=True, include_in_schema=False)
def unlock_submit(request: Request, db_session: DbSession, data: FormData) -> Template:
    username = text(data, "username").strip()
    errors = Errors()
    if not username:
        errors.add("username", "Enter the username of the person who cannot log in.")
    elif len(username) > 64:
        errors.add("username", "Usernames are 64 characters or fewer.")
    if not errors:
        actor = _actor(request)
        try:
            transact(db_session, lambda: accounts.unlock(db_session, actor, username))
        except NotFound as exc:
            errors.add("username", exc.detail)
        else:
            return page("admin/unlock.html", nav_current="home", errors=Errors(), username="", done=username)
    return page("admin/unlock.html", status_code=422, nav_current="home", errors=errors, username=username,
                done=None)


ROUTES = [unlock_api, unlock_page, unlock_submit]
