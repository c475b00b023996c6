"""Sessions, CSRF, origin checks and role guards.

- Sessions are server-side rows (advanced-alchemy's backend), shared by every app
  process. Litestar reuses a session id the browser sends; at login we issue a new
  one (session fixation), see RotatingSessionBackend.
- Host and Origin checks are api/origin.py.
- CSRF is Litestar's double-submit middleware with the token bound to the session and
  rotated at login (api/csrf.py), applied whenever the request carries a session cookie;
  a request without one has no session to ride on and is refused by authentication
  instead (401, per the API contract).
- Guards (api/guards.py) ask careplans.policy who may call each route; which records
  they reach is checked inside each query.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple

from advanced_alchemy.extensions.litestar import SQLAlchemySyncConfig
from advanced_alchemy.extensions.litestar._utils import _SCOPE_NAMESPACE as _AA_NAMESPACE, get_aa_scope_state
from advanced_alchemy.extensions.litestar.plugins.init.config.common import SESSION_SCOPE_KEY
from advanced_alchemy.extensions.litestar.session import SQLAlchemySyncSessionBackend
from advanced_alchemy.utils.sync_tools import async_
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.middleware import DefineMiddleware
from litestar.middleware.session import SessionMiddleware
from litestar.middleware.session.server_side import ServerSideSessionConfig
from litestar.types import Receive, Scope, Send
from sqlalchemy import and_, bindparam, delete, select, update
from sqlalchemy.orm import Session

from careplans import pg_async, rawsql
from careplans.db import reads_inline

from api.csrf import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE, issue_for_login  # noqa: F401 - re-exported
from api.session_model import UserSession
from careplans.models import User
from careplans.policy import Principal

# Session id -> its user, as this process has seen (a session's user never changes): the
# next read of that session joins the user to the session row (see _first_statement).
# Shared by every route's middleware instance; cleared whole when full.
_KNOWN_USERS: dict[str, uuid.UUID] = {}
KNOWN_USERS_LIMIT = 4096
# Session rows as this process last read them: the driver's raw values and what they
# convert to, and each stored data's parsed form. A row read again unchanged (nearly every
# request) is compared, not converted and parsed again. Bounded like _KNOWN_USERS.
_SEEN_ROWS: dict[str, tuple[rawsql.Prepared, tuple[Any, ...], tuple[Any, ...]]] = {}
_PARSED: dict[bytes, dict[str, Any]] = {}
ROTATE_KEY = "careplans.new_session_id"
LOADED_KEY = "careplans.session_loaded"  # the session's data as read, to skip writing it back unchanged
PRINCIPAL_KEY = "careplans.principal"  # the user, loaded with the session in the same read
TOUCHED_KEY = "careplans.session_touched"  # this request moved the stored session's expiry on
# The stored session's expiry is moved on at most once in this many seconds, not on
# every request: a read writes nothing but its audit row. The idle timeout is then
# between max_age - SESSION_TOUCH_SECONDS and max_age.
SESSION_TOUCH_SECONDS = 300


# --- sessions ----------------------------------------------------------------------

class RotatingSessionBackend(SQLAlchemySyncSessionBackend):
    """advanced-alchemy's database session backend, plus a fresh id at login, plus:

    - the session row and its user are read together, on the driver's connection and in
      one thread hop (none on SQLite) (`load_from_connection`); the user is not loaded again;
    - the row's expiry is written at most once every SESSION_TOUCH_SECONDS (`_get_sync`),
      and unchanged session data is never written back (`store_in_message`); the cookie
      is sent again only then, so the browser's copy expires with the row.
    """

    @cached_property
    def _touch_window(self) -> dt.timedelta:
        """max_age less the touch interval, worked out once (every request asks)."""
        return (dt.timedelta(seconds=self.config.max_age)
                - dt.timedelta(seconds=min(SESSION_TOUCH_SECONDS, self.config.max_age / 2)))

    def _touch_due(self, expires_at: dt.datetime, now: dt.datetime) -> bool:
        return expires_at - now < self._touch_window

    def _get_sync(self, session_id: str) -> bytes | None:  # type: ignore[override]
        data, _, _ = self._load_sync(session_id, load_user=False)
        return data

    def _load_sync(self, session_id: str, *, load_user: bool = True) -> tuple[bytes | None, Principal | None, bool]:
        """The session's data, its active user and whether its expiry was moved on, read without
        taking a write lock. Expired rows are deleted; the expiry is moved on only when a touch is due."""
        now = dt.datetime.now(dt.timezone.utc)
        row, principal = self._read_sync(session_id, now, load_user=load_user)
        if row is None:
            return None, None, False
        due = self._write_due(row, now)
        live = self._settle_sync(session_id, row, now) if due else True
        return (row.data, principal, due) if live else (None, None, False)

    def _read_sync(self, session_id: str, now: dt.datetime, *, load_user: bool = True) -> tuple[Any, Principal | None]:
        """(the stored row or None, its active user when the row is live), read on the driver's
        connection (careplans.rawsql: this runs on every request) as two statements, each its
        own snapshot (the user as of a moment later: an account deactivated in between is
        refused, as it should be)."""
        with rawsql.read_only(self.alchemy.get_engine(), snapshot=False) as cur:
            statement, params, guess = self._first_statement(session_id, load_user)
            found = _converted(statement, cur.dialect, session_id, statement.first(cur, params, raw=True))
            row, user, missing = self._after_first(session_id, found, guess, now, load_user)
            if missing is not None:
                user = _ACTIVE_USER.first(cur, {"user_id": missing})
        return row, _principal(user)

    async def _read_async(self, session_id: str, now: dt.datetime) -> tuple[Any, Principal | None]:
        """As _read_sync, with PostgreSQL's async driver on the event loop (careplans.pg_async)."""
        async with pg_async.read_only(self.alchemy.get_engine()) as cur:
            statement, params, guess = self._first_statement(session_id, True)
            found = _converted(statement, cur.dialect, session_id, await cur.first(statement, params, raw=True))
            row, user, missing = self._after_first(session_id, found, guess, now, True)
            if missing is not None:
                user = await cur.first(_ACTIVE_USER, {"user_id": missing})
        return row, _principal(user)

    # A session's user never changes (logging in makes a new session id), so once this
    # process has seen a session's user, the next request reads the session row and that
    # user in ONE statement. The joined user counts only if the row read names that same
    # user; otherwise the user is read by itself, as for a session not seen before.

    def _first_statement(self, session_id: str, load_user: bool) -> tuple[rawsql.Prepared, dict[str, Any], Any]:
        guess = _KNOWN_USERS.get(session_id) if load_user else None
        if guess is None:
            return _SESSION_ROW, {"session_id": session_id[:255]}, None
        return _SESSION_WITH_USER, {"session_id": session_id[:255], "user_id": guess}, guess

    def _after_first(self, session_id: str, found: tuple[Any, ...] | None, guess: Any, now: dt.datetime,
                     load_user: bool) -> tuple[SessionRow | None, tuple[Any, ...] | None, uuid.UUID | None]:
        """(the session row, its user if the statement read them, a user id still to read)."""
        row = SessionRow(found[0], found[1]) if found is not None else None
        uid = self._user_to_load(row, now) if load_user else None
        if uid is None:
            return row, None, None
        if len(_KNOWN_USERS) >= KNOWN_USERS_LIMIT:
            _KNOWN_USERS.clear()
        _KNOWN_USERS[session_id] = uid
        if guess is not None and guess == uid:
            return row, (found[2:] if found[2] is not None else None), None  # type: ignore[index]
        return row, None, uid

    def _user_to_load(self, row: SessionRow | None, now: dt.datetime) -> uuid.UUID | None:
        """The id of the user a live session row names, if any."""
        if row is None or now > _aware(row.expires_at):
            return None
        return parse_uuid(str(self._parsed(row.data).get("user_id") or ""))

    def _parsed(self, data: bytes) -> dict[str, Any]:
        """The stored session data, parsed (kept per data: never change the dict returned)."""
        parsed = _PARSED.get(data)
        if parsed is None:
            parsed = self.deserialize_data(data)
            if all(v is None or isinstance(v, (str, int, float)) for v in parsed.values()):  # a shallow copy is a copy
                if len(_PARSED) >= KNOWN_USERS_LIMIT:
                    _PARSED.clear()
                _PARSED[data] = parsed
        return parsed

    def _write_due(self, row: Any, now: dt.datetime) -> bool:
        expires_at = _aware(row.expires_at)
        return now > expires_at or self._touch_due(expires_at, now)

    def _settle_sync(self, session_id: str, row: Any, now: dt.datetime) -> bool:
        """Delete an expired row, move the expiry on when a touch is due: whether the session is live."""
        expires_at = _aware(row.expires_at)
        model = self._model
        if now > expires_at:
            with self.alchemy.get_engine().begin() as conn:
                conn.execute(model.__table__.delete().where(model.session_id == session_id[:255]))
            return False
        if self._touch_due(expires_at, now):
            with self.alchemy.get_engine().begin() as conn:
                conn.execute(update(model).where(model.session_id == session_id[:255])
                             .values(expires_at=now + dt.timedelta(seconds=self.config.max_age)))
        return True

    async def steady(self, session_id: str) -> tuple[dict[str, Any], Principal | None] | None:
        """The session's data and user when it is live and needs no write (no touch due), read
        as `load_from_connection` reads it; None for anything else, which that method then
        handles (api.fast_read). Writes nothing."""
        now = dt.datetime.now(dt.timezone.utc)
        read = await self._read_on_loop(session_id, now)
        if read is None or read[0] is None or self._write_due(read[0], now):
            return None
        return self._parsed(read[0].data), read[1]

    async def _read_on_loop(self, session_id: str, now: dt.datetime) -> tuple[Any, Principal | None] | None:
        """`_read_sync` on the event loop (SQLite: no lock to wait for) or `_read_async` (PostgreSQL's
        async driver); None where neither runs on this loop (the caller takes a thread)."""
        engine = self.alchemy.get_engine()
        if reads_inline(engine):
            return self._read_sync(session_id, now)
        if pg_async.enabled(engine):
            return await self._read_async(session_id, now)
        return None

    async def load_from_connection(self, connection: ASGIConnection) -> dict[str, Any]:
        session_id = connection.cookies.get(self.config.key)
        if not session_id or session_id == "null":
            return {}
        now = dt.datetime.now(dt.timezone.utc)
        read = await self._read_on_loop(session_id, now)
        if read is not None:  # read on the loop; a due write in a thread
            row, principal = read
            touched = row is not None and self._write_due(row, now)
            live = row is not None and (not touched or await async_(self._settle_sync)(session_id, row, now))
            data = row.data if live else None
        else:
            data, principal, touched = await async_(self._load_sync)(session_id)
        if data is None:
            return {}
        loaded = self._parsed(data)
        connection.scope[LOADED_KEY] = loaded  # type: ignore[literal-required]
        connection.scope[PRINCIPAL_KEY] = principal  # type: ignore[literal-required]
        if touched:
            connection.scope[TOUCHED_KEY] = True  # type: ignore[literal-required]
        return dict(loaded)  # the request's own copy: what it changes is compared with `loaded`

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
        elif (isinstance(scope_session, dict) and connection.scope.get(LOADED_KEY) is not None  # type: ignore[misc]
              and scope_session == connection.scope[LOADED_KEY]):  # type: ignore[literal-required]
            # Unchanged since it was read (and touched then if a touch was due): no write.
            # The cookie is sent again only when the row's expiry was moved on, so the
            # browser's copy lives as long as the row; otherwise nothing to send (building
            # a Set-Cookie header costs more than the rest of this method).
            if not connection.scope.get(TOUCHED_KEY):  # type: ignore[misc]
                return
            from litestar.datastructures import MutableScopeHeaders
            from litestar.utils.dataclass import extract_dataclass_items

            params = dict(extract_dataclass_items(self.config, exclude_none=True, include=Cookie.__dict__.keys()))
            MutableScopeHeaders.from_message(message).add(
                "Set-Cookie", Cookie(value=self.get_session_id(connection), key=self.config.key,
                                     **params).to_header(header=""))
            return
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
        return DefineMiddleware(LeanSessionMiddleware, backend=self._backend_class(config=self))


