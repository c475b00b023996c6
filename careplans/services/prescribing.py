"""The prescribing review: the clinician's queue, decisions, and the auditor's view.

A decision is about one exact plan version (its number and fingerprint); it does not
change the plan, so it needs no If-Match: the body names the version and a decision
about a version that is no longer current is refused (409). Decisions are
append-only: a new one supersedes the last, nothing is edited.

A plan waits for review when
- there is no decision yet and the person has said they would like a medication
  (a preference in the ledger, or the outcome "chosen"); or
- the ledger or staying-safe section changed after the version of the last decision
  (a later conversation reopens the review); or
- the last decision's review date has come.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any, Iterable

import msgspec
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from careplans import audit, policy, versions
from careplans import plan_document as doc
from careplans.catalogue import option_by_code, product_by_code
from careplans.changes import long_date
from careplans.errors import InvalidInput, RuleViolation, VersionConflict
from careplans.models import ChoiceEntry, Client, Plan, PlanVersion, PrescribingDecision, User, utcnow
from careplans.policy import Principal, plan_scope
from careplans.present import DecisionView, PlanView, iso, present, present_decision
from careplans.queries import actor, decision_record, decisions_for_plan, load_current, parse_id, read_plan, \
    reader_of, snapshot
from careplans.rules.medication import PrescribingProposal, check_prescribing

DECISIONS = ("approved", "approved_with_changes", "declined")
# Parts of the plan whose change reopens the review.
REVIEW_PATHS = ("choices", "staying_safe")
# Facts about the person the rules look at, accepted in the decision body.
CONTEXT_FIELDS = (
    "is_new_start", "previous_dose_mg", "starting_dose_mg", "days_since_start", "weeks_on_weekly_buvidal",
    "current_methadone_dose_mg", "hours_since_last_methadone_dose", "hours_since_last_short_acting_opioid",
    "current_sublingual_buprenorphine_mg", "co_use", "pregnant", "severe_hepatic_impairment", "cardiac_risk",
    "qtc_ms", "sex", "objective_withdrawal_confirmed", "nation",
    # alcohol (DOMAIN.md, "Alcohol")
    "on_opioid_treatment", "sadq_score", "withdrawal_seizures_or_dt_history", "inpatient_withdrawal",
    "withdrawal_symptoms", "weight_kg", "age_years", "hours_since_last_drink", "alcohol_g_per_day",
)


# --- deciding ---------------------------------------------------------------------------------

def _finding(f: Any) -> dict[str, Any]:
    return {"code": f.code, "field": f.field, "message": f.message, "source": f.source}


def _text(value: Any, field: str, message: str) -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else str(value)
    if not text:
        raise InvalidInput(field, message)
    return text


def _date(value: Any, field: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise InvalidInput(field, "Give a date, for example 2026-03-01.") from exc


def _context(body: dict[str, Any]) -> dict[str, Any]:
    ctx = {k: body[k] for k in CONTEXT_FIELDS if body.get(k) is not None}
    if "co_use" in ctx:
        ctx["co_use"] = sorted(set(ctx["co_use"]))
    return ctx


def decide(db: Session, viewer: Principal, plan_id: str | uuid.UUID, body: dict[str, Any]) -> DecisionView:
    """Record a prescribing decision about the plan version named in the body.

    Order of checks: who (404 outside the caseload), which version (409), then the
    body and the rules (422 with errors, or with the warnings not yet acknowledged).
    """
    policy.require(viewer, "prescribing.decide")
    # The plan row is locked on its own first, so no plan write can slip in between the
    # version check and the decision (see queries.load_current).
    plan, current = load_current(db, viewer, parse_id(plan_id), purpose="prescribe", lock=True)
    based_on = int(body["plan_version"])
    if based_on != plan.version:
        audit.record(db, actor(viewer), "prescribing.refused", plan_id=plan.id, client_id=plan.client_id,
                     detail={"version": plan.version, "based_on": based_on})
        vis, _ = reader_of(viewer)
        raise VersionConflict(plan.version, based_on,
                              present(snapshot(plan, current, decisions_for_plan(db, plan.id),
                                               versions.document_of(db, current)), vis))

    decision = body.get("decision")
    if decision not in DECISIONS:
        raise InvalidInput("decision", "Choose approved, approved with changes, or declined.")
    rationale = _text(body.get("rationale"), "rationale", "Give the reasons for this decision.")
    explanation = _text(body.get("client_explanation"), "client_explanation",
                        "Explain the decision to the person in plain words: they will read it on their plan.")
    start_date = _date(body.get("start_date"), "start_date")
    review_date = _date(body.get("review_date"), "review_date")
    if start_date and review_date and review_date < start_date:
        raise InvalidInput("review_date", "The review date cannot be before the start date.")
    user = db.execute(select(User.home_office_licence).where(User.id == viewer.id)).scalar_one()

    acks: dict[str, str] = {}
    for i, ack in enumerate(body.get("acknowledged_warnings") or []):
        code = str(ack.get("code") or "").strip()
        reason = (ack.get("reason") or "").strip()
        if not code:
            raise InvalidInput(f"acknowledged_warnings.{i}.code", "Say which warning you are acknowledging.")
        if not reason:
            raise InvalidInput(f"acknowledged_warnings.{i}.reason",
                               "Give a reason for going ahead despite this warning.")
        acks[code] = reason

    option_code = str(body.get("option") or "").strip()
    product_code = (body.get("product") or None)
    context = _context(body)
    acknowledged: list[dict[str, Any]] = []
    suggestions: list[dict[str, Any]] = []
    if decision == "declined":
        # Declining prescribes nothing: no dose rules, but the option (and product, if
        # named) must still be real.
        option = option_by_code(option_code)
        if option is None or option.kind != "medication":
            raise InvalidInput("option", "Name the medication option this decision is about (see GET /api/options).")
        if product_code:
            product = product_by_code(product_code)
            if product is None or product.option_code != option.code:
                raise InvalidInput("product", f"This is not a product of {option.name}.")
    else:
        missing = [f for f in ("product", "dose_mg", "frequency", "supervision") if body.get(f) in (None, "")]
        if missing:
            raise RuleViolation(errors=[
                {"code": "required", "field": f, "message": "Needed for an approval.", "source": "careplans"}
                for f in missing
            ])
        proposal = PrescribingProposal(
            option=option_code, product=product_code, dose_mg=body["dose_mg"], frequency=body["frequency"],
            supervision=body["supervision"], instalment_days=body.get("instalment_days"),
            prescriber_home_office_licence=user, **context,
        )
        result = check_prescribing(proposal)
        waiting = result.unacknowledged(acks)
        acknowledged = [{**_finding(w), "reason": acks[w.code]} for w in result.warnings if w.code in acks]
        if result.errors or waiting:
            raise RuleViolation(errors=[_finding(f) for f in result.errors],
                                warnings=[_finding(f) for f in waiting], acknowledged=acknowledged)
        suggestions = [_finding(s) for s in result.suggestions]

    pharmacy = (body.get("pharmacy") or "").strip() or None
    row = PrescribingDecision(
        plan_id=plan.id, client_id=plan.client_id, plan_version=plan.version, fingerprint=plan.fingerprint,
        clinician_id=viewer.id, clinician_name=viewer.name,
        home_office_licence=user if option_code == "hat" else None,
        decision=decision, option=option_code, product=product_code,
        dose_mg=body.get("dose_mg"), frequency=body.get("frequency"), supervision=body.get("supervision"),
        instalment_days=body.get("instalment_days"), pharmacy=pharmacy, start_date=start_date,
        review_date=review_date, rationale=rationale, client_explanation=explanation,
        acknowledged_warnings=acknowledged, suggestions=suggestions, clinical_context=context,
        created_at=utcnow(),
    )
    db.add(row)
    db.flush()
    audit.record(db, actor(viewer), "prescribing.decide", plan_id=plan.id, client_id=plan.client_id, detail={
        "decision_id": str(row.id), "version": plan.version, "fingerprint": plan.fingerprint,
        "decision": decision, "option": option_code, "product": product_code,
        "acknowledged": sorted(a["code"] for a in acknowledged),
    })
    vis, _ = reader_of(viewer)
    return present_decision(decision_record(row), vis)


# --- the queue ---------------------------------------------------------------------------------

def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=dt.timezone.utc)


def _touches_review(paths: Iterable[str]) -> bool:
    return any(p == r or p.startswith(r + "[") or p.startswith(r + ".") for p in paths for r in REVIEW_PATHS)


def waiting_plans(db: Session, viewer: Principal, today: dt.date | None = None,
                  plan_id: uuid.UUID | None = None) -> list[dict[str, Any]]:
    """Plans in this clinician's prescribing caseload that wait for a review, oldest first.
    Four queries whatever the size of the caseload."""
    today = today or utcnow().date()
    stmt = (select(Plan.id, Plan.client_id, Plan.version, Plan.fingerprint, Client.preferred_name,
                   Client.client_reference)
            .join(Client, Client.id == Plan.client_id).where(plan_scope(viewer, "prescribe")))
    if plan_id is not None:
        stmt = stmt.where(Plan.id == plan_id)
    plans = db.execute(stmt).all()
    if not plans:
        return []
    ids = [p.id for p in plans]

    ranked = (
        select(PrescribingDecision.plan_id, PrescribingDecision.plan_version, PrescribingDecision.review_date,
               PrescribingDecision.decision, PrescribingDecision.option, PrescribingDecision.created_at,
               func.row_number().over(partition_by=PrescribingDecision.plan_id,
                                      order_by=PrescribingDecision.created_at.desc()).label("rn"))
        .where(PrescribingDecision.plan_id.in_(ids)).subquery()
    )
    last = {r.plan_id: r for r in db.execute(select(ranked).where(ranked.c.rn == 1)).all()}

    prefs: dict[uuid.UUID, list[Any]] = {}
    for r in db.execute(
        select(ChoiceEntry.plan_id, ChoiceEntry.option, ChoiceEntry.plan_version, ChoiceEntry.recorded_at,
               ChoiceEntry.outcome)
        .where(ChoiceEntry.plan_id.in_(ids), ChoiceEntry.option_kind == "medication", ChoiceEntry.preferred.is_(True))
        .order_by(ChoiceEntry.recorded_at)
    ).all():
        prefs.setdefault(r.plan_id, []).append(r)

    changed: dict[uuid.UUID, list[Any]] = {}
    if last:
        latest = select(ranked).where(ranked.c.rn == 1).subquery()
        for r in db.execute(
            select(PlanVersion.plan_id, PlanVersion.number, PlanVersion.created_at, PlanVersion.changed_paths,
                   PlanVersion.author_name, PlanVersion.author_role)
            .join(latest, and_(latest.c.plan_id == PlanVersion.plan_id, PlanVersion.number > latest.c.plan_version))
            .order_by(PlanVersion.number)
        ).all():
            if _touches_review(r.changed_paths or []):
                changed.setdefault(r.plan_id, []).append(r)

    items = []
    for p in plans:
        d = last.get(p.id)
        reasons: list[dict[str, Any]] = []
        since: list[dt.datetime] = []
        new_prefs = [e for e in prefs.get(p.id, []) if d is None or e.plan_version > d.plan_version]
        if new_prefs:
            names = []
            for e in new_prefs:
                option = option_by_code(e.option)
                name = option.name if option else e.option
                if name not in names:
                    names.append(name)
            reasons.append({"code": "new_preference",
                            "text": "The person would like: " + ", ".join(names)})
            since.append(new_prefs[0].recorded_at)
        if d is not None and changed.get(p.id):
            versions = changed[p.id]
            reasons.append({"code": "plan_changed",
                            "text": f"Treatment options or staying safe changed since the last decision "
                                    f"(version {d.plan_version}; now version {p.version})"})
            since.append(versions[0].created_at)
        if d is not None and d.review_date is not None and d.review_date <= today:
            reasons.append({"code": "review_due", "text": f"Review date {long_date(d.review_date)} has come"})
            since.append(_midnight(d.review_date))
        if not reasons:
            continue
        waiting_since = min(s if s.tzinfo else s.replace(tzinfo=dt.timezone.utc) for s in since)
        items.append({
            "plan_id": str(p.id),
            "client_id": str(p.client_id),
            "client_name": p.preferred_name,
            "client_reference": p.client_reference,
            "plan_version": p.version,
            "fingerprint": p.fingerprint,
            "waiting_since": iso(waiting_since),
            "_since": waiting_since,
            "reasons": reasons,
            "last_decision": None if d is None else {
                "plan_version": d.plan_version, "decision": d.decision, "option": d.option,
                "review_date": d.review_date.isoformat() if d.review_date else None, "at": iso(d.created_at),
            },
        })
    items.sort(key=lambda i: (i["_since"], i["plan_id"]))
    for item in items:
        del item["_since"]
    return items


def queue(db: Session, viewer: Principal, today: dt.date | None = None) -> list[dict[str, Any]]:
    policy.require(viewer, "prescribing.queue")
    items = waiting_plans(db, viewer, today)
    audit.record(db, actor(viewer), "prescribing.queue.read", detail={"count": len(items)})
    return items


# --- the review page ------------------------------------------------------------------------------

def review_details(db: Session, viewer: Principal, plan: dict[str, Any],
                   today: dt.date | None = None) -> dict[str, Any]:
    """For a plan already read and presented (as plain values): the person's medication
    preferences in their words, the latest discussion of each medicine, and why the plan
    is waiting (if it is)."""
    latest = doc.latest_choice_by_option(plan)
    medication = [e for e in latest.values() if e.get("kind") == "medication"]
    waiting = waiting_plans(db, viewer, today, plan_id=parse_id(plan["id"]))
    return {
        "preferences": [e for e in medication if doc.choice_is_preferred(e.get("outcome"), e.get("preference"))],
        "medication_discussions": medication,
        "waiting": waiting[0] if waiting else None,
    }


def review(db: Session, viewer: Principal, plan_id: str | uuid.UUID, today: dt.date | None = None) -> dict[str, Any]:
    """Everything a clinician needs to review one plan: the current version and its
    fingerprint, the person's medication preferences in their words, the ledger,
    earlier decisions and why the plan is waiting."""
    policy.require(viewer, "prescribing.decide")
    plan = msgspec.to_builtins(read_plan(db, viewer, plan_id, purpose="prescribe"))
    return {"plan": plan, **review_details(db, viewer, plan, today)}


# --- auditors ----------------------------------------------------------------------------------------

def audit_decisions(db: Session, viewer: Principal, secret: str, after: int = 0, limit: int = 200) -> dict[str, Any]:
    """Every decision, pseudonymised: no names, no free text, no licence numbers."""
    policy.require(viewer, "audit.prescribing")
    rows = db.execute(
        select(PrescribingDecision).order_by(PrescribingDecision.created_at, PrescribingDecision.id)
        .offset(after).limit(limit)
    ).scalars().all()
    audit.record(db, actor(viewer), "prescribing.audit.read", detail={"count": len(rows), "offset": after})
    items = []
    for d in rows:
        items.append({
            "id": policy.pseudonym(secret, "decision", d.id),
            "plan": policy.pseudonym(secret, "plan", d.plan_id),
            "client": policy.pseudonym(secret, "client", d.client_id),
            "clinician": policy.pseudonym(secret, "staff", d.clinician_id),
            "plan_version": d.plan_version,
            "fingerprint": d.fingerprint,
            "decision": d.decision,
            "option": d.option,
            "product": d.product,
            "dose_mg": d.dose_mg,
            "frequency": d.frequency,
            "supervision": d.supervision,
            "instalment_days": d.instalment_days,
            "start_date": d.start_date.isoformat() if d.start_date else None,
            "review_date": d.review_date.isoformat() if d.review_date else None,
            "decided_at": iso(d.created_at),
            "has_rationale": bool(d.rationale),
            "has_client_explanation": bool(d.client_explanation),
            "licence_recorded": d.home_office_licence is not None,
            "acknowledged_warnings": [{"code": a.get("code"), "source": a.get("source"),
                                       "reason_given": bool(a.get("reason"))}
                                      for a in (d.acknowledged_warnings or [])],
        })
    return {"items": items, "next_after": after + len(rows)}
