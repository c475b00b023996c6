"""HTML pages for the clinician's prescribing work. Routes in ROUTES.

- /prescribing/queue                   the clinician's queue, oldest first
- /plans/{id}/prescribing/review       one plan's review: the exact version and fingerprint, the
                                        person's preferences in their words, and the decision form

Every form posts to these routes and redirects (303) when saved; everything works
without JavaScript. Rule errors and unacknowledged warnings are shown the NHS.UK way: an
error summary linking to each field, and each warning with an acknowledge box and a reason.
"""

from __future__ import annotations

import math
from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

from api.controllers.pages_common import SAVED, load_plan, page, plain, see_other
from api.deps import transact
from api.forms import LONG_TEXT, SHORT, Errors, FormData, date_parts, integer, iso_to_parts, parse_date, text
from api.guards import CLINICIANS, PRESCRIBING_QUEUE, principal_of
from careplans.catalogue import load_frequencies, load_options, load_supervision_modes
from careplans.errors import InvalidInput, RuleViolation, VersionConflict
from careplans import plan_history
from careplans.services import prescribing
from litestar.params import FromPath, FromQuery
from api.deps import DbSession


DECISION_LABELS = [
    ("approved", "Approved", "As the person and their keyworker asked"),
    ("approved_with_changes", "Approved with changes", "Say what changed and why"),
    ("declined", "Not approved", "No dose is needed; explain why and what happens next"),
]
CO_USE_LABELS = [
    ("benzodiazepines", "Benzodiazepines"),
    ("gabapentinoids", "Pregabalin or gabapentin"),
    ("alcohol", "Alcohol"),
    ("sedatives", "Other sedatives"),
]
FLAG_LABELS = [
    ("is_new_start", "This is a new start of this medication"),
    ("objective_withdrawal_confirmed", "Objective withdrawal confirmed (buprenorphine start)"),
    ("pregnant", "Pregnant"),
    ("severe_hepatic_impairment", "Severe liver impairment"),
    ("cardiac_risk", "Heart or liver disease, electrolyte problems, or QT-prolonging or CYP3A4-inhibiting drugs"),
    ("on_opioid_treatment", "Taking methadone, buprenorphine or another opioid medicine now"),
    ("withdrawal_seizures_or_dt_history", "Has had alcohol withdrawal seizures or delirium tremens"),
    ("inpatient_withdrawal", "Alcohol withdrawal planned as an inpatient"),
    ("withdrawal_symptoms", "Has alcohol withdrawal symptoms now, or needs immediate withdrawal"),
]
NUMBER_FIELDS = [
    ("previous_dose_mg", "Daily dose before this change (mg)", float),
    ("starting_dose_mg", "Daily dose this medication was started at (mg)", float),
    ("days_since_start", "Days since this medication was started", int),
    ("weeks_on_weekly_buvidal", "Weeks on weekly Buvidal so far", int),
    ("current_methadone_dose_mg", "Current daily methadone dose, if switching to Buvidal (mg)", float),
    ("hours_since_last_methadone_dose", "Hours since the last methadone dose", float),
    ("hours_since_last_short_acting_opioid", "Hours since the last short-acting opioid", float),
    ("current_sublingual_buprenorphine_mg", "Current daily sublingual buprenorphine dose (mg)", float),
    ("qtc_ms", "Most recent QTc (ms)", float),
    ("sadq_score", "SADQ score (alcohol dependence, 0 to 60)", int),
    ("weight_kg", "Weight (kg)", float),
    ("age_years", "Age (years)", int),
    ("hours_since_last_drink", "Hours since the last alcoholic drink", float),
    ("alcohol_g_per_day", "Usual alcohol a day, in grams (1 UK unit is 8 g)", float),
]


# --- the queue ----------------------------------------------------------------------------------------

@get("/prescribing/queue", guards=[PRESCRIBING_QUEUE], sync_to_thread=True, include_in_schema=False)
def queue_page(request: Request, db_session: DbSession, saved: FromQuery[str | None] = None) -> Template:
    viewer = principal_of(request)
    items = transact(db_session, lambda: prescribing.queue(db_session, viewer))
    return page("prescribing/queue.html", items=items, saved=SAVED.get(saved or ""))


@get("/prescribing", guards=[PRESCRIBING_QUEUE], sync_to_thread=False, include_in_schema=False)
def queue_short(request: Request) -> Redirect:
    return see_other("/prescribing/queue")


