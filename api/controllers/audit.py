"""The audit log for auditors: verification and pseudonymised events."""

from __future__ import annotations

import json
from typing import Annotated

from litestar import Request, get
from litestar.params import Parameter
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import transact
from api.security import roles
from careplans import audit
from careplans.models import AuditEvent


@get("/api/audit/verify", guards=[roles("auditor", "admin")], sync_to_thread=True, tags=["audit"],
     summary="Recompute the audit chain and check every plan version")
def verify(db_session: Session) -> dict:
    return transact(db_session, lambda: audit.verify(db_session)).as_dict()


@get("/api/audit/events", guards=[roles("auditor")], sync_to_thread=True, tags=["audit"],
     summary="The audit log, pseudonymised")
def events(
    request: Request,
    db_session: Session,
    plan_id: Annotated[str | None, Parameter(max_length=64)] = None,
    after: Annotated[int, Parameter(ge=0)] = 0,
    limit: Annotated[int, Parameter(ge=1, le=1000)] = 200,
) -> dict:
    secret = request.app.state.settings.secret_key
    stmt = select(AuditEvent).where(AuditEvent.seq > after).order_by(AuditEvent.seq).limit(limit)
    rows = transact(db_session, lambda: db_session.execute(stmt).scalars().all())
    items = []
    for ev in rows:
        plan_p = audit.pseudonym(secret, "plan", ev.plan_id)
        if plan_id and plan_id not in (plan_p, ev.plan_id):
            continue
        detail = json.loads(ev.detail)
        for key in ("user_id", "goal_id", "check_in_id", "entry_id", "decision_id"):
            if key in detail:
                detail[key] = audit.pseudonym(secret, key[:-3], detail[key])
        items.append({
            "seq": ev.seq, "at": ev.at.isoformat(), "action": ev.action,
            "actor": audit.pseudonym(secret, "staff" if ev.actor_role != "client" else "client", ev.actor_id),
            "actor_role": ev.actor_role, "plan": plan_p,
            "client": audit.pseudonym(secret, "client", ev.client_id),
            "detail": detail, "hash": ev.hash,
        })
    return {"items": items, "next_after": rows[-1].seq if rows else after}
