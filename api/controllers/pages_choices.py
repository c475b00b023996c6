"""HTML pages for treatment options and the clinician's prescribing review. Routes in ROUTES.

- /plans/{id}/choices                  "Talking about treatment options": every option with its plain
                                        description and a form to record each conversation
- /prescribing/queue                   the clinician's queue, oldest first
- /plans/{id}/prescribing/review       one plan's review: the exact version and fingerprint, the
                                        person's preferences in their words, and the decision form
- /plans/{id}/staying-safe             naloxone offered and supplied (peer supply too), needle and
                                        syringe access, blood-borne virus tests, times of higher risk

Every form posts to these routes and redirects (303) when saved; everything works
without JavaScript. Rule errors and unacknowledged warnings are shown the NHS.UK way: an
error summary linking to each field, and each warning with an acknowledge box and a reason.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

from api.controllers.pages_common import READERS, WRITERS, load_plan, page, see_other
from api.deps import transact
from api.forms import LONG_TEXT, SHORT, Errors, FormData, date_parts, integer, iso_to_parts, parse_date, text
from api.security import roles, viewer_of
from careplans import plan_document as doc
from careplans.catalogue import load_frequencies, load_options, load_supervision_modes
from careplans.errors import InvalidInput, RuleViolation, VersionConflict
from careplans.plan_changes import choice_summary
from careplans.services import choices, goals, plans, prescribing
from careplans.views import BBV_LABELS, BBV_STATUS_WORDS, NSP_WORDS, RISK_WORDS, text_of

CLINICIANS = roles("clinician")

FORMAT_LABELS = [
    ("conversation", "Talking it through"),
    ("leaflet", "A leaflet"),
    ("easy_read", "Easy read information"),
    ("video", "A video"),
    ("online", "A website"),
    ("interpreter", "With an interpreter"),
    ("peer", "From a peer"),
    ("other", "Another way"),
]
PREFERENCE_LABELS = [
    ("preferred", "Would like this"),
    ("open", "Open to it"),
    ("not_preferred", "Would rather not"),
]
OUTCOME_LABELS = [
    ("chosen", "Chosen", ""),
    ("undecided", "Not decided yet", ""),
    ("declined", "Declined", "The person does not want it. Say why."),
    ("not_suitable", "Not clinically suitable", "Say why, in plain words."),
    ("not_available", "Not available here", "Recorded as an unmet need. Say what is missing."),
]
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
]
SAVED = {
    "choice": "What you talked about is saved in the plan.",
    "staying-safe": "Staying safe is saved.",
    "nothing": "Nothing had changed, so no new version was made.",
    "decision": "The prescribing decision is saved against that plan version.",
}


def _unavailable(request: Request) -> frozenset[str]:
    return frozenset(request.app.state.settings.unavailable_options)


# --- talking about treatment options ---------------------------------------------------------------

def _empty_choice_values() -> dict[str, Any]:
    today = dt.date.today()
    return {"information_given": "", "information_format": "", "discussed_parts": iso_to_parts(today.isoformat()),
            "client_view": "", "preference": "", "outcome": "", "reason": ""}


def read_choice_form(data: dict[str, Any], option: str, errors: Errors) -> dict[str, Any]:
    """What was typed into one option's form, checked; field ids are prefixed with the option code."""
    p = f"{option}-"
    values: dict[str, Any] = {
        "information_given": text(data, p + "information_given"),
        "information_format": text(data, p + "information_format"),
        "client_view": text(data, p + "client_view").strip(),
        "preference": text(data, p + "preference"),
        "outcome": text(data, p + "outcome"),
        "reason": text(data, p + "reason").strip(),
    }
    if values["information_given"] not in ("yes", "no"):
        errors.add(p + "information_given", "Say whether information about this option was given.",
                   p + "information_given")
    if values["information_format"] and values["information_format"] not in doc.INFORMATION_FORMATS:
        errors.add(p + "information_format", "Choose how the information was given.", p + "information_format")
    if values["preference"] and values["preference"] not in doc.PREFERENCES:
        errors.add(p + "preference", "Choose a preference, or leave it blank.", p + "preference")
    if values["outcome"] and values["outcome"] not in doc.CHOICE_OUTCOMES:
        errors.add(p + "outcome", "Choose an outcome, or leave it blank.", p + "outcome")
    for name, what in (("client_view", "The view"), ("reason", "The reason")):
        if len(values[name]) > LONG_TEXT:
            errors.add(p + name, f"{what} must be {LONG_TEXT:,} characters or fewer.")
    if values["outcome"] in doc.OUTCOMES_NEEDING_REASON and not values["reason"]:
        errors.add(p + "reason", "Say why, in a few words: it is part of the record of the choice offered.")
    parts = date_parts(data, p + "discussed_on")
    values["discussed_parts"] = parts
    values["discussed_on"] = parse_date(parts, "The date you talked", errors, p + "discussed_on")
    if values["discussed_on"] is None and p + "discussed_on" not in errors:
        errors.add(p + "discussed_on", "Enter the date you talked about it.", p + "discussed_on-day")
    return values