# --- the review ---------------------------------------------------------------------------------------

def _number(raw: str, kind: type, field: str, label: str, errors: Errors) -> float | int | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        value = kind(raw)
    except ValueError:
        errors.add(field, f"{label} must be a number{' of whole days' if kind is int else ''}.")
        return None
    if isinstance(value, float) and not math.isfinite(value):
        errors.add(field, f"{label} must be a number.")
        return None
    return value


def read_decision_form(data: dict[str, Any], errors: Errors) -> dict[str, Any]:
    """The decision form as typed (strings kept for re-showing) and the body for the service."""
    typed: dict[str, Any] = {name: text(data, name).strip() for name in (
        "decision", "option", "product", "dose_mg", "frequency", "supervision", "instalment_days", "pharmacy",
        "rationale", "client_explanation", "sex", *[n for n, _, _ in NUMBER_FIELDS])}
    raw_co_use = data.get("co_use") or []
    typed["co_use"] = [raw_co_use] if isinstance(raw_co_use, str) else list(raw_co_use)
    typed["flags"] = {name for name, _ in FLAG_LABELS if text(data, name) == "yes"}
    body: dict[str, Any] = {"plan_version": integer(data, "plan_version") or 0}
    if typed["decision"] not in prescribing.DECISIONS:
        errors.add("decision", "Choose a decision.", "decision")
    if not typed["option"]:
        errors.add("option", "Choose the medication this decision is about.")
    for name, label in (("rationale", "the reasons for this decision"),
                        ("client_explanation", "an explanation for the person, in plain words")):
        if not typed[name]:
            errors.add(name, f"Give {label}.")
        elif len(typed[name]) > LONG_TEXT:
            errors.add(name, f"This must be {LONG_TEXT:,} characters or fewer.")
    if len(typed["pharmacy"]) > SHORT:
        errors.add("pharmacy", f"The pharmacy must be {SHORT} characters or fewer.")
    body.update({k: typed[k] or None for k in ("decision", "option", "product", "frequency", "supervision",
                                                  "pharmacy", "rationale", "client_explanation")})
    body["dose_mg"] = _number(typed["dose_mg"], float, "dose_mg", "The dose", errors)
    body["instalment_days"] = _number(typed["instalment_days"], int, "instalment_days", "Days per instalment",
                                      errors)
    for name, label, kind in NUMBER_FIELDS:
        value = _number(typed[name], kind, name, label, errors)
        if value is not None:
            body[name] = value
    for name in typed["flags"]:
        body[name] = True
    if typed["co_use"]:
        body["co_use"] = typed["co_use"]
    if typed["sex"] in ("female", "male"):
        body["sex"] = typed["sex"]
    for name, what in (("start_date", "The start date"), ("review_date", "The review date")):
        parts = date_parts(data, name)
        typed[name + "_parts"] = parts
        body[name] = parse_date(parts, what, errors, name)
    acks = []
    typed["acks"] = {}
    for code in sorted({k[4:] for k in data if isinstance(k, str) and k.startswith("ack-")
                        and not k.endswith("-reason")}):
        reason = text(data, f"ack-{code}-reason").strip()
        typed["acks"][code] = {"checked": text(data, f"ack-{code}") == "yes", "reason": reason}
    for code in sorted({k[4:-7] for k in data if isinstance(k, str) and k.startswith("ack-")
                        and k.endswith("-reason")}):
        typed["acks"].setdefault(code, {"checked": False, "reason": text(data, f"ack-{code}-reason").strip()})
    for code, ack in typed["acks"].items():
        if ack["checked"]:
            if not ack["reason"]:
                errors.add(f"ack-{code}-reason", "Give a reason for going ahead despite this warning.")
            else:
                acks.append({"code": code, "reason": ack["reason"][:2000]})
    body["acknowledged_warnings"] = acks
    return {"typed": typed, "body": body}


def _empty_decision() -> dict[str, Any]:
    return {"decision": "", "option": "", "product": "", "dose_mg": "", "frequency": "", "supervision": "",
            "instalment_days": "", "pharmacy": "", "rationale": "", "client_explanation": "", "sex": "",
            "co_use": [], "flags": set(), "acks": {}, "start_date_parts": iso_to_parts(None),
            "review_date_parts": iso_to_parts(None), **{n: "" for n, _, _ in NUMBER_FIELDS}}


