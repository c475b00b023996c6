"""Where a request comes from: the Host it names is one served here, and an unsafe request
comes from this site (Sec-Fetch-Site / Origin). The first of the app's own middleware, after
the session and authentication."""

from __future__ import annotations

from urllib.parse import urlsplit

from litestar.config.allowed_hosts import AllowedHostsConfig
from litestar.exceptions import PermissionDeniedException
from litestar.middleware.allowed_hosts import AllowedHostsMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from api.csrf import UNSAFE


DEFAULT_PORTS = {"http": 80, "https": 443}
ACCEPTED_HOSTS = 64


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
    """Refuse requests for a host not served (Litestar's AllowedHostsMiddleware, applied here) and
    cross-site unsafe requests (Sec-Fetch-Site / Origin), a second line behind CSRF.

    An Origin must match this request's own scheme, host and port, or one of the allowed
    origins (CAREPLANS_ALLOWED_ORIGINS); `Origin: null` (sandboxed frames, some redirects)
    is refused. Pages send Referrer-Policy: same-origin, so browsers send a real Origin.

    The Host check is Litestar's own middleware and its own pattern; a request whose Host the
    pattern accepts goes on without it (one header found in the scope instead of a headers
    object built), anything else is handed to it whole, to be refused (400) or redirected.
    """

    def __init__(self, app: ASGIApp, hosts: AllowedHostsConfig, allowed_origins: tuple[str, ...] = ()) -> None:
        self.app = app
        self.allowed_origins = {t for t in (origin_triple(o) for o in allowed_origins) if t}
        self.host_check = AllowedHostsMiddleware(app=self._check_origin, config=hosts)
        self.accepted: set[bytes] = set()  # Host values the pattern accepted (a wildcard host allows many)
        pattern = self.host_check.allowed_hosts_regex
        # Only when the pattern is all there is to Litestar's decision (nothing excluded).
        self.host_accepted = pattern.fullmatch if (
            pattern is not None and hosts.exclude is None and hosts.exclude_opt_key is None) else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._host_accepted(scope):
            await self._check_origin(scope, receive, send)
        else:
            await self.host_check(scope, receive, send)

    def _host_accepted(self, scope: Scope) -> bool:
        if self.host_accepted is None:
            return False
        for name, value in scope["headers"]:
            if name.lower() == b"host":  # the first, as Litestar reads it
                if value in self.accepted:
                    return True
                host = value.decode("latin-1")
                if host.split(":")[0] and self.host_accepted(host) is not None:
                    if len(self.accepted) < ACCEPTED_HOSTS:
                        self.accepted.add(value)
                    return True
                return False
        return False

    async def _check_origin(self, scope: Scope, receive: Receive, send: Send) -> None:
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
