"""Assurance reports: was a real choice offered, and was the person heard?

For auditors only (`policy.report_plan_scope`, action `audit.reports`). Every figure is
computed by SQL aggregation (GROUP BY over the choice projection `choice_entries`, the
plan rows and the current version's document), so the number of statements does not
grow with the number of plans. The queries *select* only codes, dates, flags, version
numbers and counts: no name, date of birth, free text or assessment answer is ever read
here, so none can reach an auditor page, API answer or CSV. Record ids are turned into
pseudonyms (`policy.pseudonym`) on the way out; the auditor never sees a raw id.

Each public function reads once and records one audit event.

What each checklist item means (NICE QS23, see docs/reporting.md):
- `info_<category>` (statement 5): information given on harm reduction, maintenance,
  detoxification and abstinence: met on the first day information on an option of that
  category was given, with how (the formats used).
- `medication_options`: the medication options discussed, each listed; met when at
  least one was discussed and information was given on each.
- `preference_in_own_words`: the client's preference recorded in their words (yes/no).
- `outcome_with_reason`: every option discussed has an outcome (chosen, or declined, not
  suitable or not available with a reason); not applicable when nothing was discussed.
- `naloxone` offered or supplied; `bbv_testing` (statement 4): hepatitis B, C and HIV
  tests and hepatitis B vaccination each offered (or done, or declined);
  `needle_syringe_access` (statement 1): discussed; not applicable when not needed.
- `agreed_by_client`: the client signed the current version.
- `review_on_time`: a next review date is set and has not passed.
- `top_review_6_months`: see `top_review_item` (a finished TOP at the review stage within six months).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import secrets as _secrets
import uuid
from dataclasses import dataclass
from typing import Any, Iterable

from sqlalchemy import and_, case, exists, func, literal, select
from sqlalchemy.orm import Session

from careplans import assessments, audit, policy, references
from careplans.catalogue import load_options, option_by_code
from careplans.errors import InvalidInput, NotFound
from careplans.models import (
    Agreement,
    CaseloadAssignment,
    ChoiceEntry,
    FeedbackResponse,
    Plan,
    PlanVersion,
    PrescribingDecision,
    User,
)
from careplans.policy import Principal
from careplans.queries import actor
from careplans.sql import days_between, json_text, quarter_of

MET, NOT_MET, NOT_APPLICABLE = "met", "not_met", "not_applicable"
QS23_CATEGORIES = ("harm_reduction", "maintenance", "detoxification", "abstinence")
BBV_ITEMS = ("hepatitis_b_test", "hepatitis_c_test", "hiv_test", "hepatitis_b_vaccination")
BBV_OFFERED = ("offered", "done", "declined", "not_now")
DECIDED = ("chosen", "declined", "not_suitable", "not_available")
OUTCOMES = ("chosen", "declined", "not_suitable", "not_available", "undecided")
CHECKLIST_ITEMS: tuple[tuple[str, str], ...] = (
    ("info_harm_reduction", "Information given on harm reduction (QS23 statement 5)"),
    ("info_maintenance", "Information given on maintenance (QS23 statement 5)"),
    ("info_detoxification", "Information given on detoxification (QS23 statement 5)"),
    ("info_abstinence", "Information given on abstinence (QS23 statement 5)"),
    ("medication_options", "Each medication option discussed, with information"),
    ("preference_in_own_words", "The client's preference recorded in their own words"),
    ("outcome_with_reason", "An outcome with a reason for each option discussed"),
    ("naloxone", "Naloxone offered or supplied"),
    ("bbv_testing", "Tests for hepatitis B, C and HIV and hepatitis B vaccination offered (QS23 statement 4)"),
    ("needle_syringe_access", "Needle and syringe access discussed, where relevant (QS23 statement 1)"),
    ("agreed_by_client", "Agreed by the client at the current version"),
    ("review_on_time", "Next review set and not overdue"),
    ("top_review_6_months", "A TOP review by 6 months"),
)
ITEM_NAMES = dict(CHECKLIST_ITEMS)
STATUS_WORDS = {MET: "Met", NOT_MET: "Not met", NOT_APPLICABLE: "Not applicable"}


# --- filters ------------------------------------------------------------------------------------------

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


# --- the per-plan checklist ----------------------------------------------------------------------------

def _doc(*path: str):
    return json_text(PlanVersion.content, *path)


def _plan_rows_stmt(conds: list[Any]):
    client_signed_at = (
        select(func.max(Agreement.signed_at))
        .where(Agreement.plan_id == Plan.id, Agreement.signer_role == policy.CLIENT,
               Agreement.version == Plan.client_signed_version)
        .correlate(Plan).scalar_subquery())
    return (
        select(
            Plan.id, Plan.version, Plan.start_date, Plan.client_signed_version, Plan.agreed_version,
            client_signed_at.label("client_signed_at"), _keyworker_of_plan().label("keyworker_id"),
            _doc("next_review_date").label("next_review_date"),
            _doc("staying_safe", "naloxone", "offered").label("nal_offered"),
            _doc("staying_safe", "naloxone", "offered_on").label("nal_offered_on"),
            _doc("staying_safe", "naloxone", "supplied").label("nal_supplied"),
            _doc("staying_safe", "naloxone", "supplied_on").label("nal_supplied_on"),
            _doc("staying_safe", "needle_syringe_access").label("nsp"),
            *[_doc("staying_safe", "bbv", item).label(f"bbv_{item}") for item in BBV_ITEMS],
        )
        .join(PlanVersion, and_(PlanVersion.plan_id == Plan.id, PlanVersion.number == Plan.version))
        .where(*conds)
        .order_by(Plan.id)
    )


def _choice_aggregates(db: Session, plan_ids_subquery) -> tuple[dict, dict]:
    """Two GROUP BY queries over the choice projection of the given plans:
    per plan and QS23 category (first day information was given, and how), and per plan
    and option (information, own words, outcome with reason)."""
    category = _category_of_option().label("category")
    by_category: dict[Any, dict[str, dict[str, Any]]] = {}
    for pid, cat, fmt, first in db.execute(
        select(ChoiceEntry.plan_id, category, ChoiceEntry.information_format, func.min(ChoiceEntry.discussed_on))
        .where(ChoiceEntry.plan_id.in_(plan_ids_subquery), ChoiceEntry.information_given.is_(True),
               category.is_not(None))
        .group_by(ChoiceEntry.plan_id, category, ChoiceEntry.information_format)
    ):
        slot = by_category.setdefault(pid, {}).setdefault(cat, {"on": first, "how": set()})
        slot["on"] = min(slot["on"], first)
        if fmt:
            slot["how"].add(fmt)
    as_int = lambda cond: func.max(case((cond, 1), else_=0))  # noqa: E731 - any entry, as 0/1
    # "chosen" is its own reason (the person chose it); the other outcomes need one.
    decided_with_reason = (ChoiceEntry.outcome == "chosen") | and_(ChoiceEntry.outcome.in_(DECIDED),
                                                                   ChoiceEntry.has_reason.is_(True))
    by_option: dict[Any, list[dict[str, Any]]] = {}
    for r in db.execute(
        select(ChoiceEntry.plan_id, ChoiceEntry.option, ChoiceEntry.option_kind,
               func.min(ChoiceEntry.discussed_on).label("first_on"),
               as_int(ChoiceEntry.information_given.is_(True)).label("info"),
               as_int(ChoiceEntry.has_client_view.is_(True) | (ChoiceEntry.preference == "stated")).label("words"),
               as_int(ChoiceEntry.preferred.is_(True)).label("preferred"),
               as_int(decided_with_reason).label("decided_with_reason"),
               func.max(case((decided_with_reason, ChoiceEntry.discussed_on))).label("decided_on"),
               func.max(case((ChoiceEntry.has_client_view.is_(True) | (ChoiceEntry.preference == "stated"),
                              ChoiceEntry.discussed_on))).label("words_on"),
               func.max(ChoiceEntry.outcome).label("any_outcome"))
        .where(ChoiceEntry.plan_id.in_(plan_ids_subquery))
        .group_by(ChoiceEntry.plan_id, ChoiceEntry.option, ChoiceEntry.option_kind)
        .order_by(ChoiceEntry.plan_id, ChoiceEntry.option)
    ):
        by_option.setdefault(r.plan_id, []).append({
            "option": r.option, "kind": r.option_kind, "first_discussed_on": r.first_on,
            "information_given": bool(r.info), "preference_in_own_words": bool(r.words),
            "preferred": bool(r.preferred), "outcome_with_reason": bool(r.decided_with_reason),
            "decided_on": r.decided_on, "words_on": r.words_on,
        })
    return by_category, by_option


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    return str(value)[:10]


def _item(code: str, status: str, on: Any = None, **detail: Any) -> dict[str, Any]:
    return {"item": code, "name": ITEM_NAMES[code], "status": status, "met_on": _iso(on) if status == MET else None,
            **detail}


TOP_REVIEW_DUE_DAYS = 182  # "a TOP review by 6 months"


def top_review_item(plan_id: Any, start_date: dt.date | None, today: dt.date,
                    last_review: dt.date | None = None) -> dict[str, Any]:
    """"A TOP review by 6 months": met on the date of the plan's latest finished TOP at
    the review stage (`assessments.latest_top_review_dates`, read for a whole page of
    plans in one query); not met once six months have passed without one; not
    applicable before then."""
    if last_review is not None:
        return _item("top_review_6_months", MET, last_review)
    if start_date is None:
        return _item("top_review_6_months", NOT_APPLICABLE, None, note="no start date")
    due = start_date + dt.timedelta(days=TOP_REVIEW_DUE_DAYS)
    if today <= due:
        return _item("top_review_6_months", NOT_APPLICABLE, None, note=f"not due until {due.isoformat()}",
                     due=due)
    return _item("top_review_6_months", NOT_MET, None, due=due)


def _checklist(row: Any, cats: dict[str, dict[str, Any]], options: list[dict[str, Any]], today: dt.date,
               secret: str, top_reviews: dict[str, dt.date] | None = None) -> dict[str, Any]:
    items = []
    for cat in QS23_CATEGORIES:
        got = cats.get(cat)
        items.append(_item(f"info_{cat}", MET if got else NOT_MET, got["on"] if got else None,
                           how=sorted(got["how"]) if got else []))
    meds = [o for o in options if o["kind"] == "medication"]
    meds_ok = bool(meds) and all(o["information_given"] for o in meds)
    items.append(_item("medication_options", MET if meds_ok else NOT_MET,
                       min((o["first_discussed_on"] for o in meds), default=None),
                       options=[o["option"] for o in meds]))
    words = [o["words_on"] for o in options if o["preference_in_own_words"]]
    items.append(_item("preference_in_own_words", MET if words else NOT_MET, min(words, default=None)))
    if not options:
        items.append(_item("outcome_with_reason", NOT_APPLICABLE, note="no options discussed yet"))
    else:
        missing = [o["option"] for o in options if not o["outcome_with_reason"]]
        items.append(_item("outcome_with_reason", NOT_MET if missing else MET,
                           max((o["decided_on"] for o in options if o["decided_on"]), default=None),
                           without_reason=missing))
    supplied = row.nal_supplied == "true"
    offered = row.nal_offered == "true"
    items.append(_item("naloxone", MET if supplied or offered else NOT_MET,
                       (row.nal_supplied_on if supplied else None) or row.nal_offered_on,
                       supplied=supplied))
    bbv = {item: getattr(row, f"bbv_{item}") for item in BBV_ITEMS}
    items.append(_item("bbv_testing", MET if all(v in BBV_OFFERED for v in bbv.values()) else NOT_MET,
                       statuses={k: v or "not_discussed" for k, v in bbv.items()}))
    if row.nsp == "not_needed":
        items.append(_item("needle_syringe_access", NOT_APPLICABLE, note="not needed"))
    else:
        items.append(_item("needle_syringe_access", MET if row.nsp in ("has_access", "needs_access") else NOT_MET,
                           status_code=row.nsp or "not_discussed"))
    agreed = row.client_signed_version is not None and row.client_signed_version == row.version
    items.append(_item("agreed_by_client", MET if agreed else NOT_MET, row.client_signed_at if agreed else None))
    review = row.next_review_date
    on_time = review is not None and review >= today.isoformat()
    items.append(_item("review_on_time", MET if on_time else NOT_MET, review if on_time else None,
                       next_review_date=review, overdue=review is not None and review < today.isoformat()))
    items.append(top_review_item(row.id, row.start_date, today, (top_reviews or {}).get(str(row.id))))
    return {
        "plan": policy.pseudonym(secret, "plan", row.id),
        "keyworker": policy.pseudonym(secret, "staff", row.keyworker_id),
        "version": row.version,
        "start_date": _iso(row.start_date),
        "agreed_by_both": row.agreed_version is not None and row.agreed_version == row.version,
        "met": sum(1 for i in items if i["status"] == MET),
        "not_met": sum(1 for i in items if i["status"] == NOT_MET),
        "items": items,
        "options": [{"option": o["option"], "kind": o["kind"], "first_discussed_on": _iso(o["first_discussed_on"]),
                     "information_given": o["information_given"],
                     "preference_in_own_words": o["preference_in_own_words"],
                     "outcome_with_reason": o["outcome_with_reason"]} for o in options],
    }


def _checklists(db: Session, conds: list[Any], today: dt.date, secret: str, limit: int | None,
                offset: int, after: uuid.UUID | None = None,
                last: list[uuid.UUID] | None = None) -> list[dict[str, Any]]:
    """Checklists of one page of plans (by id: `offset`, or keyset `after` an id). The page's
    ids are chosen first, so the document fields are read for those plans only."""
    ids = select(Plan.id).where(*conds).order_by(Plan.id)
    if after is not None:
        ids = ids.where(Plan.id > after)
    if limit is not None:
        ids = ids.limit(limit).offset(offset)
    page_ids = select(ids.subquery().c.id)
    rows = db.execute(_plan_rows_stmt([Plan.id.in_(page_ids)])).all()
    if not rows:
        return []
    if last is not None:
        last.append(max(r.id for r in rows))
    by_category, by_option = _choice_aggregates(db, page_ids)
    top_reviews = assessments.latest_top_review_dates(db, [r.id for r in rows])
    return [_checklist(r, by_category.get(r.id, {}), by_option.get(r.id, []), today, secret, top_reviews)
            for r in rows]


def checklists(db: Session, principal: Principal, secret: str, flt: ReportFilter = ReportFilter(), *,
               today: dt.date | None = None, limit: int | None = 100, offset: int = 0) -> dict[str, Any]:
    """A page of per-plan checklists (pseudonymised), in a stable order, and how many in all."""
    policy.require(principal, "audit.reports")
    today = today or dt.date.today()
    conds = _plan_conditions(db, principal, secret, flt, dated=True)
    total = db.execute(select(func.count()).select_from(Plan).where(*conds)).scalar_one()
    items = _checklists(db, conds, today, secret, limit, offset)
    audit.record(db, actor(principal), "report.checklists.read",
                 detail={**flt.audit_detail(), "count": len(items), "offset": offset})
    return {"items": items, "total": total, "offset": offset,
            "next_offset": offset + len(items) if limit is not None and offset + len(items) < total else None}


def _plan_id_for_ref(db: Session, secret: str, plan_ref: str) -> uuid.UUID:
    found = references.plan_ids(db, secret, plan_ref)
    if len(found) != 1:
        raise NotFound("There is no plan with that reference.")
    return found[0]


def plan_checklist(db: Session, principal: Principal, secret: str, plan_ref: str, *,
                   today: dt.date | None = None) -> dict[str, Any]:
    """One plan's checklist, by its reference (P-…); 404 for any other reference."""
    policy.require(principal, "audit.reports")
    today = today or dt.date.today()
    pid = _plan_id_for_ref(db, secret, plan_ref)
    items = _checklists(db, [policy.report_plan_scope(principal), Plan.id == pid], today, secret, None, 0)
    if not items:
        raise NotFound("There is no plan with that reference.")
    audit.record(db, actor(principal), "report.checklist.read", plan_id=pid, detail={"plan": plan_ref})
    return items[0]


