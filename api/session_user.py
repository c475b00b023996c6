"""Who a request's session belongs to: the user Litestar's session authentication hands the
routes (`make_retrieve_user`), decided by two rules that api/fast_read.py applies too."""

from __future__ import annotations

import time
from typing import Any

from advanced_alchemy.extensions.litestar import SQLAlchemySyncConfig
from advanced_alchemy.utils.sync_tools import async_
from litestar.connection import ASGIConnection

from api.security import PRINCIPAL_KEY
from careplans.policy import Principal
from careplans.services.accounts import get_active_user


def make_retrieve_user(alchemy: SQLAlchemySyncConfig, max_age_seconds: int | None = None):
    def _load(user_id: str) -> Principal | None:
        with alchemy.get_session() as db:
            user = get_active_user(db, user_id)
            db.rollback()
            if user is None:
                return None
            return Principal(id=user.id, role=user.role, name=user.display_name)

    async def retrieve_user(session: dict[str, Any], connection: ASGIConnection) -> Principal | None:
        if not session_in_time(session, max_age_seconds):
            return None
        if PRINCIPAL_KEY in connection.scope:  # read with the session (RotatingSessionBackend)
            return session_user(session, connection.scope[PRINCIPAL_KEY])  # type: ignore[literal-required]
        return await async_(_load)(session["user_id"])

    return retrieve_user


def session_in_time(session: dict[str, Any], max_age_seconds: int | None) -> bool:
    """Whether the session names a user and is within its absolute lifetime (`started`)."""
    if not session.get("user_id"):
        return False
    if max_age_seconds is not None:
        started = session.get("started")
        if not isinstance(started, int) or time.time() - started > max_age_seconds:
            return False  # past the absolute lifetime: log in again
    return True


def session_user(session: dict[str, Any], loaded: Principal | None) -> Principal | None:
    """The user read with the session row, if it is the one the session names."""
    return loaded if loaded is not None and str(loaded.id) == str(session["user_id"]) else None
