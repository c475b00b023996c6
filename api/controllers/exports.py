"""Exports of a plan: the FHIR R4 bundle (`GET /api/plans/{id}/fhir`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, get
from litestar.params import FromPath, QueryParameter

from api.deps import DbSession, transact
from api.guards import EXPORT, principal_of
from careplans import exports, policy

FHIR_JSON = "application/fhir+json"
Audience = Literal["client", "gp", "pharmacy", "custom"]


def sections_of(raw: str | None) -> frozenset[str] | None:
    """`sections=goals,choices` for a custom copy; unknown names are ignored, never widen."""
    if raw is None:
        return None
    return frozenset(s.strip() for s in raw.split(",") if s.strip()) & frozenset(policy.SECTIONS)


@get("/api/plans/{plan_id:str}/fhir", guards=[EXPORT], sync_to_thread=True, tags=["exports"],
     summary="The plan as a FHIR R4 Bundle of what you (or the audience you name) may see",
     media_type=FHIR_JSON)
def fhir_bundle(
    request: Request, db_session: DbSession, plan_id: FromPath[str],
    version: Annotated[int | None, QueryParameter(ge=1, le=2**31 - 1, description="a plan version; default current")] = None,
    audience: Annotated[Audience | None, QueryParameter(description="export only what this audience may see")] = None,
    sections: Annotated[str | None, QueryParameter(max_length=200, description="custom audience: comma-separated sections")] = None,
) -> Response[dict[str, Any]]:  # documented as the JSON object it is; sent as encoded bytes
    principal = principal_of(request)
    bundle = transact(db_session, lambda: exports.fhir_bundle(
        db_session, principal, plan_id, version=version, audience=audience, sections=sections_of(sections)))
    # The same version for the same audience is the same bundle: its id says both.
    return Response(msgspec.json.encode(bundle), media_type=FHIR_JSON, headers={"ETag": f'"{bundle["id"]}"'})


ROUTES = [fhir_bundle]