# --- service figures ---------------------------------------------------------------------------------------

def _choice_conditions(flt: ReportFilter) -> list[Any]:
    conds: list[Any] = []
    if flt.date_from:
        conds.append(ChoiceEntry.discussed_on >= flt.date_from)
    if flt.date_to:
        conds.append(ChoiceEntry.discussed_on <= flt.date_to)
    if flt.option:
        conds.append(ChoiceEntry.option == flt.option)
    return conds


def _percentiles(db: Session, plan_ids, flt: ReportFilter) -> dict[str, Any]:
    """Days from the first time a person said they wanted an option to the first
    prescribing decision about that option: median and 90th percentile (nearest rank),
    and how many preferences have no decision yet. All in SQL (window functions)."""
    pref = (
        select(ChoiceEntry.plan_id, ChoiceEntry.option, func.min(ChoiceEntry.discussed_on).label("pref_on"))
        .where(ChoiceEntry.plan_id.in_(plan_ids), ChoiceEntry.preferred.is_(True),
               ChoiceEntry.option.in_(_medication_codes()), *_choice_conditions(flt))
        .group_by(ChoiceEntry.plan_id, ChoiceEntry.option).subquery()
    )
    first = (
        select(pref.c.pref_on, func.min(PrescribingDecision.created_at).label("first_at"))
        .select_from(pref)
        .outerjoin(PrescribingDecision, and_(PrescribingDecision.plan_id == pref.c.plan_id,
                                             PrescribingDecision.option == pref.c.option))
        .group_by(pref.c.plan_id, pref.c.option, pref.c.pref_on).cte("first_decision")
    )  # a CTE used twice below: both databases compute it once
    waits = select(days_between(first.c.pref_on, first.c.first_at).label("days")).where(
        first.c.first_at.is_not(None)).subquery()
    ranked = select(waits.c.days, func.row_number().over(order_by=waits.c.days).label("rn"),
                    func.count().over().label("n")).subquery()
    n = ranked.c.n
    median_rank = (n + 1) // 2        # nearest rank: ceil(n / 2)
    p90_rank = (9 * n + 9) // 10      # ceil(9n / 10)
    pending = select(func.count()).select_from(first).where(first.c.first_at.is_(None)).scalar_subquery()
    row = db.execute(select(
        func.max(n).label("n"),
        func.max(case((ranked.c.rn == median_rank, ranked.c.days))).label("median"),
        func.max(case((ranked.c.rn == p90_rank, ranked.c.days))).label("p90"),
        pending.label("pending"),
    )).one()
    return {"with_decision": row.n or 0, "median_days": row.median, "p90_days": row.p90,
            "waiting_for_decision": row.pending}