def _choices_context(db: Session, viewer, plan_id: str, unavailable: frozenset[str], audited: bool = True) -> dict:
    context = load_plan(db, viewer, plan_id, audited=audited)
    latest = doc.latest_choice_by_option(context["plan"])
    counts: dict[str, int] = {}
    for entry in context["plan"].get("choices", []):
        counts[entry["option"]] = counts.get(entry["option"], 0) + 1
    options = []
    for o in load_options(unavailable):
        last = latest.get(o.code)
        options.append({"code": o.code, "name": o.name, "kind": o.kind, "description": o.plain_description,
                        "available_locally": o.available_locally, "times": counts.get(o.code, 0),
                        "last": last, "last_summary": choice_summary(last) if last else None})
    context["options"] = options
    return context


def _choices_page(context: dict, *, status_code: int = 200, errors: Errors | None = None, open_option: str = "",
                  typed: dict | None = None, conflict: dict | None = None, saved: str | None = None) -> Template:
    return page("choices/options.html", status_code=status_code, errors=errors or Errors(), open_option=open_option,
                typed=typed or {}, blank=_empty_choice_values(), conflict=conflict, saved=saved,
                based_on=context["plan"]["version"], FORMAT_LABELS=FORMAT_LABELS,
                PREFERENCE_LABELS=PREFERENCE_LABELS, OUTCOME_LABELS=OUTCOME_LABELS, **context)


@get("/plans/{plan_id:str}/choices", guards=[READERS], sync_to_thread=True, include_in_schema=False)
def choices_page(request: Request, db_session: Session, plan_id: str, saved: str | None = None) -> Template:
    viewer = viewer_of(request)
    unavailable = _unavailable(request)
    context = transact(db_session, lambda: _choices_context(db_session, viewer, plan_id, unavailable))
    return _choices_page(context, saved=SAVED.get(saved or ""))


@post("/plans/{plan_id:str}/choices/{option:str}", guards=[WRITERS], sync_to_thread=True, include_in_schema=False)
def choice_submit(request: Request, db_session: Session, plan_id: str, option: str,
                  data: FormData) -> Template | Redirect:
    viewer = viewer_of(request)
    unavailable = _unavailable(request)
    errors = Errors()
    typed = read_choice_form(data, option, errors)
    based_on = integer(data, "based_on") or 0
    conflict = None
    if not errors:
        fields = {"option": option, "information_given": typed["information_given"] == "yes",
                  "information_format": typed["information_format"] or None,
                  "discussed_on": typed["discussed_on"], "client_view": typed["client_view"] or None,
                  "preference": typed["preference"] or None, "outcome": typed["outcome"] or None,
                  "reason": typed["reason"] or None}
        try:
            transact(db_session, lambda: choices.add_choice(db_session, viewer, plan_id, based_on, fields,
                                                            unavailable))
        except VersionConflict as exc:
            conflict = {"your_version": exc.your_version, "version": exc.current_version}
        except InvalidInput as exc:
            for e in exc.errors:
                name = e["field"] if e["field"] != "option" else "information_given"
                errors.add(f"{option}-{name}", e["message"])
        else:
            return see_other(f"/plans/{plan_id}/choices?saved=choice#option-{option}")

    def work() -> dict:
        context = _choices_context(db_session, viewer, plan_id, unavailable, audited=False)
        if conflict is not None:
            conflict["newer"] = [v for v in plans.list_versions(db_session, viewer, plan_id)
                                 if v["version"] > conflict["your_version"]]
        return context

    context = transact(db_session, work)
    return _choices_page(context, status_code=409 if conflict else 422, errors=errors, open_option=option,
                         typed=typed, conflict=conflict)


