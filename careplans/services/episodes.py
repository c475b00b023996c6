"""The treatment episode as data, for the national return (NDTMS; careplans.ndtms).

Dates and codes only, never text: referral, triage and discharge dates, the reason for
leaving treatment, consent to report, and each intervention's type, setting, start and
end dates. The care plan start date is `plans.start_date`; outcome (TOP) dates and stages
are the assessments'. Who may record what is `careplans.policy` (`episode.*`,
`interventions.write`); which clients, `policy.client_scope` in every query. Each change
is one audit event naming the fields changed (their values are dates and codes).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from careplans import audit, policy
from careplans.errors import InvalidInput, NotFound, date_or_refuse
from careplans.models import Client, Intervention, Plan
from careplans.policy import Principal
from careplans.queries import actor
from careplans.vocab import DISCHARGE_REASONS, INTERVENTION_SETTINGS, INTERVENTION_TYPES

EPISODE_FIELDS = ("referral_date", "triage_date", "discharged_on", "discharge_reason", "consent_to_report")
DATE_FIELDS = ("referral_date", "triage_date", "discharged_on")


def _id(value: Any, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise NotFound(f"There is no such {what}.") from exc


def _date(value: Any, field: str, today: dt.date) -> dt.date | None:
    if value in (None, ""):
        return None
    day = date_or_refuse(value, field, "Give a date such as 2026-04-01.")
    if day > today:
        raise InvalidInput(field, "This date is in the future.")
    if day < dt.date(1990, 1, 1):
        raise InvalidInput(field, "This date is too far in the past.")
    return day


def _client(db: Session, principal: Principal, client_id: Any, *, lock: bool = False) -> Client:
    stmt = select(Client).where(Client.id == _id(client_id, "client"), policy.client_scope(principal))
    client = db.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()
    if client is None:
        raise NotFound("There is no such client.")
    return client


def _intervention_view(i: Intervention) -> dict[str, Any]:
    return {"id": str(i.id), "intervention_type": i.intervention_type, "setting": i.setting,
            "type_words": INTERVENTION_TYPES.words(i.intervention_type),
            "setting_words": INTERVENTION_SETTINGS.words(i.setting),
            "start_date": i.start_date.isoformat(), "end_date": i.end_date.isoformat() if i.end_date else None}


def episode(db: Session, principal: Principal, client_id: Any) -> dict[str, Any]:
    """The client's episode dates, reason, consent and interventions (newest first)."""
    policy.require(principal, "episode.read")
    client = _client(db, principal, client_id)
    plan_start = db.execute(select(Plan.start_date).where(Plan.client_id == client.id)).scalar_one_or_none()
    items = db.execute(select(Intervention).where(Intervention.client_id == client.id)
                       .order_by(Intervention.start_date.desc(), Intervention.created_at.desc())).scalars().all()
    return {
        "client_id": str(client.id),
        "referral_date": _iso(client.referral_date), "triage_date": _iso(client.triage_date),
        "care_plan_start_date": _iso(plan_start),
        "discharged_on": _iso(client.discharged_on), "discharge_reason": client.discharge_reason,
        "consent_to_report": client.consent_to_report,
        "interventions": [_intervention_view(i) for i in items],
        "may_record_interventions": policy.may(principal, "interventions.write"),
    }


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def update_episode(db: Session, principal: Principal, client_id: Any, changes: dict[str, Any], *,
                   today: dt.date | None = None) -> dict[str, Any]:
    """Set some of the episode fields (an absent key is left alone; None clears it).
    Refused with 422 naming the field when the dates are out of order or a discharge has
    no reason (or a reason without a date)."""
    policy.require(principal, "episode.write")
    today = today or dt.date.today()
    unknown = set(changes) - set(EPISODE_FIELDS)
    if unknown:
        raise InvalidInput(sorted(unknown)[0], "This is not one of the episode's fields.")
    client = _client(db, principal, client_id, lock=True)
    new = {f: getattr(client, f) for f in EPISODE_FIELDS}
    for field in DATE_FIELDS:
        if field in changes:
            new[field] = _date(changes[field], field, today)
    if "discharge_reason" in changes:
        reason = changes["discharge_reason"] or None
        if reason is not None and reason not in DISCHARGE_REASONS:
            raise InvalidInput("discharge_reason", "Choose one of the reasons listed.")
        new["discharge_reason"] = reason
    if "consent_to_report" in changes:
        consent = changes["consent_to_report"]
        if consent not in (True, False, None):
            raise InvalidInput("consent_to_report", "Answer yes, no, or not asked yet.")
        new["consent_to_report"] = consent
    if new["referral_date"] and new["triage_date"] and new["triage_date"] < new["referral_date"]:
        raise InvalidInput("triage_date", "Triage cannot be before the referral.")
    first = new["triage_date"] or new["referral_date"]
    if new["discharged_on"] and first and new["discharged_on"] < first:
        raise InvalidInput("discharged_on", "Leaving treatment cannot be before the referral or triage.")
    if new["discharged_on"] and not new["discharge_reason"]:
        raise InvalidInput("discharge_reason", "Give the reason the person left treatment.")
    if new["discharge_reason"] and not new["discharged_on"]:
        raise InvalidInput("discharged_on", "Give the date the person left treatment.")
    changed = sorted(f for f in EPISODE_FIELDS if new[f] != getattr(client, f))
    for field in changed:
        setattr(client, field, new[field])
    if changed:
        audit.record(db, actor(principal), "episode.update", client_id=client.id, detail={"fields": changed})
    db.flush()
    return episode(db, principal, client.id)