def service_figures(db: Session, principal: Principal, secret: str, flt: ReportFilter = ReportFilter(), *,
                    today: dt.date | None = None, audited: bool = True) -> dict[str, Any]:
    """The service's figures (see docs/reporting.md): per option, how many people were
    given information, said they wanted it, chose it, declined it, were told it was not
    suitable or not available; unmet preferences and why, by option; days from a
    preference to the first prescribing decision; plans agreed by both; reviews overdue."""
    policy.require(principal, "audit.reports")
    today = today or dt.date.today()
    plan_ids = select(Plan.id).where(*_plan_conditions(db, principal, secret, flt, dated=False))
    entry_conds = [ChoiceEntry.plan_id.in_(plan_ids), *_choice_conditions(flt)]
    people = lambda cond: func.count(func.distinct(case((cond, ChoiceEntry.plan_id))))  # noqa: E731
    per_option = []
    names = {o.code: o for o in load_options()}
    for r in db.execute(
        select(ChoiceEntry.option,
               func.count(func.distinct(ChoiceEntry.plan_id)).label("discussed"),
               people(ChoiceEntry.information_given.is_(True)).label("information_given"),
               people(ChoiceEntry.preferred.is_(True)).label("preferred"),
               *[people(ChoiceEntry.outcome == o).label(o) for o in OUTCOMES])
        .where(*entry_conds).group_by(ChoiceEntry.option).order_by(ChoiceEntry.option)
    ):
        option = names.get(r.option)
        per_option.append({"option": r.option, "name": option.name if option else r.option,
                           "qs23_category": option.qs23_category if option else None,
                           "discussed": r.discussed, "information_given": r.information_given,
                           "preferred": r.preferred, **{o: getattr(r, o) for o in OUTCOMES}})
    order = {o.code: i for i, o in enumerate(load_options())}
    per_option.sort(key=lambda x: order.get(x["option"], 999))
    unmet = []
    for r in db.execute(
        select(ChoiceEntry.option, ChoiceEntry.outcome, ChoiceEntry.available_locally,
               func.count(func.distinct(ChoiceEntry.plan_id)).label("people"))
        .where(*entry_conds, ChoiceEntry.unmet_need.is_(True))
        .group_by(ChoiceEntry.option, ChoiceEntry.outcome, ChoiceEntry.available_locally)
        .order_by(ChoiceEntry.option, ChoiceEntry.outcome)
    ):
        option = names.get(r.option)
        reason = ("not available here" if (r.outcome == "not_available" or not r.available_locally)
                  else (r.outcome or "no outcome yet").replace("_", " "))
        unmet.append({"option": r.option, "name": option.name if option else r.option, "outcome": r.outcome,
                      "available_locally": bool(r.available_locally), "reason": reason, "people": r.people})
    plan_conds = _plan_conditions(db, principal, secret, flt, dated=True)
    review = _doc("next_review_date")
    no_choices = ~exists().where(ChoiceEntry.plan_id == Plan.id)
    p = db.execute(
        select(func.count().label("plans"),
               func.sum(case((and_(Plan.agreed_version.is_not(None), Plan.agreed_version == Plan.version), 1),
                             else_=0)).label("agreed_by_both"),
               func.sum(case((Plan.client_signed_version == Plan.version, 1), else_=0)).label("agreed_by_client"),
               func.sum(case((and_(review.is_not(None), review < today.isoformat()), 1), else_=0)).label("overdue"),
               func.sum(case((review.is_(None), 1), else_=0)).label("no_review_date"),
               func.sum(case((no_choices, 1), else_=0)).label("no_choices"))
        .select_from(Plan)
        .join(PlanVersion, and_(PlanVersion.plan_id == Plan.id, PlanVersion.number == Plan.version))
        .where(*plan_conds)
    ).one()
    qs23 = {}
    category = _category_of_option()
    for cat, people_count in db.execute(
        select(category.label("category"), func.count(func.distinct(ChoiceEntry.plan_id)))
        .where(*entry_conds, ChoiceEntry.information_given.is_(True), category.is_not(None))
        .group_by(category)
    ):
        qs23[cat] = people_count
    result = {
        "filters": flt.audit_detail(),
        "today": today.isoformat(),
        "plans": {"plans": p.plans or 0, "agreed_by_both": p.agreed_by_both or 0,
                  "agreed_by_client": p.agreed_by_client or 0, "reviews_overdue": p.overdue or 0,
                  "no_review_date": p.no_review_date or 0, "no_options_discussed": p.no_choices or 0},
        "information_by_category": [{"category": c, "people": qs23.get(c, 0)} for c in QS23_CATEGORIES],
        "options": per_option,
        "unmet_preferences": unmet,
        "time_to_decision": _percentiles(db, plan_ids, flt),
    }
    if audited:
        audit.record(db, actor(principal), "report.service.read", detail=flt.audit_detail())
    return result


