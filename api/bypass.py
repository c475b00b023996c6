"""Middleware that skips a request decides so once per route and path, not on every request.

Litestar's own rule (`should_bypass_middleware`: scope type, the route handler's opt key, the
method, the path patterns) is applied unchanged; only its answer is remembered. Every request
pays every middleware in its route's stack, so on the paths a middleware excludes (health
checks, static files) the test it does is most of the work the request costs.

`LeanSessionAuth` is Litestar's SessionAuth with the same middleware stack (session middleware,
exception handler, authentication middleware), built when the app is, and stepped over as a
whole on the paths that both the session and authentication exclude.
"""

from __future__ import annotations

from typing import Any

from litestar.middleware import DefineMiddleware
from litestar.middleware._internal.exceptions import ExceptionHandlerMiddleware
from litestar.middleware._utils import should_bypass_middleware
from litestar.security.session_auth import SessionAuth
from litestar.types import ASGIApp, Receive, Scope, Send

REMEMBERED = 256  # paths per middleware instance (one per route), as a bound; the router gives each fixed route one path
REMEMBERED_WITH_IDS = 4096  # paths with ids in them (a plan, a goal) per instance; cleared whole when full


class Bypass:
    """Whether Litestar would skip a middleware (or every one of several) for this request,
    remembered per route handler, method and path (and raw path: mounted apps are matched on it):
    up to REMEMBERED paths for routes without path parameters, REMEMBERED_WITH_IDS for routes
    with them (one path per plan, goal or file: the table is emptied when full)."""

    __slots__ = ("rules", "seen", "seen_with_ids")

    def __init__(self, *rules: dict[str, Any]) -> None:
        self.rules = rules  # each the keyword arguments of should_bypass_middleware, but the scope
        self.seen: dict[tuple[Any, ...], bool] = {}
        self.seen_with_ids: dict[tuple[Any, ...], bool] = {}

    def __call__(self, scope: Scope) -> bool:
        seen, bound = (self.seen_with_ids, REMEMBERED_WITH_IDS) if scope.get("path_params") else (self.seen, REMEMBERED)
        key = (scope["type"], scope.get("method"), scope["path"], scope.get("raw_path"), id(scope.get("route_handler")))
        skip = seen.get(key)
        if skip is None:
            if len(seen) >= bound:  # only a mounted app, or many records' paths, could have this many
                seen.clear()
            skip = seen[key] = self._decide(scope)
        return skip

    def _decide(self, scope: Scope) -> bool:
        return all(should_bypass_middleware(scope=scope, **rule) for rule in self.rules)


class SessionAuthStack:
    """Litestar's session-auth MiddlewareWrapper (security/session_auth/middleware.py), with its
    stack built up front instead of on the first request, and not entered at all when both the
    session middleware and the authentication middleware would let the request through untouched."""

    def __init__(self, app: ASGIApp, config: SessionAuth[Any, Any]) -> None:
        auth = config.authentication_middleware_class(
            app=app, exclude=config.exclude, exclude_http_methods=config.exclude_http_methods,
            exclude_opt_key=config.exclude_opt_key, scopes=config.scopes,
            retrieve_user_handler=config.retrieve_user_handler,  # type: ignore[arg-type]
        )
        session = config.session_backend_config.middleware.middleware(
            app=ExceptionHandlerMiddleware(app=auth, debug=None), backend=config.session_backend)
        self.app = app
        self.stack = session
        self.both_skip = Bypass(
            {"scopes": session.scopes, "exclude_opt_key": session.exclude_opt_key,
             "exclude_path_pattern": session.exclude_pattern},
            {"scopes": auth.scopes, "exclude_opt_key": auth.exclude_opt_key,
             "exclude_http_methods": auth.exclude_http_methods, "exclude_path_pattern": auth.exclude})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.both_skip(scope):
            # Both pass the request on unchanged: an exception from further in is answered by the
            # next exception handler out, with the same handlers (the route's) and the same sends.
            await self.app(scope, receive, send)
        else:
            await self.stack(scope, receive, send)


class LeanSessionAuth(SessionAuth):
    """SessionAuth whose middleware is SessionAuthStack."""

    @property
    def middleware(self) -> DefineMiddleware:
        return DefineMiddleware(SessionAuthStack, config=self)