def add_intervention(db: Session, principal: Principal, client_id: Any, body: dict[str, Any], *,
                     today: dt.date | None = None) -> dict[str, Any]:
    """Record an intervention: type, setting, start date and (when it has ended) end date."""
    policy.require(principal, "interventions.write")
    today = today or dt.date.today()
    client = _client(db, principal, client_id)
    kind, setting = body.get("intervention_type"), body.get("setting")
    if kind not in INTERVENTION_TYPES:
        raise InvalidInput("intervention_type", "Choose the kind of intervention.")
    if setting not in INTERVENTION_SETTINGS:
        raise InvalidInput("setting", "Choose where the intervention takes place.")
    start = _date(body.get("start_date"), "start_date", today)
    if start is None:
        raise InvalidInput("start_date", "Give the date the intervention started.")
    end = _date(body.get("end_date"), "end_date", today)
    if end is not None and end < start:
        raise InvalidInput("end_date", "The end date cannot be before the start.")
    plan_id = db.execute(select(Plan.id).where(Plan.client_id == client.id)).scalar_one_or_none()
    item = Intervention(client_id=client.id, plan_id=plan_id, intervention_type=kind, setting=setting,
                        start_date=start, end_date=end, recorded_by=principal.id)
    db.add(item)
    db.flush()
    audit.record(db, actor(principal), "intervention.create", plan_id=plan_id, client_id=client.id,
                 detail={"intervention_id": str(item.id), "type": kind, "setting": setting})
    return _intervention_view(item)


def end_intervention(db: Session, principal: Principal, intervention_id: Any, end_date: Any, *,
                     today: dt.date | None = None) -> dict[str, Any]:
    """Set (or correct) the date an intervention ended."""
    policy.require(principal, "interventions.write")
    today = today or dt.date.today()
    item = db.execute(
        select(Intervention).join(Client, Client.id == Intervention.client_id)
        .where(Intervention.id == _id(intervention_id, "intervention"), policy.client_scope(principal))
        .with_for_update(of=Intervention)
    ).scalar_one_or_none()
    if item is None:
        raise NotFound("There is no such intervention.")
    end = _date(end_date, "end_date", today)
    if end is not None and end < item.start_date:
        raise InvalidInput("end_date", "The end date cannot be before the start.")
    item.end_date = end
    audit.record(db, actor(principal), "intervention.update", plan_id=item.plan_id, client_id=item.client_id,
                 detail={"intervention_id": str(item.id), "fields": ["end_date"]})
    db.flush()
    return _intervention_view(item)