def choice_report(db: Session, principal: Principal, secret: str, flt: ReportFilter = ReportFilter(), *,
                  today: dt.date | None = None, limit: int | None = 500, offset: int = 0) -> dict[str, Any]:
    """GET /api/audit/choice-report: a page of per-plan checklists and the service totals."""
    policy.require(principal, "audit.reports")
    today = today or dt.date.today()
    conds = _plan_conditions(db, principal, secret, flt, dated=True)
    total = db.execute(select(func.count()).select_from(Plan).where(*conds)).scalar_one()
    plans = _checklists(db, conds, today, secret, limit, offset)
    totals = service_figures(db, principal, secret, flt, today=today, audited=False)
    audit.record(db, actor(principal), "report.choice.read",
                 detail={**flt.audit_detail(), "count": len(plans), "offset": offset})
    return {"plans": plans, "totals": totals, "total_plans": total, "offset": offset,
            "next_offset": offset + len(plans) if limit is not None and offset + len(plans) < total else None}


CSV_COLUMNS = ("plan", "keyworker", "start_date", "version", "agreed_by_both")


def choice_report_csv(db: Session, principal: Principal, secret: str, flt: ReportFilter = ReportFilter(), *,
                      today: dt.date | None = None, batch: int = 5000) -> str:
    """The per-plan checklist as CSV: a header row, then one row per plan; each item as
    its status and the date it was met. Read in batches of plans (a few statements per
    batch), so memory stays flat however many plans there are."""
    policy.require(principal, "audit.reports")
    today = today or dt.date.today()
    conds = _plan_conditions(db, principal, secret, flt, dated=True)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    header = [*CSV_COLUMNS]
    for code, _ in CHECKLIST_ITEMS:
        header += [code, f"{code}_on"]
    header.append("options_discussed")
    writer.writerow(header)
    count = 0
    after: uuid.UUID | None = None
    while True:  # keyset paging: each batch starts after the last id, never skipping rows
        last: list[uuid.UUID] = []
        rows = _checklists(db, conds, today, secret, batch, 0, after, last)
        for plan in rows:
            line = [plan["plan"], plan["keyworker"] or "", plan["start_date"] or "", plan["version"],
                    "yes" if plan["agreed_by_both"] else "no"]
            for item in plan["items"]:
                line += [item["status"], item["met_on"] or ""]
            line.append(" ".join(o["option"] for o in plan["options"]))
            writer.writerow(line)
        count += len(rows)
        if rows:
            after = last[0]
        if len(rows) < batch:
            break
    audit.record(db, actor(principal), "report.choice.csv", detail={**flt.audit_detail(), "count": count})
    return out.getvalue()