# --- the queue ----------------------------------------------------------------------------------------

@get("/prescribing/queue", guards=[CLINICIANS], sync_to_thread=True, include_in_schema=False)
def queue_page(request: Request, db_session: Session, saved: str | None = None) -> Template:
    viewer = viewer_of(request)
    items = transact(db_session, lambda: prescribing.queue(db_session, viewer))
    return page("prescribing/queue.html", items=items, saved=SAVED.get(saved or ""))


@get("/prescribing", guards=[CLINICIANS], sync_to_thread=False, include_in_schema=False)
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
def review_page(request: Request, db_session: Session, plan_id: str) -> Template:
    viewer = viewer_of(request)
    context = transact(db_session, lambda: _review_context(db_session, viewer, plan_id))
    return _review_page(context)


@get("/plans/{plan_id:str}/prescribing", guards=[CLINICIANS], sync_to_thread=False, include_in_schema=False)
def review_short(request: Request, plan_id: str) -> Redirect:
    return see_other(f"/plans/{plan_id}/prescribing/review")


_FIELD_IDS = {"prescriber_home_office_licence": "option", "acknowledged_warnings": "decision"}


def _field_id(field: str) -> str:
    """The id of the form control a rule finding is about, for the error summary link."""
    if field.startswith("acknowledged_warnings"):
        return "decision"
    return _FIELD_IDS.get(field, field)


@post("/plans/{plan_id:str}/prescribing/review", guards=[CLINICIANS], sync_to_thread=True, include_in_schema=False)
def review_submit(request: Request, db_session: Session, plan_id: str, data: FormData) -> Template | Redirect:
    viewer = viewer_of(request)
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
            conflict["newer"] = [v for v in plans.list_versions(db_session, viewer, plan_id)
                                 if v["version"] > conflict["your_version"]]
        return context

    context = transact(db_session, work)
    return _review_page(context, status_code=409 if conflict else 422, errors=errors, typed=typed,
                        warnings=warnings, plan_version=None if conflict else body["plan_version"],
                        conflict=conflict)



# --- staying safe ------------------------------------------------------------------------------------

RISK_ROWS_BLANK = 2
MAX_RISK_ROWS = 20


def _tri(value: Any) -> str:
    return "yes" if value is True else "no" if value is False else ""


def staying_safe_values(safe: dict[str, Any] | None) -> dict[str, Any]:
    """The saved section as the values its form shows."""
    safe = safe or doc.empty_staying_safe()
    nal = {**doc.empty_staying_safe()["naloxone"], **(safe.get("naloxone") or {})}
    return {
        "offered": _tri(nal.get("offered")), "offered_on": nal.get("offered_on") or "",
        "supplied": _tri(nal.get("supplied")), "product": nal.get("product") or "",
        "supplied_on": nal.get("supplied_on") or "", "supplied_by": nal.get("supplied_by") or "",
        "peer_supply": _tri(nal.get("peer_supply")),
        "needle_syringe_access": safe.get("needle_syringe_access") or "",
        "bbv": {item: (safe.get("bbv") or {}).get(item, "not_discussed") for item in doc.BBV_ITEMS},
        "moments": [{"kind": m.get("kind") or "", "date": m.get("date") or "", "note": text_of(m.get("note")).strip()}
                    for m in safe.get("overdose_risk_moments") or []],
        "notes": text_of(safe.get("notes")).strip(),
    }


