"""The national return's dates as CSV (NDTMS), for auditors, for a date range.

One row per record, `record_type` saying which: an `episode` (referral, triage, care plan
start, discharge date and reason, consent to report), an `intervention` (type, setting,
start and end) or a `top` (the date and stage of a finished outcome assessment). Rows
are in range when the episode was open at some time in it, the intervention ran at some
time in it, or the TOP was taken in it.

Pseudonymised by what the queries select: record ids (turned into "C-…" and "P-…"
references on the way out), dates and codes. No name, date of birth, NHS number, free
text or answer is read. The mapping of each column to the NDTMS field names is in
docs/reporting.md, not yet validated against the official data set specification.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from careplans import audit, policy
from careplans.errors import InvalidInput
from careplans.models import Assessment, Client, Intervention, Plan
from careplans.policy import Principal
from careplans.queries import actor

COLUMNS = ("record_type", "client", "plan", "referral_date", "triage_date", "care_plan_start_date",
           "discharge_date", "discharge_reason", "consent_to_report", "intervention_type", "intervention_setting",
           "intervention_start_date", "intervention_end_date", "top_date", "top_stage")
MAX_DAYS = 3 * 366  # one request covers at most about three years


def check_range(date_from: dt.date | None, date_to: dt.date | None) -> tuple[dt.date, dt.date]:
    if date_from is None:
        raise InvalidInput("from", "Give the first day of the period, for example 2026-04-01.")
    if date_to is None:
        raise InvalidInput("to", "Give the last day of the period, for example 2026-04-30.")
    if date_to < date_from:
        raise InvalidInput("to", "The end of the period must be on or after its start.")
    if (date_to - date_from).days > MAX_DAYS:
        raise InvalidInput("to", "Ask for at most three years at a time.")
    return date_from, date_to


def last_month(today: dt.date) -> tuple[dt.date, dt.date]:
    """The calendar month before `today`'s (the monthly return's usual period)."""
    end = today.replace(day=1) - dt.timedelta(days=1)
    return end.replace(day=1), end


def _iso(day: Any) -> str:
    return day.isoformat() if day else ""


def _consent(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


def rows(db: Session, principal: Principal, secret: str, date_from: dt.date, date_to: dt.date) -> list[list[str]]:
    """The extract's rows (without the header), ordered by client and record."""
    scope = policy.report_client_scope(principal)
    episode_start = func.coalesce(Client.referral_date, Client.triage_date, Plan.start_date)
    episodes = db.execute(
        select(Client.id, Plan.id.label("plan_id"), Client.referral_date, Client.triage_date, Plan.start_date,
               Client.discharged_on, Client.discharge_reason, Client.consent_to_report)
        .outerjoin(Plan, Plan.client_id == Client.id)
        .where(scope, episode_start.is_not(None), episode_start <= date_to,
               or_(Client.discharged_on.is_(None), Client.discharged_on >= date_from))
    ).all()
    interventions = db.execute(
        select(Intervention.client_id, Intervention.plan_id, Intervention.intervention_type, Intervention.setting,
               Intervention.start_date, Intervention.end_date)
        .join(Client, Client.id == Intervention.client_id)
        .where(scope, Intervention.start_date <= date_to,
               or_(Intervention.end_date.is_(None), Intervention.end_date >= date_from))
    ).all()
    tops = db.execute(
        select(Plan.client_id, Assessment.plan_id, Assessment.taken_on, Assessment.stage)
        .join(Plan, Plan.id == Assessment.plan_id).join(Client, Client.id == Plan.client_id)
        .where(scope, Assessment.questionnaire == "top", Assessment.status == "complete",
               Assessment.taken_on >= date_from, Assessment.taken_on <= date_to)
    ).all()
    blank = [""] * (len(COLUMNS) - 3)
    keyed: list[tuple[tuple[Any, ...], list[str]]] = []

    def add(order: tuple[Any, ...], kind: str, client_id: Any, plan_id: Any, **values: str) -> None:
        line = [kind, policy.pseudonym(secret, "client", client_id) or "",
                policy.pseudonym(secret, "plan", plan_id) or "", *blank]
        for name, value in values.items():
            line[COLUMNS.index(name)] = value
        keyed.append(((line[1], *order), line))

    for r in episodes:
        add((0, ""), "episode", r.id, r.plan_id, referral_date=_iso(r.referral_date),
            triage_date=_iso(r.triage_date), care_plan_start_date=_iso(r.start_date),
            discharge_date=_iso(r.discharged_on), discharge_reason=r.discharge_reason or "",
            consent_to_report=_consent(r.consent_to_report))
    for r in interventions:
        add((1, _iso(r.start_date)), "intervention", r.client_id, r.plan_id, intervention_type=r.intervention_type,
            intervention_setting=r.setting, intervention_start_date=_iso(r.start_date),
            intervention_end_date=_iso(r.end_date))
    for r in tops:
        add((2, _iso(r.taken_on)), "top", r.client_id, r.plan_id, top_date=_iso(r.taken_on), top_stage=r.stage or "")
    keyed.sort(key=lambda k: k[0])
    return [line for _, line in keyed]


def extract_csv(db: Session, principal: Principal, secret: str, date_from: dt.date | None,
                date_to: dt.date | None) -> str:
    """The CSV: a header row, then one row per record in the period. Audited."""
    policy.require(principal, "audit.ndtms")
    date_from, date_to = check_range(date_from, date_to)
    lines = rows(db, principal, secret, date_from, date_to)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(lines)
    audit.record(db, actor(principal), "report.ndtms.csv",
                 detail={"from": date_from.isoformat(), "to": date_to.isoformat(), "rows": len(lines)})
    return out.getvalue()
