"""CSRF tokens bound to the session and rotated at every login (API and pages).

Litestar's CSRFMiddleware is a signed double submit: a cookie holding `random + HMAC(secret,
random)` and the same value in a header or form field. On its own that token belongs to no
one: a token read from one session would be accepted in another. Here the HMAC key is
derived from the session id as well (`HMAC(secret, "csrf:" + session id)`), so:

- a token is valid only with the session it was issued for; any other session (or none)
  gets 403 "CSRF token verification failed";
- logging in issues a new session id (api.security.start_session) and with it a new token,
  sent as a new cookie (and in the API's login answer); the old one no longer verifies;
- a page read with a cookie from another session (before login, an old deploy) is given a
  fresh token for this session, so its forms work.

Unsafe requests without a session cookie skip the check: there is no session to ride on,
and authentication refuses them (401) unless the route is public (logging in).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.enums import RequestEncodingType
from litestar.exceptions import PermissionDeniedException
from litestar.middleware.csrf import CSRF_SECRET_LENGTH, CSRFMiddleware, generate_csrf_hash, generate_csrf_token
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from api.bypass import Bypass

SESSION_COOKIE = "careplans_session"
CSRF_COOKIE = "careplans_csrf"
CSRF_HEADER = "x-csrf-token"
NEW_TOKEN_KEY = "careplans.new_csrf_token"  # set at login: the token for the new session
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@functools.lru_cache(maxsize=4096)  # asked on every request that carries a session
def session_secret(secret: str, session_id: str | None) -> str:
    """The key that signs CSRF tokens for one session."""
    return hmac.new(secret.encode(), f"csrf:{session_id or ''}".encode(), hashlib.sha256).hexdigest()


def signed_for(token: str, secret: str, session_id: str) -> bool:
    """Whether a CSRF token was signed with this session's key (as the middleware checks it)."""
    return _verify(token, session_secret(secret, session_id)) is not None


def _session_id(connection: ASGIConnection) -> str | None:
    value = connection.cookies.get(SESSION_COOKIE)
    return value if value and value != "null" else None


def issue_for_login(connection: ASGIConnection, new_session_id: str) -> str:
    """A token for the session a login just started; the middleware sends it as the new cookie.

    The middleware watches for it on unsafe requests only: logging in is a POST."""
    if connection.scope.get("method") not in UNSAFE:
        raise RuntimeError("Logging in changes state: only an unsafe method (POST) may start a session.")
    config: CSRFConfig = connection.app.state.csrf_config
    token = generate_csrf_token(secret=session_secret(config.secret, new_session_id))
    connection.scope[NEW_TOKEN_KEY] = token  # type: ignore[literal-required]
    ScopeState.from_scope(connection.scope).csrf_token = token
    return token


class SessionCSRFMiddleware(CSRFMiddleware):
    """Litestar's CSRF check with the token bound to the session (see the module docstring).

    On the paths it excludes it does nothing at all, decided once per path (api.bypass)."""

    def __init__(self, app: ASGIApp, config: CSRFConfig) -> None:
        super().__init__(app=app, config=config)
        self.skips = Bypass({"scopes": self.scopes, "exclude_opt_key": config.exclude_from_csrf_key,
                             "exclude_path_pattern": self.exclude})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        unsafe = scope["method"] in UNSAFE
        if unsafe:  # only a POST logs in (issue_for_login)
            send = self._send_new_token(scope, send)
        if self.skips(scope):
            await self.app(scope, receive, send)
            return
        connection = ASGIConnection(scope)
        session_id = _session_id(connection)
        if unsafe and session_id is None:
            await self.app(scope, receive, send)
            return
        secret = session_secret(self.config.secret, session_id)
        cookie = connection.cookies.get(self.config.cookie_name)
        state = ScopeState.from_scope(scope)
        if not unsafe:
            if cookie is not None and _verify(cookie, secret) is None:
                cookie = None  # another session's token: give this session its own
            if cookie is None:
                state.csrf_token = token = generate_csrf_token(secret=secret)
                send = self.create_send_wrapper(send=send, csrf_cookie=None, token=token)
            else:
                state.csrf_token = cookie
            await self.app(scope, receive, send)
            return
        request = scope["litestar_app"].request_class(scope=scope, receive=receive)
        sent = request.headers.get(self.config.header_name)
        content_type, _ = request.content_type
        if not sent and content_type in {RequestEncodingType.URL_ENCODED, RequestEncodingType.MULTI_PART}:
            sent = (await request.form()).get("_csrf_token", None)
        mine, theirs = _verify(cookie or "", secret), _verify(sent or "", secret) if isinstance(sent, str) else None
        if mine is None or theirs is None or not hmac.compare_digest(mine.encode(), theirs.encode()):
            raise PermissionDeniedException("CSRF token verification failed")
        state.csrf_token = sent
        await self.app(scope, receive, send)

    def _send_new_token(self, scope: Scope, send: Send) -> Send:
        """After a login, send the new session's token as the CSRF cookie."""

        async def wrapped(message: Message) -> None:
            token = scope.get(NEW_TOKEN_KEY)  # type: ignore[misc]
            if token and message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                cookie = Cookie(key=self.config.cookie_name, value=token, path=self.config.cookie_path,
                                secure=self.config.cookie_secure, httponly=self.config.cookie_httponly,
                                samesite=self.config.cookie_samesite, domain=self.config.cookie_domain)
                headers.add("set-cookie", cookie.to_header(header=""))
            await send(message)

        return wrapped


def _verify(token: str, secret: str) -> str | None:
    """The random part of a token signed with this session's key, or None."""
    if len(token) < CSRF_SECRET_LENGTH + 1:
        return None
    random_part, signature = token[:CSRF_SECRET_LENGTH], token[CSRF_SECRET_LENGTH:]
    # As bytes: compare_digest refuses str with non-ASCII characters (a TypeError, a 500).
    expected = generate_csrf_hash(random_part, secret).encode()
    return random_part if hmac.compare_digest(signature.encode("utf-8", "surrogatepass"), expected) else None


def csrf_config(secret: str, secure: bool) -> CSRFConfig:
    return CSRFConfig(secret=secret, cookie_name=CSRF_COOKIE, header_name=CSRF_HEADER, cookie_secure=secure,
                      cookie_samesite="lax", exclude=["^/health$", "^/health/live$", "^/schema"])