def read_staying_safe_form(data: dict[str, Any], errors: Errors) -> dict[str, Any]:
    values: dict[str, Any] = {name: text(data, name).strip() for name in (
        "offered", "supplied", "product", "supplied_by", "peer_supply", "needle_syringe_access", "notes")}
    for name, label in (("offered", "whether naloxone was offered"), ("supplied", "whether naloxone was supplied"),
                        ("peer_supply", "whether it was peer supply")):
        if values[name] not in ("", "yes", "no"):
            errors.add(name, f"Choose {label}.")
    if values["product"] not in ("", *doc.NALOXONE_PRODUCTS):
        errors.add("product", "Choose the naloxone product.")
    if values["needle_syringe_access"] not in ("", *doc.NSP_STATUSES):
        errors.add("needle_syringe_access", "Choose one of the options for needles and syringes.")
    if len(values["supplied_by"]) > SHORT:
        errors.add("supplied_by", f"Who supplied it must be {SHORT} characters or fewer.")
    if len(values["notes"]) > LONG_TEXT:
        errors.add("notes", f"Notes must be {LONG_TEXT:,} characters or fewer.")
    for name, what in (("offered_on", "The date naloxone was offered"), ("supplied_on", "The date it was supplied")):
        parts = date_parts(data, name)
        values[name + "_parts"] = parts
        values[name] = parse_date(parts, what, errors, name) or ""
    values["bbv"] = {}
    for item in doc.BBV_ITEMS:
        status = text(data, f"bbv-{item}") or "not_discussed"
        if status not in doc.BBV_STATUSES:
            errors.add(f"bbv-{item}", "Choose where this is up to.")
        values["bbv"][item] = status
    moments = []
    rows = min(integer(data, "moment_count") or 0, MAX_RISK_ROWS + RISK_ROWS_BLANK)
    for i in range(rows):
        kind = text(data, f"moment-{i}-kind").strip()
        note = text(data, f"moment-{i}-note").strip()
        parts = date_parts(data, f"moment-{i}-date")
        day = parse_date(parts, f"The date for time {i + 1}", errors, f"moment-{i}-date") or ""
        if not kind:
            if note or day:
                errors.add(f"moment-{i}-kind", f"Choose what kind of time {i + 1} is, or clear its date and note.")
                moments.append({"kind": kind, "date": day, "note": note, "parts": parts})
            continue
        if kind not in doc.RISK_MOMENT_KINDS:
            errors.add(f"moment-{i}-kind", f"Choose what kind of time {i + 1} is.")
        if len(note) > LONG_TEXT:
            errors.add(f"moment-{i}-note", f"The note must be {LONG_TEXT:,} characters or fewer.")
        moments.append({"kind": kind, "date": day, "note": note, "parts": parts})
    if len(moments) > MAX_RISK_ROWS:
        errors.add("moment-0-kind", f"Up to {MAX_RISK_ROWS} times can be recorded.")
    values["moments"] = moments
    return values


def _tri_value(value: str) -> bool | None:
    return True if value == "yes" else False if value == "no" else None


