"""Route guards: each route names the policy action it performs; the policy decides.

`allow(action)` is the only guard a route needs: not logged in → 401; a role the
policy does not give that action → 403. Which *record* the caller may reach is
decided inside the query (`careplans.policy.*_scope`), which answers 404.
There is no role list here: the roles for each action live in `careplans.policy.ACTIONS`.
"""

from __future__ import annotations

from functools import partial

from litestar import HttpMethod
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.handlers.http_handlers import HTTPRouteHandler

from careplans import policy
from careplans.policy import Principal

# Routes anyone may call without logging in (method, path). Everything else names an action.
PUBLIC_ROUTES: frozenset[tuple[str, str]] = frozenset({
    ("POST", "/api/session"), ("GET", "/health"), ("GET", "/health/live"),
    ("GET", "/login"), ("POST", "/login"), ("GET", "/logged-out"),
    # A share link: the token is the key (careplans.shares.open_share answers 404 for any other).
    ("GET", "/s/{token:str}"), ("POST", "/s/{token:str}"),
})


def principal_of(connection: ASGIConnection) -> Principal:
    user = connection.scope.get("user")
    if not isinstance(user, Principal):
        raise NotAuthorizedException("Log in to continue.")
    return user


def allow(action: str):
    """Guard: the policy must give the caller's role this action."""
    policy.roles_for(action)  # an unknown action fails at import, not at request time

    # async: Litestar runs a synchronous guard in the thread pool, a hop per request for a
    # dictionary lookup.
    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        if not policy.may(principal_of(connection), action):
            raise PermissionDeniedException("Your role does not give access to this.")

    guard.__name__ = f"allow_{action.replace('.', '_')}"
    guard.action = action  # type: ignore[attr-defined]
    return guard


class PolicyRouteHandler(HTTPRouteHandler):
    """Litestar's route handler, whose guards are handed the handler itself.

    Litestar hands each guard a copy of the handler (`BaseRouteHandler.authorize_connection`),
    in case a guard changes it. The guards here (`allow`) never look at it, and the copy was
    about a twentieth of a cached plan read's CPU; the hottest routes use it: `get_route`
    (plan read) and `post_route` (check-ins) are `get` and `post` otherwise."""

    async def authorize_connection(self, connection: ASGIConnection) -> None:
        for guard in self.resolve_guards():
            await guard(connection, self)


# `@get_route(path, ...)` as `@get(path, ...)`. (Subclassing `get` itself is deprecated.)
get_route = partial(PolicyRouteHandler, http_method=HttpMethod.GET)
post_route = partial(PolicyRouteHandler, http_method=HttpMethod.POST)


def action_of(handler: BaseRouteHandler) -> str | None:
    """The policy action a route's guard names (None: the route has no policy decision)."""
    actions = {getattr(getattr(g, "ref", g), "action", None) for g in handler.guards or []} - {None}
    if len(actions) > 1:
        raise AssertionError(f"{handler} names more than one policy action: {sorted(actions)}")
    return next(iter(actions), None)


# The guards routes use, by what they do.
SIGNED_IN = allow("session.use")
OPTIONS = allow("options.read")
CLIENTS_LIST = allow("clients.list")
CLIENTS_CREATE = allow("clients.create")
CLIENTS_READ = allow("clients.read")
CASELOAD = allow("caseload.read")
MY_PLAN = allow("my_plan.read")
PLAN_CREATE = allow("plans.create")
READERS = allow("plans.read")
WRITERS = allow("plans.write")
SIGNERS = allow("plans.sign")
ACCESS_LOG = allow("plans.access_log")
EXPORT = allow("plans.export")
PRESCRIBING_QUEUE = allow("prescribing.queue")
CLINICIANS = allow("prescribing.decide")
AUDIT_EVENTS = allow("audit.events")
AUDIT_PRESCRIBING = allow("audit.prescribing")
AUDIT_VERIFY = allow("audit.verify")
AUDIT_REPORTS = allow("audit.reports")
FEEDBACK_GIVE = allow("feedback.give")
FEEDBACK_READ = allow("feedback.read")
STAFF_UNLOCK = allow("staff.unlock")
AUDIT_NDTMS = allow("audit.ndtms")
EPISODE_READ = allow("episode.read")
EPISODE_WRITE = allow("episode.write")
INTERVENTIONS_WRITE = allow("interventions.write")