def _review_context(db: Session, viewer, plan_id: str, audited: bool = True) -> dict[str, Any]:
    context = load_plan(db, viewer, plan_id, audited=audited)
    details = prescribing.review_details(db, viewer, context["plan"])
    context.update(preferences=details["preferences"], discussions=details["medication_discussions"],
                   waiting=details["waiting"])
    return context


def _review_page(context: dict, *, status_code: int = 200, errors: Errors | None = None,
                 typed: dict | None = None, warnings: list | None = None, plan_version: int | None = None,
                 conflict: dict | None = None) -> Template:
    medication = [o for o in load_options() if o.kind == "medication"]
    return page(
        "prescribing/review.html", status_code=status_code, errors=errors or Errors(),
        values=typed or _empty_decision(), warnings=warnings or [], conflict=conflict,
        plan_version=plan_version or context["plan"]["version"], medication=medication,
        frequencies=load_frequencies(), supervision_modes=load_supervision_modes(),
        DECISION_LABELS=DECISION_LABELS, CO_USE_LABELS=CO_USE_LABELS, FLAG_LABELS=FLAG_LABELS,
        NUMBER_FIELDS=[(n, label) for n, label, _ in NUMBER_FIELDS], **context)


@get("/plans/{plan_id:str}/prescribing/review", guards=[CLINICIANS], sync_to_thread=True, include_in_schema=False)
def review_page(request: Request, db_session: DbSession, plan_id: FromPath[str]) -> Template:
    viewer = principal_of(request)
    context = transact(db_session, lambda: _review_context(db_session, viewer, plan_id))
    return _review_page(context)


@get("/plans/{plan_id:str}/prescribing", guards=[CLINICIANS], sync_to_thread=False, include_in_schema=False)
def review_short(request: Request, plan_id: FromPath[str]) -> Redirect:
    return see_other(f"/plans/{plan_id}/prescribing/review")


_FIELD_IDS = {"prescriber_home_office_licence": "option", "acknowledged_warnings": "decision"}


def _field_id(field: str) -> str:
    """The id of the form control a rule finding is about, for the error summary link."""
    if field.startswith("acknowledged_warnings"):
        return "decision"
    return _FIELD_IDS.get(field, field)


@post("/plans/{plan_id:str}/prescribing/review", guards=[CLINICIANS], sync_to_thread=True, include_in_schema=False)
def review_submit(request: Request, db_session: DbSession, plan_id: FromPath[str], data: FormData) -> Template | Redirect:
    viewer = principal_of(request)
    errors = Errors()
    form = read_decision_form(data, errors)
    typed, body = form["typed"], form["body"]
    warnings: list[dict[str, Any]] = []
    conflict = None
    if not errors:
        try:
            transact(db_session, lambda: prescribing.decide(db_session, viewer, plan_id, body))
        except VersionConflict as exc:
            conflict = {"your_version": exc.your_version, "version": exc.current_version}
        except RuleViolation as exc:
            for e in exc.errors:
                field = _field_id(e["field"])
                # Shown beside its field, and in the summary; a second error on a field goes in the summary.
                errors.add(field if field not in errors else f"rule-{e['code']}", e["message"], field)
            warnings = [{**w, "acknowledged": False} for w in exc.warnings] + [
                {**w, "acknowledged": True} for w in exc.acknowledged]
            for w in exc.warnings:
                errors.add(f"warning-{w['code']}",
                           f"Check this warning: {w['message']} Acknowledge it with a reason, or change the "
                           f"prescription.", f"ack-{w['code']}")
        except InvalidInput as exc:
            for e in exc.errors:
                field = e["field"]
                if field.startswith("acknowledged_warnings."):
                    errors.add(field, e["message"], "decision")
                else:
                    errors.add(field, e["message"])
        else:
            return see_other("/prescribing/queue?saved=decision")

    def work() -> dict:
        context = _review_context(db_session, viewer, plan_id, audited=False)
        if conflict is not None:
            conflict["newer"] = [v for v in plain(plan_history.list_versions(db_session, viewer, plan_id, audited=False))
                                 if v["version"] > conflict["your_version"]]
        return context

    context = transact(db_session, work)
    return _review_page(context, status_code=409 if conflict else 422, errors=errors, typed=typed,
                        warnings=warnings, plan_version=None if conflict else body["plan_version"],
                        conflict=conflict)


ROUTES: list = [queue_page, queue_short, review_page, review_short, review_submit]
