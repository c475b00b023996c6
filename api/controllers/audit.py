"""The audit log for auditors: verification and pseudonymised events."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, get
from sqlalchemy.orm import Session

from api.deps import transact
from api.guards import AUDIT_EVENTS, AUDIT_VERIFY, principal_of
from api.schemas import AuditEvents, AuditVerify, out
from careplans import audit, queries
from litestar.params import QueryParameter
from api.deps import DbSession


@get("/api/audit/verify", guards=[AUDIT_VERIFY], sync_to_thread=True, tags=["audit"],
     summary="Recompute the audit chain and check every plan version")
def verify(db_session: DbSession) -> AuditVerify:
    return out(transact(db_session, lambda: audit.verify(db_session)).as_dict(), AuditVerify)


@get("/api/audit/events", guards=[AUDIT_EVENTS], sync_to_thread=True, tags=["audit"],
     summary="The audit log, pseudonymised, oldest first (keyset paging with ?after=)")
def events(
    request: Request,
    db_session: DbSession,
    plan_id: Annotated[str | None, QueryParameter(max_length=64, description="the plan reference (P-…) events carry")] = None,
    after: Annotated[int, QueryParameter(ge=0, le=2**63 - 1)] = 0,
    limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 200,
) -> AuditEvents:
    principal = principal_of(request)
    secret = request.app.state.settings.secret_key
    return out(transact(db_session, lambda: queries.audit_events(
        db_session, principal, secret, plan_ref=plan_id, after=after, limit=limit)), AuditEvents)
