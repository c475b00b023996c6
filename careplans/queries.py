"""Reading plans: the current version, earlier versions, history, differences, who viewed.

Every read is scoped in its query by the policy (`plan_scope`), audited once per
request by the caller's read function, and presented for the reader's audience by
`careplans.present`. Nothing here decides who sees what.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from careplans import audit, policy, references
from careplans import changes as ch
from careplans import versions
from careplans.audit import Actor
from careplans.catalogue import load_frequencies, load_supervision_modes, option_by_code, product_by_code
from careplans.errors import InvalidInput, NotFound
from careplans.models import (
    Agreement,
    AuditEvent,
    CaseloadAssignment,
    Client,
    Plan,
    PlanVersion,
    PrescribingDecision,
    User,
)
from careplans.policy import Principal
from careplans.present import (
    PlanView,
    Snapshot,
    WhoLooked,
    iso,
    present,
)
from careplans.present import who_looked as present_who_looked
from careplans.rules.agreement import AgreementFacts, agreement_state


def actor(principal: Principal) -> Actor:
    return Actor(id=str(principal.id), role=principal.role)


def parse_id(value: str | uuid.UUID, what: str = "plan") -> uuid.UUID:
    """A record id from a path: anything that is not an id is simply not found."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise NotFound(f"There is no such {what}.") from exc


def reader_of(principal: Principal) -> tuple[policy.Visibility, ch.Reader]:
    audience = policy.audience_of(principal)
    if audience is None:  # pragma: no cover - plan_scope already refuses these principals
        raise NotFound("There is no such plan.")
    vis = policy.visibility(audience)
    return vis, ch.Reader(id=str(principal.id), visibility=vis)


# --- decisions (read with the plan they are about) --------------------------------------------------

def _voiced_worker(text: str | None, by: str) -> dict[str, Any] | None:
    if text is None:
        return None
    return {"text": text, "voice": "worker", "by": by, "by_role": "clinician"}


def decision_record(d: PrescribingDecision, frequencies: dict[str, Any] | None = None,
                    supervision: dict[str, Any] | None = None) -> dict[str, Any]:
    """A stored decision as plain values, names of codes resolved (present() redacts it)."""
    option = option_by_code(d.option)
    product = product_by_code(d.product) if d.product else None
    frequencies = frequencies if frequencies is not None else load_frequencies()
    supervision = supervision if supervision is not None else load_supervision_modes()
    return {
        "id": str(d.id), "plan_id": str(d.plan_id), "plan_version": d.plan_version, "fingerprint": d.fingerprint,
        "decision": d.decision, "option": d.option, "option_name": option.name if option else d.option,
        "product": d.product, "product_name": product.name if product else d.product,
        "dose_mg": d.dose_mg, "frequency": d.frequency,
        "frequency_name": frequencies.get(d.frequency or "", {}).get("name"),
        "supervision": d.supervision, "supervision_name": supervision.get(d.supervision or "", {}).get("name"),
        "instalment_days": d.instalment_days, "pharmacy": d.pharmacy,
        "start_date": d.start_date.isoformat() if d.start_date else None,
        "review_date": d.review_date.isoformat() if d.review_date else None,
        "rationale": _voiced_worker(d.rationale, d.clinician_name),
        "client_explanation": _voiced_worker(d.client_explanation, d.clinician_name),
        "acknowledged_warnings": list(d.acknowledged_warnings or []), "suggestions": list(d.suggestions or []),
        "clinical_context": dict(d.clinical_context or {}), "home_office_licence": d.home_office_licence,
        "by": d.clinician_name, "by_role": "clinician", "at": iso(d.created_at),
    }


