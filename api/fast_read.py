"""The plan read's ordinary case, answered in front of the middleware stack.

`GET /api/plans/{id}` is the route read most. Litestar's stack (session middleware,
authentication, Host and Origin checks, input guard, CSRF, then the route's request,
guards, parameters and response objects) costs several times what the read itself
does. `FastRead`, first in the app's middleware, answers a request to a route marked
`opt={"fast_read": True}` itself when everything about it is ordinary, with the same
decisions, made by the same code, that the stack would make:

- the Host is one the origin middleware accepts as it is (`OriginCheckMiddleware`);
- GET, no query string (the input guard has nothing to check);
- the session is live and needs no write: no touch due, not expired
  (`RotatingSessionBackend.steady`), within its lifetime, and its user is active
  (`session_in_time`, `session_user`, as `retrieve_user` decides);
- the CSRF cookie is this session's (otherwise the stack sends a new one);
- the policy gives the user's role the route's action (`policy.may`, the guard's rule);
- the plan is in the reader's scope (`reading`: the query refuses it otherwise).

Once a session has been answered here, its next reads take ONE statement: the session row,
its user and the plan's revision together (`_statement`: `reading.revision_statement`, the
policy's scope for that user, joined to the session row), checked against what was verified
the first time - the same session row, the same active user with the same role and name -
and the cached view for that revision. Anything different goes the first way again.

Then the read, its audit row committed before answering (`read_audit`), and the same
status, headers and body the route would send; the app's before_send hook adds the
security headers to both. Anything else - no cookie, a touch due, a refusal, no such plan -
goes to the stack untouched, which answers as it always has (401, 403, 404, a new cookie).
Nothing is written before that hand-over. Exceptions (a database that is away, the audit
unavailable) are answered by the route's exception handlers, as from the handler.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from typing import Any, NamedTuple

from litestar.connection import ASGIConnection
from litestar.config.allowed_hosts import AllowedHostsConfig
from litestar.security.session_auth import SessionAuth
from litestar.types import ASGIApp, Receive, Scope, Send

from sqlalchemy import and_, bindparam, select, true

from api import read_audit
from api.csrf import CSRF_COOKIE, SESSION_COOKIE, signed_for
from api.guards import action_of
from api.origin import OriginCheckMiddleware
from api.security import RotatingSessionBackend, SessionRow
from api.session_user import session_in_time, session_user
from api.session_model import UserSession
from careplans import pg_async, policy, queries, rawsql, reading
from careplans.db import reads_inline
from careplans.errors import NotFound
from careplans.models import User
from careplans.policy import Principal

OPT = "fast_read"
SECRETS = 4096  # (session, CSRF cookie) pairs this process remembers as fitting (a bound; cleared whole when full)
KNOWN = 4096  # sessions whose verified row this process keeps (cleared whole when full)
SESSION_COLUMNS = 5  # the combined statement's first columns: the session row and its user


class Known(NamedTuple):
    """A session's user, as a read here found it; and the session row and user as the
    combined statement last read them (raw) and what they were checked to mean."""

    principal: Principal
    raw: tuple[Any, ...] | None = None
    session: dict[str, Any] | None = None
    row: SessionRow | None = None


class FastRead:
    def __init__(self, app: ASGIApp, auth: SessionAuth[Any, Any], hosts: AllowedHostsConfig,
                 csrf_secret: str, max_age_seconds: int | None) -> None:
        self.app = app
        self.backend: RotatingSessionBackend = auth.session_backend  # type: ignore[assignment]
        self.origin = OriginCheckMiddleware(app=app, hosts=hosts)  # for its Host decision only
        self.csrf_secret = csrf_secret
        self.max_age_seconds = max_age_seconds
        self.actions: dict[int, str | None] = {}  # route handler -> its policy action, if it takes this path
        self.fitting: set[tuple[str, str]] = set()  # (session id, CSRF cookie) pairs found to fit
        self.known: dict[str, Known] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            handler = scope.get("route_handler")
            action = self.actions.get(id(handler), False)
            if action is False:
                action = self.actions[id(handler)] = (
                    action_of(handler) if handler is not None and handler.opt.get(OPT)
                    and len(handler.resolve_guards()) == 1 else None)  # the policy's guard, and no other
            if action is not None and await self._answer(scope, send, action):
                return
        await self.app(scope, receive, send)

    async def _answer(self, scope: Scope, send: Send, action: str) -> bool:
        """Answer an ordinary read (True), or do nothing and leave it to the stack (False)."""
        if scope["method"] != "GET" or scope.get("query_string") or not self.origin._host_accepted(scope):
            return False
        cookies = ASGIConnection(scope).cookies
        session_id = cookies.get(SESSION_COOKIE)
        csrf = cookies.get(CSRF_COOKIE)
        if not session_id or session_id == "null" or csrf is None:
            return False
        known = self.known.get(session_id)
        if known is not None:
            answer = await self._one_statement(scope, session_id, csrf, action, known)
            if answer is not None:
                read, event = answer
                await read_audit.audited_in(scope["litestar_app"], event)
                await self._send(send, read)
                return True
        steady = await self.backend.steady(session_id)
        if steady is None:
            return False
        session, loaded = steady
        principal = session_user(session, loaded) if session_in_time(session, self.max_age_seconds) else None
        if principal is None or not policy.may(principal, action) or not self._csrf_cookie_fits(session_id, csrf):
            return False
        app = scope["litestar_app"]
        try:
            read, event = await read_audit.current_plan_in(app, principal, scope["path_params"]["plan_id"])
        except NotFound:
            return False  # the stack answers 404 as it always has
        await read_audit.audited_in(app, event)
        self._remember(session_id, Known(principal))
        await self._send(send, read)
        return True

    async def _one_statement(self, scope: Scope, session_id: str, csrf: str, action: str,
                             known: Known) -> tuple[reading.Presented, Any] | None:
        """The read of a session verified before, in one statement; None: go the first way."""
        principal = known.principal
        if not policy.may(principal, action) or not self._csrf_cookie_fits(session_id, csrf):
            return None
        try:
            pid = queries.parse_id(scope["path_params"]["plan_id"])
        except NotFound:
            return None
        statement = _statement(principal)
        params = {"session_id": session_id[:255], "user_id": principal.id, "plan_id": pid}
        app = scope["litestar_app"]
        engine = app.state.engine
        if reads_inline(engine):
            with rawsql.read_only(engine, snapshot=False) as cur:
                raw = statement.first(cur, params, raw=True)
        elif pg_async.enabled(engine):
            raw = await pg_async.first_batched(engine, statement, params)  # with this turn's other reads
        else:
            return None
        if raw is None:
            self.known.pop(session_id, None)
            return None  # no such session (any more): the stack answers
        if tuple(raw[:SESSION_COLUMNS]) != known.raw:
            known = self._checked(session_id, statement, engine, raw, principal)
            if known is None:
                return None
        if (self.backend._write_due(known.row, dt.datetime.now(dt.timezone.utc))  # type: ignore[arg-type]
                or not session_in_time(known.session, self.max_age_seconds)):  # type: ignore[arg-type]
            return None  # due a touch or past its lifetime: the stack
        revision = tuple(raw[SESSION_COLUMNS:])
        if revision[0] is None:
            return None  # not in this reader's scope: the stack answers 404
        cached = reading.cached_view(principal, pid, revision, app.state.view_cache)
        if cached is None:
            return None  # the first way reads and presents it
        event = reading.read_event(principal, pid, statement.value(engine, raw, SESSION_COLUMNS), revision[1])
        return cached, event

    def _checked(self, session_id: str, statement: rawsql.Prepared, engine: Any, raw: tuple[Any, ...],
                 principal: Principal) -> Known | None:
        """The session row and user the statement read, checked as the first way checks them:
        the user is active and is the one the session names, with the role and name the
        statement's scope was built for. Kept for the next read (compared raw)."""
        self.known.pop(session_id, None)
        user_id = statement.value(engine, raw, 2)
        if user_id is None or Principal(id=user_id, role=raw[3], name=raw[4]) != principal:
            return None  # deactivated, or a new role or name: the first way (or the stack) decides
        row = SessionRow(raw[0], statement.value(engine, raw, 1))
        session = self.backend._parsed(row.data)
        if not session.get("user_id") or session_user(session, principal) is not principal:
            return None
        known = Known(principal, tuple(raw[:SESSION_COLUMNS]), session, row)
        self._remember(session_id, known)
        return known

    def _remember(self, session_id: str, known: Known) -> None:
        if len(self.known) >= KNOWN:
            self.known.clear()
        self.known[session_id] = known

    @staticmethod
    async def _send(send: Send, read: reading.Presented) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"etag", b'"%d"' % read.view.version),  # as the route's Response spells them
                                (b"content-type", b"application/json"),
                                (b"content-length", b"%d" % len(read.body))]})
        await send({"type": "http.response.body", "body": read.body})

    def _csrf_cookie_fits(self, session_id: str, cookie: str) -> bool:
        """Whether the CSRF cookie was signed with this session's key (api.csrf), remembered:
        a pair that fits once always does (the key is derived from the session id)."""
        if (session_id, cookie) in self.fitting:
            return True
        if not signed_for(cookie, self.csrf_secret, session_id):
            return False
        if len(self.fitting) >= SECRETS:
            self.fitting.clear()
        self.fitting.add((session_id, cookie))
        return True


