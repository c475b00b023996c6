"""Assurance reports: was a real choice offered, and was the person heard?

For auditors only (`policy.report_plan_scope`, action `audit.reports`). Every figure is
computed by SQL aggregation (GROUP BY over the choice projection `choice_entries`, the
plan rows and the current version's document), so the number of statements does not
grow with the number of plans. The queries *select* only codes, dates, flags, version
numbers and counts: no name, date of birth, free text or assessment answer is ever read
here, so none can reach an auditor page, API answer or CSV. Record ids are turned into
pseudonyms (`policy.pseudonym`) on the way out; the auditor never sees a raw id.

Each public function reads once and records one audit event.

The per-plan checklist is careplans.report_checklist, the filters careplans.report_filters;
this module has the service's figures, the choice report (JSON), the random sample and
"was I heard?" totals.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets as _secrets
from typing import Any, Iterable

from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.orm import Session

from careplans import audit, policy
from careplans.catalogue import load_options
from careplans.errors import InvalidInput
from careplans.models import ChoiceEntry, FeedbackResponse, Plan, PrescribingDecision
from careplans.policy import Principal
from careplans.queries import actor
from careplans.report_checklist import (  # noqa: F401 - the names callers use, from one module
    CHECKLIST_ITEMS, MET, NOT_APPLICABLE, NOT_MET, OUTCOMES, STATUS_WORDS, TOP_REVIEW_DUE_DAYS, _checklists,
    checklists, choice_report_csv, plan_checklist, top_review_item)
from careplans.report_filters import (  # noqa: F401
    QS23_CATEGORIES, ReportFilter, _category_of_option, _medication_codes, _plan_conditions, keyworker_refs,
    make_filter, quarter_range)
from careplans.sql import days_between, quarter_of


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


def _plan_ids(db: Session, principal: Principal, secret: str, flt: ReportFilter):
    """The plans whose conversations count (a subquery): the report scope and keyworker."""
    return select(Plan.id).where(*_plan_conditions(db, principal, secret, flt, dated=False))


def _option_figures(db: Session, entry_conds: list[Any]) -> list[dict[str, Any]]:
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
    return per_option


def _unmet(db: Session, entry_conds: list[Any]) -> list[dict[str, Any]]:
    names = {o.code: o for o in load_options()}
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
    return unmet


def _plan_figures(db: Session, plan_conds: list[Any], today: dt.date) -> dict[str, int]:
    review = Plan.next_review_date  # the projection of the current version's date
    no_choices = ~exists().where(ChoiceEntry.plan_id == Plan.id)
    p = db.execute(
        select(func.count().label("plans"),
               func.sum(case((and_(Plan.agreed_version.is_not(None), Plan.agreed_version == Plan.version), 1),
                             else_=0)).label("agreed_by_both"),
               func.sum(case((Plan.client_signed_version == Plan.version, 1), else_=0)).label("agreed_by_client"),
               func.sum(case((review < today, 1), else_=0)).label("overdue"),
               func.sum(case((review.is_(None), 1), else_=0)).label("no_review_date"),
               func.sum(case((no_choices, 1), else_=0)).label("no_choices"))
        .select_from(Plan)
        .where(*plan_conds)
    ).one()
    return {"plans": p.plans or 0, "agreed_by_both": p.agreed_by_both or 0,
            "agreed_by_client": p.agreed_by_client or 0, "reviews_overdue": p.overdue or 0,
            "no_review_date": p.no_review_date or 0, "no_options_discussed": p.no_choices or 0}


def _categories(db: Session, entry_conds: list[Any]) -> list[dict[str, Any]]:
    category = _category_of_option()
    qs23 = dict(db.execute(
        select(category.label("category"), func.count(func.distinct(ChoiceEntry.plan_id)))
        .where(*entry_conds, ChoiceEntry.information_given.is_(True), category.is_not(None))
        .group_by(category)
    ).all())
    return [{"category": c, "people": qs23.get(c, 0)} for c in QS23_CATEGORIES]


def service_figures(db: Session, principal: Principal, secret: str, flt: ReportFilter = ReportFilter(), *,
                    today: dt.date | None = None, audited: bool = True) -> dict[str, Any]:
    """The service's figures (see docs/reporting.md): per option, how many people were
    given information, said they wanted it, chose it, declined it, were told it was not
    suitable or not available; unmet preferences and why, by option; days from a
    preference to the first prescribing decision; plans agreed by both; reviews overdue.
    Each part is one GROUP BY statement."""
    policy.require(principal, "audit.reports")
    today = today or dt.date.today()
    plan_ids = _plan_ids(db, principal, secret, flt)
    entry_conds = [ChoiceEntry.plan_id.in_(plan_ids), *_choice_conditions(flt)]
    result = {
        "filters": flt.audit_detail(),
        "today": today.isoformat(),
        "plans": _plan_figures(db, _plan_conditions(db, principal, secret, flt, dated=True), today),
        "information_by_category": _categories(db, entry_conds),
        "options": _option_figures(db, entry_conds),
        "unmet_preferences": _unmet(db, entry_conds),
        "time_to_decision": _percentiles(db, plan_ids, flt),
    }
    if audited:
        audit.record(db, actor(principal), "report.service.read", detail=flt.audit_detail())
    return result


def at_a_glance(db: Session, principal: Principal, secret: str, flt: ReportFilter, *,
                today: dt.date | None = None) -> dict[str, Any]:
    """What the auditor's home shows (the plan figures and unmet preferences), without
    the rest of the service figures: two statements."""
    policy.require(principal, "audit.reports")
    today = today or dt.date.today()
    result = {"filters": flt.audit_detail(), "today": today.isoformat(),
              "plans": _plan_figures(db, _plan_conditions(db, principal, secret, flt, dated=True), today),
              "unmet_preferences": _unmet(db, [ChoiceEntry.plan_id.in_(_plan_ids(db, principal, secret, flt)),
                                               *_choice_conditions(flt)])}
    audit.record(db, actor(principal), "report.service.read", detail={**flt.audit_detail(), "glance": True})
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
    quarter, its numbers are withheld. Never a comment, a plan or a person.

    The range is widened to whole quarters: totals for two ranges a day apart would
    otherwise differ by one person's answers, and subtracting them would show those."""
    policy.require(principal, "audit.reports")
    date_from = quarter_range(date_from)[0] if date_from else None
    date_to = quarter_range(date_to)[1] if date_to else None
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
