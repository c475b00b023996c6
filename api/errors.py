"""Errors as application/problem+json (RFC 9457) for the API; pages get HTML or a login redirect."""

from __future__ import annotations

import logging
import re
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.response import Redirect
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from sqlalchemy.exc import OperationalError

from careplans.errors import DomainError, InvalidInput, VersionConflict

log = logging.getLogger("careplans")
PROBLEM = "application/problem+json"

TITLES = {
    400: "Bad request",
    401: "Not logged in",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    412: "Precondition failed",
    413: "Too large",
    422: "Check what you entered",
    428: "Say which version you started from",
    429: "Too many attempts",
    500: "Something went wrong on our side",
    503: "Not available just now",
}

_FIELD_RE = re.compile(r"`\$\.([^`]+)`")
_UNKNOWN_RE = re.compile(r"unknown field `([^`]+)`")


def problem(status: int, detail: str, **extra: Any) -> Response:
    body = {"type": "about:blank", "title": TITLES.get(status, "Error"), "status": status, "detail": detail}
    body.update(extra)
    return Response(body, status_code=status, media_type=PROBLEM)


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api") and request.url.path not in ("/health",)


def _validation_errors(exc: ValidationException) -> list[dict[str, str]]:
    errors: list[dict[str, str]] = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", "This value is not valid."))
        field = item.get("key")
        if m := _UNKNOWN_RE.search(message):
            name = m.group(1)
            where = _FIELD_RE.search(message)
            prefix = where.group(1) if where else (field if field not in (None, "data", "body") else None)
            field = f"{prefix}.{name}" if prefix else name
            message = f"“{name}” is not a field this accepts."
        elif m := _FIELD_RE.search(message):
            field = m.group(1)
        if field in (None, "data", "body"):
            field = "body"
        errors.append({"field": str(field).replace("[", ".").replace("]", ""), "message": message})
    return errors or [{"field": "body", "message": exc.detail or "The request body is not valid."}]


def handle_http(request: Request, exc: HTTPException) -> Response:
    if isinstance(exc, ValidationException):
        errors = _validation_errors(exc)
        if _wants_html(request):
            return _html(request, 422, "; ".join(e["message"] for e in errors))
        return problem(422, "Some of what was sent is not valid.", errors=errors)
    status = exc.status_code
    detail = exc.detail
    if isinstance(exc, NotAuthorizedException):
        detail = "Log in to continue."
    if status >= 500:
        # Internal details (template names, exception text) are for the log, not the page.
        log.error("%s on %s %s: %s", status, request.method, request.url.path, type(exc).__name__)
        detail = "Something went wrong on our side. What you typed has not been saved."
    if _wants_html(request):
        if isinstance(exc, NotAuthorizedException):
            return Redirect(path=f"/login?next={request.url.path}")
        return _html(request, status, detail or TITLES.get(status, "Error"))
    return problem(status, detail or TITLES.get(status, "Error"))


def handle_domain(request: Request, exc: DomainError) -> Response:
    status = exc.status_hint
    if _wants_html(request):
        return _html(request, status, exc.detail)
    if isinstance(exc, VersionConflict):
        return problem(409, exc.detail, current_version=exc.current_version, your_version=exc.your_version,
                       current=exc.current)
    if isinstance(exc, InvalidInput):
        return problem(422, exc.detail, errors=exc.errors)
    extra = {k: v for k, v in {"errors": getattr(exc, "errors", None),
                                "warnings": getattr(exc, "warnings", None)}.items() if v}
    response = problem(status, exc.detail, **extra)
    if (retry_after := getattr(exc, "retry_after", None)) is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def handle_internal(request: Request, exc: Exception) -> Response:
    # Never log request bodies: they may hold clinical free text or passwords.
    log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path,
              exc_info=request.app.debug or log.isEnabledFor(logging.DEBUG))
    if _wants_html(request):
        return _html(request, 500, "Something went wrong on our side. What you typed has not been saved.")
    return problem(HTTP_500_INTERNAL_SERVER_ERROR, "Something went wrong on our side.")


def _html(request: Request, status: int, detail: str) -> Response:
    from litestar.response import Template

    try:
        return Template("error.html", context={"status": status, "title": TITLES.get(status, "Error"),
                                               "detail": detail}, status_code=status)
    except Exception:  # pragma: no cover - template missing during early set-up
        return Response(f"{TITLES.get(status, 'Error')}: {detail}", status_code=status, media_type=MediaType.TEXT)


RETRY_AFTER_SECONDS = 5


def handle_database_unavailable(request: Request, exc: OperationalError) -> Response:
    """The database refused or went away (connection refused, reset, server restarting):
    503 with Retry-After, not 500. The transaction did not commit, so nothing was saved
    and nothing acknowledged is lost; the pool reconnects by itself when the database returns."""
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, type(exc.orig).__name__)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    detail = "The service cannot reach its database just now. Nothing was saved; try again in a few seconds."
    if _wants_html(request):
        response = _html(request, 503, detail)
    else:
        response = problem(503, detail)
    response.headers.update(headers)
    return response


EXCEPTION_HANDLERS = {
    HTTPException: handle_http,
    DomainError: handle_domain,
    OperationalError: handle_database_unavailable,
    Exception: handle_internal,
}