_STATEMENTS: OrderedDict[tuple[Any, ...], rawsql.Prepared] = OrderedDict()
_STATEMENTS_LOCK = threading.Lock()


def _statement(principal: Principal) -> rawsql.Prepared:
    """The session row (:session_id), its user if active and the one expected (:user_id), and
    the plan's revision in this reader's scope (:plan_id; NULLs when out of scope), in one row.
    Built and compiled once per reader, as the revision query is (bounded)."""
    key = (principal.role, principal.id, principal.name)
    with _STATEMENTS_LOCK:
        found = _STATEMENTS.get(key)
        if found is not None:
            _STATEMENTS.move_to_end(key)
            return found
    revision = reading.revision_statement(principal, "read").subquery("revision")
    statement = rawsql.Prepared(
        select(UserSession.data, UserSession.expires_at, User.id, User.role, User.display_name, *revision.c)
        .select_from(UserSession)
        .outerjoin(User, and_(User.id == bindparam("user_id", type_=User.__table__.c.id.type), User.is_active.is_(True)))
        .outerjoin(revision, true())
        .where(UserSession.session_id == bindparam("session_id")))
    with _STATEMENTS_LOCK:
        _STATEMENTS[key] = statement
        while len(_STATEMENTS) > 1024:
            _STATEMENTS.popitem(last=False)
    return statement


def first_in_stack(middleware: Any) -> Any:
    """An `on_app_init` hook putting FastRead first in the app's middleware (after SessionAuth
    has put itself there)."""

    def hook(app_config: Any) -> Any:
        app_config.middleware.insert(0, middleware)
        return app_config

    return hook