def decisions_for_plan(db: Session, plan_id: uuid.UUID, up_to_version: int | None = None) -> list[dict[str, Any]]:
    """Decisions about this plan, latest first (one query)."""
    stmt = select(PrescribingDecision).where(PrescribingDecision.plan_id == plan_id)
    if up_to_version is not None:
        stmt = stmt.where(PrescribingDecision.plan_version <= up_to_version)
    rows = db.execute(stmt.order_by(PrescribingDecision.created_at.desc())).scalars().all()
    frequencies, supervision = load_frequencies(), load_supervision_modes()
    return [decision_record(d, frequencies, supervision) for d in rows]


# --- the plan ------------------------------------------------------------------------------------------

def snapshot(plan: Plan, version: PlanVersion, decisions: list[dict[str, Any]] | None = None,
             content: dict[str, Any] | None = None, *, signatures: list[dict[str, Any]] | None = None,
             party_names: dict[str, str | None] | None = None) -> Snapshot:
    """`content`: the version's whole document (careplans.versions.document_of); it may be
    left out only for a version that holds no check-in records."""
    facts = AgreementFacts(plan.version, plan.client_signed_version, plan.keyworker_signed_version, plan.agreed_version)
    return Snapshot(
        id=str(plan.id), client_id=str(plan.client_id), status=plan.status, current_version=plan.version,
        current_fingerprint=plan.fingerprint, agreement_state=agreement_state(facts),
        agreed_version=plan.agreed_version, agreed_fingerprint=plan.agreed_fingerprint,
        client_signed_version=plan.client_signed_version, keyworker_signed_version=plan.keyworker_signed_version,
        version=version.number, fingerprint=version.fingerprint, created_at=version.created_at,
        content=content if content is not None else versions.self_contained(version),
        decisions=decisions or [], author_id=str(version.author_id), author_name=version.author_name,
        author_role=version.author_role, changes=ch.from_stored(version.changes),
        signatures=signatures or [], party_names=party_names or {},
    )


def party_names(db: Session, plan: Plan) -> dict[str, str | None]:
    """The names the agreement state uses: the client's preferred name and their keyworker's now."""
    row = db.execute(
        select(Client.preferred_name, User.display_name)
        .outerjoin(CaseloadAssignment, and_(CaseloadAssignment.client_id == Client.id,
                                            CaseloadAssignment.relation == "keyworker",
                                            CaseloadAssignment.ended_at.is_(None)))
        .outerjoin(User, User.id == CaseloadAssignment.staff_user_id)
        .where(Client.id == plan.client_id)
    ).first()
    return {"client": row[0], "keyworker": row[1]} if row else {}


def agreement_snapshot(db: Session, plan: Plan, version: PlanVersion, decisions: list[dict[str, Any]] | None = None,
                       content: dict[str, Any] | None = None) -> Snapshot:
    """A snapshot with what the agreement state in words needs (signatures and the parties' names)."""
    if content is None:
        content = versions.document_of(db, version)
    return snapshot(plan, version, decisions, content, signatures=list_signatures(db, plan.id),
                    party_names=party_names(db, plan))


def load_current(db: Session, principal: Principal, plan_id: uuid.UUID, *,
                 purpose: policy.PlanPurpose = "read", lock: bool = False) -> tuple[Plan, PlanVersion]:
    """The plan and its current version, if the principal's scope holds it (else 404)."""
    if lock:
        # Lock the plan row on its own first. In PostgreSQL's READ COMMITTED a locked
        # row is re-checked after the wait; a join on plan.version would then compare the
        # new plan row with the old version row and find nothing, so a waiting editor
        # would be told "no such plan" instead of "someone saved first".
        plan = db.execute(
            select(Plan).where(Plan.id == plan_id, policy.plan_scope(principal, purpose)).with_for_update()
            .execution_options(populate_existing=True)
        ).scalar_one_or_none()
        if plan is None:
            raise NotFound("There is no such plan.")
        version = db.execute(
            select(PlanVersion).where(PlanVersion.plan_id == plan.id, PlanVersion.number == plan.version)
        ).scalar_one()
        return plan, version
    row = db.execute(
        select(Plan, PlanVersion)
        .join(PlanVersion, and_(PlanVersion.plan_id == Plan.id, PlanVersion.number == Plan.version))
        .where(Plan.id == plan_id, policy.plan_scope(principal, purpose))
    ).first()
    if row is None:
        raise NotFound("There is no such plan.")
    return row[0], row[1]


