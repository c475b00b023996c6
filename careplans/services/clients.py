"""Clients and caseloads."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from careplans import audit, document, policy, present
from careplans.policy import Principal, client_scope
from careplans.errors import InvalidInput, NotFound
from careplans.models import CaseloadAssignment, Client, Plan, PlanVersion, User
from careplans.rules.agreement import AgreementFacts, agreement_state
from careplans.rules.identifiers import nhs_number_is_valid, normalise_nhs_number
from careplans.queries import actor

_REF_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread


def new_client_reference() -> str:
    return "CP-" + "".join(secrets.choice(_REF_ALPHABET) for _ in range(8))


def _parse_id(value: Any, what: str = "client") -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise NotFound(f"There is no such {what}.") from exc


def _keyworker_ids(db: Session, client_ids: list[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    if not client_ids:
        return {}
    rows = db.execute(
        select(CaseloadAssignment.client_id, CaseloadAssignment.staff_user_id).where(
            CaseloadAssignment.client_id.in_(client_ids), CaseloadAssignment.relation == "keyworker",
            CaseloadAssignment.ended_at.is_(None))
    ).all()
    return {r.client_id: r.staff_user_id for r in rows}


def client_view(client: Client, keyworker_id: uuid.UUID | None, plan_id: uuid.UUID | None, *,
                clinical: bool = True) -> dict[str, Any]:
    view = {
        "id": str(client.id),
        "client_reference": client.client_reference,
        "preferred_name": client.preferred_name,
        "pronouns": client.pronouns,
        "keyworker_id": str(keyworker_id) if keyworker_id else None,
        "plan_id": str(plan_id) if plan_id else None,
    }
    if clinical:
        view["date_of_birth"] = client.date_of_birth.isoformat() if client.date_of_birth else None
        view["nhs_number"] = client.nhs_number
    return view


def list_clients(db: Session, viewer: Principal, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    """The caller's caseload with what a worker needs to plan their day (admins: everyone, no clinical fields)."""
    scope = client_scope(viewer)
    total = db.execute(select(func.count()).select_from(Client).where(scope)).scalar_one()
    rows = db.execute(
        select(Client, Plan)
        .outerjoin(Plan, Plan.client_id == Client.id)
        .where(scope)
        .order_by(Client.preferred_name, Client.id)
        .limit(limit).offset(offset)
    ).all()
    plan_ids = [p.id for _, p in rows if p is not None]
    reviews: dict[uuid.UUID, str | None] = {}
    clinical = policy.sees_clinical_identity(viewer)
    if plan_ids and clinical:
        for pid, content in db.execute(
            select(PlanVersion.plan_id, PlanVersion.content)
            .join(Plan, and_(Plan.id == PlanVersion.plan_id, Plan.version == PlanVersion.number))
            .where(PlanVersion.plan_id.in_(plan_ids))
        ).all():
            reviews[pid] = document.parse(content).get("next_review_date")
    keyworkers = _keyworker_ids(db, [c.id for c, _ in rows])
    items = []
    for client, plan in rows:
        item = client_view(client, keyworkers.get(client.id), plan.id if plan else None,
                           clinical=clinical)
        if plan is not None and clinical:
            item["plan_version"] = plan.version
            item["agreement_state"] = agreement_state(AgreementFacts(
                plan.version, plan.client_signed_version, plan.keyworker_signed_version, plan.agreed_version))
            audience = policy.audience_of(viewer)
            if audience is not None:
                words = present.agreement_headline(
                    {"current_version": plan.version, "client_signed_version": plan.client_signed_version,
                     "keyworker_signed_version": plan.keyworker_signed_version,
                     "agreed_version": plan.agreed_version}, policy.visibility(audience), client.preferred_name)
                item["agreement_headline"], item["agreement_tone"] = words.headline, words.tone
            item["next_review_date"] = reviews.get(plan.id)
        items.append(item)
    return {"items": items, "total": total, "limit": limit, "offset": offset}


def get_client(db: Session, viewer: Principal, client_id: Any) -> dict[str, Any]:
    cid = _parse_id(client_id)
    row = db.execute(
        select(Client, Plan.id).outerjoin(Plan, Plan.client_id == Client.id).where(Client.id == cid, client_scope(viewer))
    ).first()
    if row is None:
        raise NotFound("There is no such client.")
    client, plan_id = row
    return client_view(client, _keyworker_ids(db, [cid]).get(cid), plan_id, clinical=policy.sees_clinical_identity(viewer))


def create_client(db: Session, viewer: Principal, *, preferred_name: str, date_of_birth: dt.date | None = None,
                  pronouns: str | None = None, nhs_number: str | None = None,
                  keyworker_id: str | None = None, user_id: uuid.UUID | None = None,
                  today: dt.date | None = None) -> dict[str, Any]:
    today = today or dt.date.today()
    if not preferred_name.strip():
        raise InvalidInput("preferred_name", "Enter the name this person wants to be called.")
    if date_of_birth is not None and date_of_birth > today:
        raise InvalidInput("date_of_birth", "Date of birth must be in the past.")
    if date_of_birth is not None and date_of_birth < dt.date(today.year - 120, 1, 1):
        raise InvalidInput("date_of_birth", "Date of birth is too far in the past.")
    if nhs_number:
        nhs_number = normalise_nhs_number(nhs_number)
        if not nhs_number_is_valid(nhs_number):
            raise InvalidInput("nhs_number", "NHS number is not valid: check the 10 digits.")
    policy.require(viewer, "clients.create")
    requested = _parse_id(keyworker_id, "keyworker") if keyworker_id else None
    kw = policy.keyworker_for_new_client(viewer, requested)
    if kw is not None and kw != viewer.id:
        if db.execute(select(User.id).where(User.id == kw, User.role == policy.KEYWORKER)).first() is None:
            raise InvalidInput("keyworker_id", "There is no keyworker with that id.")
    client = Client(client_reference=new_client_reference(), preferred_name=preferred_name.strip(),
                    pronouns=(pronouns or "").strip() or None, date_of_birth=date_of_birth,
                    nhs_number=nhs_number or None, user_id=user_id, triage_date=today)
    db.add(client)
    db.flush()
    if kw is not None:
        db.add(CaseloadAssignment(client_id=client.id, staff_user_id=kw, relation="keyworker"))
    audit.record(db, actor(viewer), "client.create", client_id=client.id, detail={})
    db.flush()
    return client_view(client, kw, None)


def assign_staff(db: Session, client_id: uuid.UUID, staff_user_id: uuid.UUID, relation: str) -> None:
    """Admin use: put a client on a keyworker's caseload or a clinician's prescribing list."""
    exists = db.execute(select(CaseloadAssignment).where(
        CaseloadAssignment.client_id == client_id, CaseloadAssignment.staff_user_id == staff_user_id,
        CaseloadAssignment.relation == relation)).scalar_one_or_none()
    if exists is None:
        db.add(CaseloadAssignment(client_id=client_id, staff_user_id=staff_user_id, relation=relation))
    else:
        exists.ended_at = None
    db.flush()
