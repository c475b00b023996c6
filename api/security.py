"""Sessions, CSRF, origin checks and role guards.

- Sessions are server-side rows (advanced-alchemy's backend), shared by every app
  process. Litestar reuses a session id the browser sends; at login we issue a new
  one (session fixation), see RotatingSessionBackend.
- CSRF is Litestar's double-submit middleware, applied whenever the request carries
  a session cookie; a request without one has no session to ride on and is refused
  by authentication instead (401, per the API contract).
- Guards (api/guards.py) ask careplans.policy who may call each route; which records
  they reach is checked inside each query.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from advanced_alchemy.extensions.litestar import SQLAlchemySyncConfig
from advanced_alchemy.extensions.litestar.session import SQLAlchemySyncSessionBackend
from advanced_alchemy.utils.sync_tools import async_
from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.exceptions import PermissionDeniedException
from litestar.middleware import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware, generate_csrf_token
from litestar.middleware.session import SessionMiddleware
from litestar.middleware.session.server_side import ServerSideSessionConfig
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from api.session_model import UserSession
from careplans.models import User
from careplans.policy import Principal
from careplans.services.accounts import get_active_user

SESSION_COOKIE = "careplans_session"
CSRF_COOKIE = "careplans_csrf"
CSRF_HEADER = "x-csrf-token"
ROTATE_KEY = "careplans.new_session_id"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


# --- sessions ----------------------------------------------------------------------

class RotatingSessionBackend(SQLAlchemySyncSessionBackend):
    """advanced-alchemy's database session backend, plus a fresh id at login."""

    def get_session_id(self, connection: ASGIConnection) -> str:
        new_id = connection.scope.get(ROTATE_KEY)  # type: ignore[misc]
        return new_id or super().get_session_id(connection)

    async def store_in_message(self, scope_session: Any, message: Any, connection: ASGIConnection) -> None:
        if isinstance(scope_session, dict) and not scope_session and not connection.scope.get(ROTATE_KEY):  # type: ignore[misc]
            # Litestar stores an empty session ({} rather than Empty) as a new row with a
            # new cookie: every anonymous request would write to the database. Store
            # nothing; if a cookie came in, clear it and its row.
            presented = connection.cookies.get(self.config.key)
            if presented and presented != "null":
                from litestar.types.empty import Empty

                await super().store_in_message(Empty, message, connection)
            return
        if connection.scope.get(ROTATE_KEY):  # type: ignore[misc]
            old = connection.cookies.get(self.config.key)
            if old and old != "null":
                await self.delete(old, store=None)  # type: ignore[arg-type]
        await super().store_in_message(scope_session, message, connection)


@dataclass
class DatabaseSessionConfig(ServerSideSessionConfig):
    alchemy: SQLAlchemySyncConfig | None = field(default=None)

    @property
    def _backend_class(self):  # type: ignore[override]
        # SessionAuth builds its backend as `config._backend_class(config=config)`.
        alchemy = self.alchemy

        def build(config: ServerSideSessionConfig) -> RotatingSessionBackend:
            return RotatingSessionBackend(config=config, alchemy_config=alchemy, model=UserSession)  # type: ignore[arg-type]

        return build

    @property
    def middleware(self) -> DefineMiddleware:
        return DefineMiddleware(SessionMiddleware, backend=self._backend_class(config=self))


def start_session(connection: ASGIConnection, user: User) -> None:
    """Log the user in on this connection under a new session id (never the one the browser sent).

    `started` is when: the session ends `session_max_hours` later however busy it is."""
    connection.scope[ROTATE_KEY] = secrets.token_hex(32)  # type: ignore[literal-required]
    connection.set_session({"user_id": str(user.id), "role": user.role, "started": int(time.time())})


def end_sessions_of(db: Session, user_id: str) -> int:
    """Delete every stored session of one account (after deactivation). Each request also loads
    the account and refuses an inactive one, so this only tidies: access ends either way."""
    ended = []
    for row_id, data in db.execute(select(UserSession.id, UserSession.data)).all():
        try:
            payload = json.loads(data)
        except (ValueError, TypeError):
            continue
        if isinstance(payload, dict) and payload.get("user_id") == str(user_id):
            ended.append(row_id)
    if ended:
        db.execute(delete(UserSession).where(UserSession.id.in_(ended)))
    return len(ended)