def read_plan(db: Session, principal: Principal, plan_id: str | uuid.UUID, *, audited: bool = True,
              purpose: policy.PlanPurpose = "read") -> PlanView:
    plan, version = load_current(db, principal, parse_id(plan_id), purpose=purpose)
    vis, _ = reader_of(principal)
    view = present(agreement_snapshot(db, plan, version, decisions_for_plan(db, plan.id)), vis, str(principal.id))
    if audited:
        audit.record(db, actor(principal), "plan.read", plan_id=plan.id, client_id=plan.client_id,
                     detail={"version": plan.version})
    return view


def plan_id_for_client(db: Session, client_id: uuid.UUID) -> uuid.UUID | None:
    return db.execute(select(Plan.id).where(Plan.client_id == client_id)).scalar_one_or_none()


# --- agreement and who has seen the plan -------------------------------------------------------------------

def list_signatures(db: Session, plan_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = db.execute(
        select(Agreement, User.display_name).join(User, User.id == Agreement.signer_id)
        .where(Agreement.plan_id == plan_id).order_by(Agreement.signed_at)
    ).all()
    return [{"version": a.version, "fingerprint": a.fingerprint, "role": a.signer_role, "by": name,
             "by_id": str(a.signer_id), "at": iso(a.signed_at)} for a, name in rows]


ACTION_WORDS = {
    "plan.read": "viewed the plan",
    "plan.create": "started the plan",
    "plan.update": "changed the plan",
    "plan.history.read": "looked at the plan's history",
    "plan.version.read": "looked at an earlier version",
    "plan.diff.read": "compared versions",
    "plan.write_refused": "tried to save over a newer version (nothing was overwritten)",
    "goal.create": "added a goal",
    "goal.update": "changed a goal",
    "checkin.create": "added a check-in",
    "choice.create": "recorded a treatment options discussion",
    "agreement.sign": "signed the plan",
    "agreement.refused": "tried to sign an older version",
    "access_log.read": "looked at who has seen the plan",
    "choices.read": "looked at the treatment options discussed",
    "prescribing.decide": "made a prescribing decision",
    "prescribing.refused": "tried to decide on an older version (nothing was saved)",
    "plan.export.fhir": "downloaded the plan as a health record file (FHIR)",
    "plan.export.pack": "downloaded the plan to take to another service (PDF and health record file)",
    "plan.pdf.read": "downloaded a copy (PDF)",
    "plan.copy.read": "previewed a copy",
    "share.create": "made a link to share a copy",
    "share.revoke": "stopped a shared link",
    "shares.read": "looked at the shared links",
    "share.open": "opened a copy you shared by link",
    "share.passcode_refused": "tried a shared link with the wrong passcode",
}


def access_log(db: Session, principal: Principal, plan_id: str | uuid.UUID, limit: int = 200,
               *, audited: bool = True) -> list[dict[str, Any]]:
    plan, _ = load_current(db, principal, parse_id(plan_id), purpose="write")
    rows = db.execute(
        select(AuditEvent.at, AuditEvent.action, AuditEvent.actor_role, AuditEvent.actor_id)
        .where(AuditEvent.plan_id == str(plan.id))
        .order_by(AuditEvent.seq.desc()).limit(limit)
    ).all()
    # Audit rows keep actor ids as text so the log outlives any account change;
    # names are looked up in one query.
    ids = {uuid.UUID(r.actor_id) for r in rows if r.actor_id}
    names = dict(db.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all()) if ids else {}
    if audited:
        audit.record(db, actor(principal), "access_log.read", plan_id=plan.id, client_id=plan.client_id, detail={})
    return [{"at": iso(r.at), "who": names.get(uuid.UUID(r.actor_id), "unknown") if r.actor_id
             else ("someone with a shared link" if r.actor_role == "recipient" else "unknown"),
             "role": r.actor_role, "action": r.action,
             "what": ACTION_WORDS.get(r.action, r.action.replace(".", " "))} for r in rows]


def who_looked(db: Session, principal: Principal, plan_id: str | uuid.UUID, *, audited: bool = True,
               now: dt.datetime | None = None) -> WhoLooked:
    """Everyone who has looked at or changed the plan, readable: grouped by person and day,
    other people first, the reader's own visits folded into a line (every event is kept)."""
    from careplans.views import LOCAL_TZ

    plan, _ = load_current(db, principal, parse_id(plan_id), purpose="write")
    rows = db.execute(
        select(AuditEvent.at, AuditEvent.action, AuditEvent.actor_role, AuditEvent.actor_id)
        .where(AuditEvent.plan_id == str(plan.id)).order_by(AuditEvent.seq.desc())
    ).all()
    ids = {uuid.UUID(r.actor_id) for r in rows if r.actor_id}
    names = {str(k): v for k, v in db.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all()} \
        if ids else {}
    if audited:
        audit.record(db, actor(principal), "access_log.read", plan_id=plan.id, client_id=plan.client_id, detail={})
    events = [{"at": r.at if r.at.tzinfo else r.at.replace(tzinfo=dt.timezone.utc), "action": r.action,
               "actor_role": r.actor_role, "actor_id": r.actor_id} for r in rows]
    return present_who_looked(events, str(principal.id), names, ACTION_WORDS,
                              now or dt.datetime.now(dt.timezone.utc), LOCAL_TZ)


# --- the audit log, for auditors ------------------------------------------------------------------------------

def audit_events(db: Session, principal: Principal, secret: str, *, plan_ref: str | None = None, after: int = 0,
                 limit: int = 200) -> dict[str, Any]:
    """A page of the audit log, pseudonymised, oldest first, filtered and paged in SQL.

    `plan_ref` is the plan's pseudonym (the "plan" value events carry, "P-…"): the only
    plan id form an auditor sees. A raw plan id is refused, so the log cannot be used
    to confirm a record id found elsewhere. Keyset paging: pass `next_after` back as
    `after`."""
    policy.require(principal, "audit.events")
    stmt = select(AuditEvent).where(policy.audit_event_scope(principal), AuditEvent.seq > after)
    if plan_ref is not None:
        if not plan_ref.startswith("P-"):
            raise InvalidInput("plan_id", "Use the plan reference shown in the audit log, for example P-3f9a21c04b7e.")
        ids = [str(pid) for pid in references.plan_ids(db, secret, plan_ref)]
        stmt = stmt.where(AuditEvent.plan_id.in_(ids))
    rows = db.execute(stmt.order_by(AuditEvent.seq).limit(limit)).scalars().all()
    items = []
    for ev in rows:
        detail = json.loads(ev.detail)
        for key in ("user_id", "goal_id", "check_in_id", "entry_id", "decision_id", "intervention_id"):
            if key in detail:
                detail[key] = policy.pseudonym(secret, key[:-3], detail[key])
        items.append({
            "seq": ev.seq, "at": ev.at.isoformat(), "action": ev.action,
            "actor": policy.actor_pseudonym(secret, ev.actor_role, ev.actor_id), "actor_role": ev.actor_role,
            "plan": policy.pseudonym(secret, "plan", ev.plan_id),
            "client": policy.pseudonym(secret, "client", ev.client_id),
            "detail": detail, "hash": ev.hash,
        })
    audit.record(db, actor(principal), "audit.events.read",
                 detail={"count": len(items), "after": after, "filtered": plan_ref is not None})
    return {"items": items, "next_after": rows[-1].seq if rows else after}
