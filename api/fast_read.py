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

Then the read, its audit row committed before answering (`read_audit`), and the same
status, headers and body the route would send; the app's before_send hook adds the
security headers to both. Anything else - no cookie, a touch due, a refusal, no such plan -
goes to the stack untouched, which answers as it always has (401, 403, 404, a new cookie).
Nothing is written before that hand-over. Exceptions (a database that is away, the audit
unavailable) are answered by the route's exception handlers, as from the handler.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.config.allowed_hosts import AllowedHostsConfig
from litestar.security.session_auth import SessionAuth
from litestar.types import ASGIApp, Receive, Scope, Send

from api import read_audit
from api.csrf import CSRF_COOKIE, SESSION_COOKIE, signed_for
from api.guards import action_of
from api.origin import OriginCheckMiddleware
from api.security import RotatingSessionBackend, session_in_time, session_user
from careplans import policy
from careplans.errors import NotFound

OPT = "fast_read"
SECRETS = 4096  # (session, CSRF cookie) pairs this process remembers as fitting (a bound; cleared whole when full)


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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            handler = scope.get("route_handler")
            action = self.actions.get(id(handler), False)
            if action is False:
                action = self.actions[id(handler)] = (
                    action_of(handler) if handler is not None and handler.opt.get(OPT) else None)
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
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"etag", b'"%d"' % read.view.version),  # as the route's Response spells them
                                (b"content-type", b"application/json"),
                                (b"content-length", b"%d" % len(read.body))]})
        await send({"type": "http.response.body", "body": read.body})
        return True

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


def first_in_stack(middleware: Any) -> Any:
    """An `on_app_init` hook putting FastRead first in the app's middleware (after SessionAuth
    has put itself there)."""

    def hook(app_config: Any) -> Any:
        app_config.middleware.insert(0, middleware)
        return app_config

    return hook
