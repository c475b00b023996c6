"""Was a real choice offered for this plan? The per-plan checklist (NICE QS23), for auditors.

Pseudonymised by what the queries select: codes, dates, flags, version numbers and
counts from the choice projection, the plan rows, signatures and a few coded fields of
the current version's document (`_doc`: the one place that reads plan content here).
A page of plans is a fixed number of statements, however many plans there are.

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
import uuid
from typing import Any

from sqlalchemy import and_, case, cast, func, select, true
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from careplans import assessments, audit, policy, references
from careplans.errors import NotFound
from careplans.models import Agreement, ChoiceEntry, Plan, PlanVersion
from careplans.policy import Principal
from careplans.queries import actor
from careplans.report_filters import (QS23_CATEGORIES, ReportFilter, _category_of_option, _keyworker_of_plan,
                                      _plan_conditions)
from careplans.sql import json_text, jsonb_text

MET, NOT_MET, NOT_APPLICABLE = "met", "not_met", "not_applicable"
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


# --- the per-plan checklist ----------------------------------------------------------------------------

def _doc(*path: str):
    return json_text(PlanVersion.content, *path)


def _plan_rows_stmt(conds: list[Any], dialect: str = "sqlite"):
    """The plan rows and the coded fields of their current version's document. On
    PostgreSQL the document is cast to JSONB once per row (a LATERAL subquery; OFFSET 0
    keeps the planner from copying the cast into every path) instead of once per field."""
    client_signed_at = (
        select(func.max(Agreement.signed_at))
        .where(Agreement.plan_id == Plan.id, Agreement.signer_role == policy.CLIENT,
               Agreement.version == Plan.client_signed_version)
        .correlate(Plan).scalar_subquery())
    parsed = None
    field = _doc
    if dialect == "postgresql":
        parsed = (select(cast(PlanVersion.content, JSONB).label("doc")).correlate(PlanVersion).offset(0)
                  .lateral("parsed"))

        def field(*path: str):
            return jsonb_text(parsed.c.doc, *path)

    stmt = (
        select(
            Plan.id, Plan.version, Plan.start_date, Plan.client_signed_version, Plan.agreed_version,
            client_signed_at.label("client_signed_at"), _keyworker_of_plan().label("keyworker_id"),
            Plan.next_review_date,
            assessments.latest_top_review_of(Plan.id).label("last_top_review"),
            field("staying_safe", "naloxone", "offered").label("nal_offered"),
            field("staying_safe", "naloxone", "offered_on").label("nal_offered_on"),
            field("staying_safe", "naloxone", "supplied").label("nal_supplied"),
            field("staying_safe", "naloxone", "supplied_on").label("nal_supplied_on"),
            field("staying_safe", "needle_syringe_access").label("nsp"),
            *[field("staying_safe", "bbv", item).label(f"bbv_{item}") for item in BBV_ITEMS],
        )
        .join(PlanVersion, and_(PlanVersion.plan_id == Plan.id, PlanVersion.number == Plan.version))
    )
    if parsed is not None:
        stmt = stmt.join(parsed, true())
    return stmt.where(*conds).order_by(Plan.id)


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
    the review stage (`assessments.latest_top_review_of`, read with the page's plan
    rows); not met once six months have passed without one; not
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
               secret: str) -> dict[str, Any]:
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
    on_time = review is not None and review >= today
    items.append(_item("review_on_time", MET if on_time else NOT_MET, review if on_time else None,
                       next_review_date=_iso(review), overdue=review is not None and review < today))
    items.append(top_review_item(row.id, row.start_date, today, row.last_top_review))
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
    rows = db.execute(_plan_rows_stmt([Plan.id.in_(page_ids)], db.get_bind().dialect.name)).all()
    if not rows:
        return []
    if last is not None:
        last.append(max(r.id for r in rows))
    by_category, by_option = _choice_aggregates(db, page_ids)
    return [_checklist(r, by_category.get(r.id, {}), by_option.get(r.id, []), today, secret) for r in rows]


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