def _staying_safe_changes(typed: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """Only what differs from what is saved now, so unchanged words keep their voice."""
    changes: dict[str, Any] = {}
    naloxone = {}
    for name in ("offered", "supplied", "peer_supply"):
        if typed[name] != current[name]:
            naloxone[name] = _tri_value(typed[name])
    for name in ("offered_on", "supplied_on", "product", "supplied_by"):
        if typed[name] != current[name]:
            naloxone[name] = typed[name] or None
    if naloxone:
        changes["naloxone"] = naloxone
    if typed["needle_syringe_access"] != current["needle_syringe_access"]:
        changes["needle_syringe_access"] = typed["needle_syringe_access"] or None
    bbv = {item: status for item, status in typed["bbv"].items() if status != current["bbv"].get(item)}
    if bbv:
        changes["bbv"] = bbv
    mine = [{"kind": m["kind"], "date": m["date"], "note": m["note"]} for m in typed["moments"]]
    if mine != current["moments"]:
        changes["overdose_risk_moments"] = [{"kind": m["kind"], "date": m["date"] or None, "note": m["note"] or None}
                                            for m in mine]
    if typed["notes"] != current["notes"]:
        changes["notes"] = typed["notes"] or None
    return changes


def _staying_safe_page(context: dict, values: dict[str, Any], *, status_code: int = 200,
                       errors: Errors | None = None, based_on: int | None = None,
                       conflict: dict | None = None, saved: str | None = None) -> Template:
    rows = [{**m, "parts": m.get("parts") or iso_to_parts(m.get("date"))} for m in values["moments"]]
    rows += [{"kind": "", "date": "", "note": "", "parts": iso_to_parts(None)} for _ in range(RISK_ROWS_BLANK)]
    return page("choices/staying_safe.html", status_code=status_code, errors=errors or Errors(), values=values,
                offered_parts=values.get("offered_on_parts") or iso_to_parts(values["offered_on"]),
                supplied_parts=values.get("supplied_on_parts") or iso_to_parts(values["supplied_on"]),
                moment_rows=rows, based_on=based_on or context["plan"]["version"], conflict=conflict, saved=saved,
                BBV_LABELS=BBV_LABELS, BBV_STATUS_WORDS=BBV_STATUS_WORDS, NSP_WORDS=NSP_WORDS, RISK_WORDS=RISK_WORDS,
                **context)


@get("/plans/{plan_id:str}/staying-safe", guards=[WRITERS], sync_to_thread=True, include_in_schema=False)
def staying_safe_page(request: Request, db_session: Session, plan_id: str, saved: str | None = None) -> Template:
    viewer = viewer_of(request)
    context = transact(db_session, lambda: load_plan(db_session, viewer, plan_id))
    return _staying_safe_page(context, staying_safe_values(context["plan"].get("staying_safe")),
                              saved=SAVED.get(saved or ""))


@post("/plans/{plan_id:str}/staying-safe", guards=[WRITERS], sync_to_thread=True, include_in_schema=False)
def staying_safe_submit(request: Request, db_session: Session, plan_id: str, data: FormData) -> Template | Redirect:
    viewer = viewer_of(request)
    errors = Errors()
    typed = read_staying_safe_form(data, errors)
    based_on = integer(data, "based_on") or 0
    conflict = None
    if not errors:
        def work():
            current = plans.read_plan(db_session, viewer, plan_id, audited=False)
            changes = _staying_safe_changes(typed, staying_safe_values(current.get("staying_safe")))
            if not changes:
                return None
            return goals.patch_plan(db_session, viewer, plan_id, based_on, None, changes)

        try:
            result = transact(db_session, work)
        except VersionConflict as exc:
            conflict = {"your_version": exc.your_version, "version": exc.current_version}
        except InvalidInput as exc:
            for e in exc.errors:
                errors.add(e["field"].rsplit(".", 1)[-1], e["message"])
        else:
            saved = "staying-safe" if result is not None and result.changed else "nothing"
            return see_other(f"/plans/{plan_id}/staying-safe?saved={saved}")

    def reload() -> dict:
        context = load_plan(db_session, viewer, plan_id, audited=False)
        if conflict is not None:
            conflict["newer"] = [v for v in plans.list_versions(db_session, viewer, plan_id)
                                 if v["version"] > conflict["your_version"]]
        return context

    context = transact(db_session, reload)
    return _staying_safe_page(context, typed, status_code=409 if conflict else 422, errors=errors,
                              based_on=context["plan"]["version"] if conflict else based_on, conflict=conflict)

ROUTES: list = [choices_page, choice_submit, queue_page, queue_short, review_page, review_short, review_submit,
                staying_safe_page, staying_safe_submit]