# --- a random case-file sample -----------------------------------------------------------------------------------

MAX_SAMPLE = 500


def new_seed() -> int:
    return _secrets.randbelow(10**9)


def sample(db: Session, principal: Principal, secret: str, n: int, seed: int | None = None,
           flt: ReportFilter = ReportFilter()) -> dict[str, Any]:
    """N plans drawn at random from the plans in the filter. The seed is recorded (in
    the answer and the audit log): the same seed over the same plans draws the same sample."""
    policy.require(principal, "audit.reports")
    if not 1 <= n <= MAX_SAMPLE:
        raise InvalidInput("n", f"Ask for between 1 and {MAX_SAMPLE} plans.")
    seed = new_seed() if seed is None else seed
    if not 0 <= seed < 2**63:
        raise InvalidInput("seed", "The seed is a whole number of 0 or more.")
    conds = _plan_conditions(db, principal, secret, flt, dated=True)
    population = db.execute(select(Plan.id).where(*conds).order_by(Plan.id)).scalars().all()
    drawn = random.Random(seed).sample(population, min(n, len(population)))
    audit.record(db, actor(principal), "report.sample.draw",
                 detail={**flt.audit_detail(), "n": n, "seed": seed, "population": len(population)})
    return {"seed": seed, "n": n, "population": len(population), "filters": flt.audit_detail(),
            "items": [{"plan": policy.pseudonym(secret, "plan", pid)} for pid in drawn]}


