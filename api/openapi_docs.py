"""What the OpenAPI schema says each operation can answer besides success, decided in one place.

Every API handler is documented by the same rules, through Litestar's own means (ResponseSpec
for error responses, ResponseHeader for ETag, the handler's operation_class for the If-Match
request header and Retry-After), so Schemathesis can check statuses, headers and bodies:

- any operation: 400 (malformed request), 413 (too large, too many fields), 422 (a value
  refused, naming the field) and 503 with Retry-After (the database is away);
- behind login: 401; with a guard or an unsafe method (Origin and CSRF checks): 403;
- a path parameter: 404;
- a write based on a plan version (the handler reads If-Match): the optional If-Match
  header, 409 (someone saved first) and 428 (If-Match missing);
- an answer that carries a version (the handler sets ETag): the ETag header;
- EXTRA below: what particular operations add (409 on creating what exists, 429 on logging in).

Which handlers read If-Match or set ETag is read from the handler's own code, so the
documentation follows the code rather than a list that could fall behind it.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

from litestar.datastructures import ResponseHeader
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import OpenAPIHeader, OpenAPIType, Operation, Parameter, Schema

from api.errors import PROBLEM, TITLES

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
IF_MATCH_PATTERN = r'^\s*(W/)?"?[0-9]{1,9}"?\s*$'


@dataclass
class FieldProblem:
    field: str
    message: str


@dataclass
class Problem:
    """An error answer (RFC 9457 problem details). 409 after a version conflict adds
    current_version, your_version and current; 422 adds errors, one per field."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] | None = None
    warnings: list[Any] | None = None
    current_version: int | None = None
    your_version: int | None = None
    current: dict[str, Any] | None = field(default=None)


DESCRIPTIONS = {
    400: "The request is malformed: not valid JSON or UTF-8, nested too deeply, or a header is not understood.",
    401: "Not logged in, or the session has ended.",
    403: "This person may not do this, or the request came from another site (Origin, CSRF token).",
    404: "There is no such record this person can see.",
    409: "Someone else saved first (the body says which version is current), or it exists already.",
    413: "The request body, form or query string is too large.",
    422: "A value is not accepted; `errors` names each field.",
    428: "Send If-Match with the plan version the change is based on.",
    429: "Too many attempts; Retry-After says how many seconds to wait.",
    503: "The database cannot be reached just now; nothing was saved. Retry-After says when to try again.",
}

# What particular operations add to the rules (method and path as the schema spells them).
EXTRA: dict[tuple[str, str], set[int]] = {
    ("POST", "/api/session"): {401, 429},
    ("POST", "/api/clients/{client_id}/plans"): {409},
    ("POST", "/api/plans/{plan_id}/agreements"): {409},
    ("GET", "/api/audit/choice-report"): {404},  # ?plan= names a plan reference that does not exist
}

RETRY_AFTER = OpenAPIHeader(schema=Schema(type=OpenAPIType.INTEGER, minimum=0),
                            description="Seconds to wait before trying again.", required=True)
IF_MATCH = Parameter(
    name="If-Match", param_in="header", required=False,  # missing → 428, documented
    schema=Schema(type=OpenAPIType.STRING, pattern=IF_MATCH_PATTERN),
    description='The plan version this change is based on, as the ETag gave it, for example "3".')


@dataclass
class DocumentedOperation(Operation):
    """An Operation that adds what ResponseSpec cannot say: Retry-After on 429 and 503,
    and the If-Match header for the handlers that read it."""

    def __post_init__(self) -> None:
        for code, response in (self.responses or {}).items():
            if code in ("429", "503") and hasattr(response, "headers"):
                response.headers = {**(response.headers or {}), "Retry-After": RETRY_AFTER}


@dataclass
class IfMatchOperation(DocumentedOperation):
    def __post_init__(self) -> None:
        super().__post_init__()
        self.parameters = [*(self.parameters or []), IF_MATCH]


def _source(handler: HTTPRouteHandler) -> str:
    try:
        return inspect.getsource(handler.fn)
    except (OSError, TypeError):
        return ""


def error_codes(handler: HTTPRouteHandler, path: str) -> set[int]:
    methods = set(handler.http_methods)
    codes = {400, 413, 422, 503}
    if not handler.opt.get("exclude_from_auth"):
        codes.add(401)
    if handler.guards or methods & UNSAFE:
        codes.add(403)
    if "{" in path:
        codes.add(404)
    if "if_match_version(" in _source(handler):
        codes |= {409, 428}
    for method in methods:
        codes |= EXTRA.get((method, path), set())
    return codes


def document(handler: HTTPRouteHandler) -> None:
    """Set the handler's documented error responses and headers (idempotent)."""
    for path in handler.paths:
        if not (path.startswith("/api/") or path.startswith("/health")):
            continue
        schema_path = path.replace(":str}", "}").replace(":int}", "}")
        handler.responses = {code: ResponseSpec(data_container=Problem, media_type=PROBLEM, generate_examples=False,
                                                description=DESCRIPTIONS.get(code, TITLES.get(code, "Error")))
                             for code in sorted(error_codes(handler, schema_path))}
        source = _source(handler)
        if "etag(" in source or '"ETag"' in source:
            handler.response_headers = [ResponseHeader(
                name="ETag", value='"1"', documentation_only=True, required=True,
                description='The version this answer shows (a plan version for If-Match on the next change).')]
        handler.operation_class = IfMatchOperation if "if_match_version(" in source else DocumentedOperation