class LeanSessionMiddleware(SessionMiddleware):
    """Litestar's SessionMiddleware, minus building a subscripted generic (`ASGIConnection[...]`,
    a typing call costing more than the rest of the method) on every request."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        connection: ASGIConnection = ASGIConnection(scope, receive=receive, send=send)
        scope["session"] = await self.backend.load_from_connection(connection)
        connection._connection_state.session_id = self.backend.get_session_id(connection)  # type: ignore[attr-defined]
        await self.app(scope, receive, self.create_send_wrapper(connection))


def start_session(connection: ASGIConnection, user: User) -> str:
    """Log the user in on this connection under a new session id (never the one the browser sent),
    with a new CSRF token bound to it (api.csrf); returns the token.

    `started` is when: the session ends `session_max_hours` later however busy it is."""
    session_id = secrets.token_hex(32)
    connection.scope[ROTATE_KEY] = session_id  # type: ignore[literal-required]
    connection.set_session({"user_id": str(user.id), "role": user.role, "started": int(time.time())})
    return issue_for_login(connection, session_id)


def _aware(at: dt.datetime) -> dt.datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.timezone.utc)


class SessionRow(NamedTuple):
    data: bytes
    expires_at: dt.datetime


# Built and compiled once (building a statement costs more than running it on this path).
_SESSION_ROW = rawsql.Prepared(select(UserSession.data, UserSession.expires_at)
                               .where(UserSession.session_id == bindparam("session_id")))
_ACTIVE_USER = rawsql.Prepared(select(User.id, User.role, User.display_name).where(
    User.id == bindparam("user_id", type_=User.__table__.c.id.type), User.is_active.is_(True)))
_SESSION_WITH_USER = rawsql.Prepared(
    select(UserSession.data, UserSession.expires_at, User.id, User.role, User.display_name)
    .select_from(UserSession)
    .outerjoin(User, and_(User.id == bindparam("user_id", type_=User.__table__.c.id.type), User.is_active.is_(True)))
    .where(UserSession.session_id == bindparam("session_id")))


def _converted(statement: rawsql.Prepared, dialect: Any, session_id: str,
               raw: tuple[Any, ...] | None) -> tuple[Any, ...] | None:
    """The row's converted values (`Prepared.processed`), reused when the same statement read
    the same raw values for this session last time."""
    if raw is None:
        return None
    seen = _SEEN_ROWS.get(session_id)
    if seen is not None and seen[0] is statement and seen[1] == raw:
        return seen[2]
    found = statement.processed(dialect, raw)
    if len(_SEEN_ROWS) >= KNOWN_USERS_LIMIT:
        _SEEN_ROWS.clear()
    _SEEN_ROWS[session_id] = (statement, raw, found)
    return found


def _principal(user: tuple[Any, ...] | None) -> Principal | None:
    return Principal(id=user[0], role=user[1], name=user[2]) if user is not None else None


def close_db_session(scope: Scope) -> None:
    """Close the request's database session, if it opened one (api.app.before_send calls this
    when the response starts).

    Replaces advanced-alchemy's default handler, which is synchronous and so runs in
    the thread pool on every response. Handlers end their transaction in
    api.deps.transact, so closing here only returns the session object: no I/O. A request
    that opened none (no advanced-alchemy state in its scope) costs one lookup:
    `get_aa_scope_state` would add an empty namespace to the scope to find nothing."""
    if _AA_NAMESPACE in scope:
        session = get_aa_scope_state(scope, SESSION_SCOPE_KEY, pop=True)
        if session is not None:
            session.close()


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


# Guards (who may call a route) are in api/guards.py, decided by careplans.policy.


def parse_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
