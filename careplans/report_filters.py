"""Filters for the assurance reports: date range, keyworker (by pseudonymous reference)
and option, as SQL conditions on plans (`policy.report_plan_scope` first). Used by
careplans.reports and careplans.report_checklist."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, exists, literal, select
from sqlalchemy.orm import Session

from careplans import policy
from careplans.catalogue import load_options, option_by_code
from careplans.errors import InvalidInput
from careplans.models import CaseloadAssignment, ChoiceEntry, Plan, User
from careplans.policy import Principal

QS23_CATEGORIES = ("harm_reduction", "maintenance", "detoxification", "abstinence")

@dataclass(frozen=True)
class ReportFilter:
    """Date range (inclusive), keyworker (their pseudonymous reference, S-…), option code."""

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    keyworker: str | None = None
    option: str | None = None

    def audit_detail(self) -> dict[str, Any]:
        return {"from": self.date_from.isoformat() if self.date_from else None,
                "to": self.date_to.isoformat() if self.date_to else None,
                "keyworker": self.keyworker, "option": self.option}


def _date(value: str | None, field: str) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise InvalidInput(field, "Give a date such as 2026-04-01.") from exc


def make_filter(date_from: str | None = None, date_to: str | None = None, keyworker: str | None = None,
                option: str | None = None) -> ReportFilter:
    """A checked filter from what a person typed (422 naming the field if wrong)."""
    start, end = _date(date_from, "from"), _date(date_to, "to")
    if start and end and start > end:
        raise InvalidInput("to", "The end of the date range must be on or after its start.")
    keyworker = (keyworker or "").strip() or None
    if keyworker is not None and not keyworker.startswith("S-"):
        raise InvalidInput("keyworker", "Use the worker reference shown in the report, for example S-3f9a21c04b7e.")
    option = (option or "").strip() or None
    if option is not None and option_by_code(option) is None:
        raise InvalidInput("option", f"“{option}” is not one of the treatment options.")
    return ReportFilter(start, end, keyworker, option)


def quarter_range(day: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day of the quarter `day` falls in."""
    first_month = 3 * ((day.month - 1) // 3) + 1
    start = dt.date(day.year, first_month, 1)
    end = (dt.date(day.year + (first_month + 3 > 12), (first_month + 2) % 12 + 1, 1) - dt.timedelta(days=1))
    return start, end


def keyworker_refs(db: Session, secret: str) -> list[str]:
    """Pseudonymous references of every keyworker, for the filter (sorted, no names)."""
    ids = db.execute(select(User.id).where(User.role == policy.KEYWORKER)).scalars().all()
    return sorted(policy.pseudonym(secret, "staff", i) for i in ids)


def _keyworker_ids(db: Session, secret: str, ref: str) -> list[uuid.UUID]:
    ids = db.execute(select(User.id).where(User.role == policy.KEYWORKER)).scalars().all()
    found = [i for i in ids if policy.pseudonym(secret, "staff", i) == ref]
    if not found:
        raise InvalidInput("keyworker", "There is no keyworker with that reference.")
    return found


def _keyworker_of_plan():
    """The plan's current keyworker's id (a correlated scalar subquery)."""
    return (select(CaseloadAssignment.staff_user_id)
            .where(CaseloadAssignment.client_id == Plan.client_id, CaseloadAssignment.relation == "keyworker",
                   CaseloadAssignment.ended_at.is_(None))
            .order_by(CaseloadAssignment.created_at.desc()).limit(1).correlate(Plan).scalar_subquery())


def _plan_conditions(db: Session, principal: Principal, secret: str, flt: ReportFilter, *,
                     dated: bool) -> list[Any]:
    """Predicates on Plan: the policy's report scope, the keyworker, and (for plan-level
    figures and the checklist) plans started in the date range and the option discussed."""
    conds: list[Any] = [policy.report_plan_scope(principal)]
    if flt.keyworker:
        ids = _keyworker_ids(db, secret, flt.keyworker)
        conds.append(exists().where(CaseloadAssignment.client_id == Plan.client_id,
                                    CaseloadAssignment.relation == "keyworker",
                                    CaseloadAssignment.ended_at.is_(None),
                                    CaseloadAssignment.staff_user_id.in_(ids)))
    if dated and flt.date_from:
        conds.append(Plan.start_date >= flt.date_from)
    if dated and flt.date_to:
        conds.append(Plan.start_date <= flt.date_to)
    if dated and flt.option:
        conds.append(exists().where(ChoiceEntry.plan_id == Plan.id, ChoiceEntry.option == flt.option))
    return conds


def _category_of_option():
    """CASE option → QS23 statement 5 category, from the option catalogue (data)."""
    whens = []
    for category in QS23_CATEGORIES:
        codes = [o.code for o in load_options() if o.qs23_category == category]
        if codes:
            whens.append((ChoiceEntry.option.in_(codes), literal(category)))
    return case(*whens, else_=None)


def _medication_codes() -> list[str]:
    return [o.code for o in load_options() if o.kind == "medication"]