def make_retrieve_user(alchemy: SQLAlchemySyncConfig, max_age_seconds: int | None = None):
    def _load(user_id: str) -> Principal | None:
        with alchemy.get_session() as db:
            user = get_active_user(db, user_id)
            db.rollback()
            if user is None:
                return None
            return Principal(id=user.id, role=user.role, name=user.display_name)

    async def retrieve_user(session: dict[str, Any], connection: ASGIConnection) -> Principal | None:
        user_id = session.get("user_id")
        if not user_id:
            return None
        if max_age_seconds is not None:
            started = session.get("started")
            if not isinstance(started, int) or time.time() - started > max_age_seconds:
                return None  # past the absolute lifetime: log in again
        return await async_(_load)(user_id)

    return retrieve_user


# --- CSRF -----------------------------------------------------------------------------

class SessionCSRFMiddleware(CSRFMiddleware):
    """Litestar's CSRF check, for every unsafe request that carries a session cookie."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") in UNSAFE:
            cookies = ASGIConnection(scope).cookies
            session_cookie = cookies.get(SESSION_COOKIE)
            if not session_cookie or session_cookie == "null":
                await self.app(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def csrf_config(secret: str, secure: bool) -> CSRFConfig:
    return CSRFConfig(secret=secret, cookie_name=CSRF_COOKIE, header_name=CSRF_HEADER, cookie_secure=secure,
                      cookie_samesite="lax", exclude=["^/health$", "^/schema"])


def new_csrf_cookie(secret: str, secure: bool) -> tuple[str, Cookie]:
    token = generate_csrf_token(secret=secret)
    return token, Cookie(key=CSRF_COOKIE, value=token, path="/", secure=secure, httponly=False, samesite="lax")


# --- origin check -------------------------------------------------------------------------

DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_triple(value: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an origin or URL; None when it has no host (e.g. "null")."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = (parts.scheme or "").lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme]


class OriginCheckMiddleware:
    """Refuse cross-site unsafe requests (Sec-Fetch-Site / Origin), a second line behind CSRF.

    An Origin must match this request's own scheme, host and port, or one of the allowed
    origins (CAREPLANS_ALLOWED_ORIGINS); `Origin: null` (sandboxed frames, some redirects)
    is refused. Pages send Referrer-Policy: same-origin, so browsers send a real Origin.
    """

    def __init__(self, app: ASGIApp, allowed_hosts: tuple[str, ...], allowed_origins: tuple[str, ...] = ()) -> None:
        self.app = app
        self.allowed = {h.lower() for h in allowed_hosts}
        self.allowed_origins = {t for t in (origin_triple(o) for o in allowed_origins) if t}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") in UNSAFE:
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
            site = headers.get("sec-fetch-site")
            origin = headers.get("origin")
            bad = site is not None and site not in ("same-origin", "none")
            if origin is not None:
                claimed = origin_triple(origin)
                own = origin_triple(f"{scope.get('scheme', 'http')}://{headers.get('host', '')}")
                if claimed is None or (claimed != own and claimed not in self.allowed_origins):
                    bad = True
            if bad:
                raise PermissionDeniedException("Cross-site requests are not accepted.")
        await self.app(scope, receive, send)


# Guards (who may call a route) are in api/guards.py, decided by careplans.policy.


def parse_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


# --- cleanup ----------------------------------------------------------------------------

def start_cleanup(session_config: DatabaseSessionConfig, alchemy: SQLAlchemySyncConfig, minutes: int):
    """on_startup: every `minutes`, delete expired sessions and spent login delays.

    Runs in every app process without an operator; each delete is idempotent, so several
    processes doing it at once is harmless."""
    import asyncio
    import logging

    from careplans.services import throttle

    log = logging.getLogger("careplans")

    def delete_spent_throttles() -> int:
        with alchemy.get_session() as db:
            count = throttle.delete_expired(db)
            db.commit()
            return count

    async def start(app: Any) -> None:
        backend = session_config._backend_class(config=session_config)

        async def loop() -> None:
            while True:
                # Wait first: start-up is busy enough (and tests set up data then).
                await asyncio.sleep(max(minutes * 60, 1))
                try:
                    await backend.delete_expired()
                    await async_(delete_spent_throttles)()
                except Exception as exc:  # noqa: BLE001 - the database may be away; try next time
                    log.warning("session cleanup failed: %s", type(exc).__name__)

        app.state.cleanup_task = asyncio.create_task(loop())

    return start


async def stop_cleanup(app: Any) -> None:
    import asyncio
    import contextlib

    task = getattr(app.state, "cleanup_task", None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
