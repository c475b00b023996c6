"""The composition root: create_app(settings) wires plugins, auth, CSRF, templates and routes."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from advanced_alchemy.extensions.litestar import SQLAlchemyPlugin, SQLAlchemySyncConfig, SyncSessionConfig
from advanced_alchemy.extensions.litestar.plugins.init.config.common import SESSION_TERMINUS_ASGI_EVENTS
from litestar import Litestar, Router
from litestar.config.allowed_hosts import AllowedHostsConfig
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.types import Message, Scope

from api import csrf as csrf_tokens, openapi_docs, read_audit, security, session_cleanup, session_user, templating
from api.bypass import LeanSessionAuth
from api.fast_read import FastRead, first_in_stack
from api.controllers import assessments as assessment_routes
from api.input_guard import InputGuardMiddleware
from api.origin import OriginCheckMiddleware
from api.controllers import choices as choice_routes
from api.controllers import pages as page_routes
from api.controllers import audit as audit_routes
from api.controllers import clients as client_routes
from api.controllers import plans as plan_routes
from api.controllers import exports as export_routes
from api.controllers import episodes as episode_routes
from api.controllers import reports as report_routes
from api.controllers import session as session_routes
from api.controllers import shares as share_routes
from api.errors import EXCEPTION_HANDLERS
from api.settings import Settings
from careplans import pdf
from careplans import questionnaires
from careplans.db import make_engine

ROOT = Path(__file__).resolve().parent.parent

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),  # no-referrer makes browsers send `Origin: null`
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


# Every name the hook below sets; a response that sets none of them (nearly all) takes the fast path.
_OWN_NAMES = frozenset({*(name for name, _ in SECURITY_HEADERS), b"cache-control"})
_NO_STORE = [*SECURITY_HEADERS, (b"cache-control", b"no-store")]


def secured_headers(headers: Iterable[tuple[bytes, bytes]], static: bool) -> list[tuple[bytes, bytes]]:
    """The response's headers plus the security headers, each once; `no-store` unless `static`.

    Anything but static assets is `no-store`: pages and API answers hold personal data
    no browser or proxy should keep. A response's own security header is kept as it is.
    """
    headers = list(headers)
    for name, _ in headers:
        if name.lower() in _OWN_NAMES:
            break
    else:
        return headers + (SECURITY_HEADERS if static else _NO_STORE)
    present = {name.lower() for name, _ in headers}
    headers += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
    if not static:
        headers = [(k, v) for k, v in headers if k.lower() != b"cache-control"]
        headers.append((b"cache-control", b"no-store"))
    return headers


async def before_send(message: Message, scope: Scope) -> None:
    """The app's one before_send hook: security headers on every response, and the request's
    database session closed (security.close_db_session).

    An app-level before_send hook sees every response, including those made when
    middleware refuses a request (401 from auth) and the router's own 404s; layered
    `response_headers` reach only responses returned by route handlers. Litestar awaits
    each hook for every message sent, so both jobs are one hook: it is registered as
    advanced-alchemy's `before_send_handler`, which the plugin adds to the app's hooks.
    """
    kind = message["type"]
    if kind == "http.response.start":
        security.close_db_session(scope)
        message["headers"] = secured_headers(message.get("headers", ()), scope.get("path", "").startswith("/static/"))
    elif kind in SESSION_TERMINUS_ASGI_EVENTS:
        security.close_db_session(scope)


def dispose_engine(app: Litestar) -> None:
    """Close every pooled connection when the app stops (an app made per test must not leak them)."""
    app.state.engine.dispose()


API_ROUTES = [
    session_routes.login, session_routes.logout, session_routes.me, session_routes.health, session_routes.live,
    client_routes.list_clients, client_routes.create_client, client_routes.get_client, client_routes.create_plan,
    plan_routes.read_plan, plan_routes.patch_plan, plan_routes.list_versions, plan_routes.get_version,
    plan_routes.diff, plan_routes.create_goal, plan_routes.update_goal, plan_routes.create_check_in,
    plan_routes.sign, plan_routes.access_log,
    audit_routes.verify, audit_routes.events,
    *export_routes.ROUTES,
]


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    # A questionnaire file with an error stops start-up, naming the file and the field.
    questionnaires.load_all()
    engine = make_engine(settings.database_url)
    # Handlers end every transaction themselves (api.deps.transact). Nothing may reopen
    # one afterwards: on SQLite an open transaction holds the write lock that the
    # session store needs while the response starts. Hence expire_on_commit=False.
    alchemy = SQLAlchemySyncConfig(engine_instance=engine, session_dependency_key="db_session", create_all=False,
                                   session_config=SyncSessionConfig(expire_on_commit=False),
                                   before_send_handler=before_send)  # the app's one before_send hook
    session_config = security.DatabaseSessionConfig(
        alchemy=alchemy,
        key=security.SESSION_COOKIE,
        max_age=settings.session_idle_minutes * 60,
        renew_on_access=True,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        # Health checks and static files carry no session: skip loading and storing one.
        exclude=["^/health$", "^/health/live$", "^/static/", "^/favicon.ico$"],
    )
    auth = LeanSessionAuth(
        retrieve_user_handler=session_user.make_retrieve_user(alchemy, settings.session_max_hours * 3600),
        session_backend_config=session_config,
        exclude=["^/health$", "^/health/live$", "^/schema", "^/static/", "^/login$", "^/s/", "^/favicon.ico$"],
    )
    csrf = csrf_tokens.csrf_config(settings.secret_key, settings.secure_cookies)
    hosts = AllowedHostsConfig(allowed_hosts=[*settings.allowed_hosts,
                                              *(f"{h}:{settings.port}" for h in settings.allowed_hosts)])
    # First of all: the plan read's ordinary case, answered with the same checks (api.fast_read).
    fast_read = DefineMiddleware(FastRead, auth=auth, hosts=hosts, csrf_secret=csrf.secret,
                                 max_age_seconds=settings.session_max_hours * 3600)
    api_handlers = [*API_ROUTES, *choice_routes.ROUTES, *share_routes.ROUTES, *assessment_routes.ROUTES,
                    *report_routes.ROUTES, *episode_routes.ROUTES]
    for handler in [*api_handlers, *page_routes.PAGE_ROUTES]:
        openapi_docs.document(handler)  # error responses and headers, by one set of rules
    app = Litestar(
        # One Router, registered once: handlers that share a path (GET and PATCH of a plan)
        # are then set up once each. Registered one by one, Litestar re-registers the
        # earlier handlers of a shared path and wraps sync handlers twice.
        route_handlers=[
            Router(path="/", route_handlers=[*api_handlers, *page_routes.PAGE_ROUTES]),
            *templating.static_routers(),
        ],
        template_config=templating.template_config(),
        plugins=[SQLAlchemyPlugin(config=alchemy)],
        on_app_init=[auth.on_app_init, first_in_stack(fast_read)],
        middleware=[
            # The Host check too (Litestar's AllowedHostsMiddleware, run there): the app's
            # `allowed_hosts` would add it to every route's stack as a layer of its own.
            # Litestar matches the whole Host header, port included.
            DefineMiddleware(OriginCheckMiddleware, allowed_origins=settings.allowed_origins, hosts=hosts),
            # Before CSRF, which parses form bodies: sizes, field counts, UTF-8, depth, text, types.
            DefineMiddleware(InputGuardMiddleware),
            DefineMiddleware(csrf_tokens.SessionCSRFMiddleware, config=csrf),
        ],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        openapi_config=OpenAPIConfig(title="careplans", version="0.1.0", path="/schema") if settings.openapi else None,
        on_startup=[session_cleanup.start_cleanup(session_config, alchemy, settings.session_cleanup_minutes),
                    read_audit.start],
        on_shutdown=[pdf.shutdown, session_cleanup.stop_cleanup, read_audit.stop, dispose_engine],
        debug=False,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.csrf_config = csrf
    read_audit.install(app, engine)
    return app