# --- "was I heard?" -------------------------------------------------------------------------------------------------

FEEDBACK_QUESTIONS: tuple[tuple[str, str], ...] = (
    ("listened", "Did you feel listened to?"),
    ("options_explained", "Were the options explained so you could choose?"),
    ("plan_is_mine", "Is this plan yours?"),
)


def feedback_totals(db: Session, principal: Principal, date_from: dt.date | None = None,
                    date_to: dt.date | None = None) -> dict[str, Any]:
    """Answers per quarter and question: how many answered and how the 1-5 answers fell.
    Where fewer than `policy.FEEDBACK_MIN_ANSWERS` people answered a question in a
    quarter, its numbers are withheld. Never a comment, a plan or a person."""
    policy.require(principal, "audit.reports")
    quarter = quarter_of(FeedbackResponse.answered_at).label("quarter")
    cols = [quarter, func.count().label("responses"),
            func.sum(case((FeedbackResponse.skipped.is_(True), 1), else_=0)).label("skipped"),
            func.sum(case((and_(FeedbackResponse.pass_on.is_(True), FeedbackResponse.comment.is_not(None)), 1),
                          else_=0)).label("passed_on")]
    for q, _ in FEEDBACK_QUESTIONS:
        col = getattr(FeedbackResponse, q)
        cols.append(func.count(col).label(f"{q}_n"))
        cols += [func.sum(case((col == k, 1), else_=0)).label(f"{q}_{k}") for k in range(1, 6)]
    conds = [policy.report_plan_scope(principal)]
    stmt = select(*cols).join(Plan, Plan.id == FeedbackResponse.plan_id)
    if date_from:
        conds.append(FeedbackResponse.answered_at >= dt.datetime.combine(date_from, dt.time(), dt.timezone.utc))
    if date_to:
        conds.append(FeedbackResponse.answered_at < dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(),
                                                                        dt.timezone.utc))
    rows = db.execute(stmt.where(*conds).group_by(quarter).order_by(quarter)).all()
    floor = policy.FEEDBACK_MIN_ANSWERS
    quarters = []
    for r in rows:
        questions = []
        for q, words in FEEDBACK_QUESTIONS:
            answered = getattr(r, f"{q}_n")
            if answered < floor:
                questions.append({"question": q, "words": words, "suppressed": True, "answered": None,
                                  "distribution": None, "mean": None})
                continue
            dist = {str(k): int(getattr(r, f"{q}_{k}") or 0) for k in range(1, 6)}
            mean = sum(int(k) * v for k, v in dist.items()) / answered
            questions.append({"question": q, "words": words, "suppressed": False, "answered": answered,
                              "distribution": dist, "mean": round(mean, 2)})
        responses_shown = r.responses >= floor
        quarters.append({"quarter": r.quarter, "responses": r.responses if responses_shown else None,
                         "skipped": int(r.skipped or 0) if responses_shown else None,
                         "comments_passed_on": int(r.passed_on or 0) if responses_shown else None,
                         "questions": questions})
    audit.record(db, actor(principal), "report.feedback.read",
                 detail={"from": date_from.isoformat() if date_from else None,
                         "to": date_to.isoformat() if date_to else None})
    return {"minimum_answers": floor, "quarters": quarters}


def chart_bars(rows: Iterable[dict[str, Any]], label: str, value: str) -> list[dict[str, Any]]:
    """Bars for a simple horizontal SVG bar chart: label, value and width in percent."""
    rows = list(rows)
    top = max((r[value] or 0 for r in rows), default=0)
    return [{"label": r[label], "value": r[value] or 0,
             "width": round(100 * (r[value] or 0) / top, 1) if top else 0} for r in rows]
