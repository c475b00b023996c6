"""HTML pages for "Talking about treatment options" (the choice ledger). Routes in ROUTES.

- /plans/{id}/choices                  every option with its plain description and a form to
                                        record each conversation
- /plans/{id}/choices/{option}         (POST) one conversation about one option
- /plans/{id}/substances               (POST) what the plan is about (one or several substances)

The page starts with a short summary table (each option and where things stand), the
options for the plan's substances first; each option then opens on its own (`<details>`).

Every form posts to these routes and redirects (303) when saved; everything works
without JavaScript.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

from api.controllers.pages_common import READERS, SAVED, WRITERS, load_plan, page, plain, see_other
from api.deps import transact
from api.forms import LONG_TEXT, Errors, FormData, date_parts, integer, iso_to_parts, parse_date, text
from api.guards import principal_of
from careplans import plan_document as doc, plan_history
from careplans.catalogue import options_for_substances
from careplans.errors import InvalidInput, VersionConflict
from careplans import queries
from careplans.present import choice_standing, choice_summary
from careplans.vocab import SUBSTANCES
from careplans.services import choices
from litestar.params import FromPath, FromQuery
from api.deps import DbSession

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
# "Not decided yet" is also what an unanswered outcome means: one choice, not two.
OUTCOME_LABELS = [
    ("undecided", "Not decided yet", ""),
    ("chosen", "Chosen", ""),
    ("declined", "Declined", "The person does not want it. Say why."),
    ("not_suitable", "Not clinically suitable", "Say why, in plain words."),
    ("not_available", "Not available here", "Recorded as an unmet need. Say what is missing."),
]


def _unavailable(request: Request) -> frozenset[str]:
    return frozenset(request.app.state.settings.unavailable_options)


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
    reader = queries.reader_of(viewer)[1]
    substances = list(context["plan"].get("substances") or [])

    def row(o, first: bool) -> dict:
        last = latest.get(o.code)
        return {"code": o.code, "name": o.name, "kind": o.kind, "description": o.plain_description,
                "available_locally": o.available_locally, "times": counts.get(o.code, 0), "first": first,
                "last": last, "standing": choice_standing(last),
                "last_summary": choice_summary(last, reader) if last else None}

    first, rest = options_for_substances(substances, unavailable)
    context["options"] = [row(o, True) for o in first] + [row(o, False) for o in rest]
    context["substances"] = substances
    words = [SUBSTANCES.phrase(s) for s in substances]
    context["substance_words"] = words
    context["substance_text"] = words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}" \
        if words else ""
    return context


def _choices_page(context: dict, *, status_code: int = 200, errors: Errors | None = None, open_option: str = "",
                  typed: dict | None = None, conflict: dict | None = None, saved: str | None = None) -> Template:
    return page("choices/options.html", status_code=status_code, errors=errors or Errors(), open_option=open_option,
                typed=typed or {}, blank=_empty_choice_values(), conflict=conflict, saved=saved,
                based_on=context["plan"]["version"], FORMAT_LABELS=FORMAT_LABELS,
                PREFERENCE_LABELS=PREFERENCE_LABELS, OUTCOME_LABELS=OUTCOME_LABELS,
                SUBSTANCE_LABELS=[(t.code, t.words) for t in SUBSTANCES], **context)


@get("/plans/{plan_id:str}/choices", guards=[READERS], sync_to_thread=True, include_in_schema=False)
def choices_page(request: Request, db_session: DbSession, plan_id: FromPath[str], saved: FromQuery[str | None] = None,
                 open: FromQuery[str | None] = None) -> Template:  # noqa: A002 - the query parameter is called open
    viewer = principal_of(request)
    unavailable = _unavailable(request)
    context = transact(db_session, lambda: _choices_context(db_session, viewer, plan_id, unavailable))
    codes = {o["code"] for o in context["options"]}
    return _choices_page(context, saved=SAVED.get(saved or ""), open_option=open if open in codes else "")


@post("/plans/{plan_id:str}/choices/{option:str}", guards=[WRITERS], sync_to_thread=True, include_in_schema=False)
def choice_submit(request: Request, db_session: DbSession, plan_id: FromPath[str], option: FromPath[str],
                  data: FormData) -> Template | Redirect:
    viewer = principal_of(request)
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
            return see_other(f"/plans/{plan_id}/choices?saved=choice&open={option}#option-{option}")

    def work() -> dict:
        context = _choices_context(db_session, viewer, plan_id, unavailable, audited=False)
        if conflict is not None:
            conflict["newer"] = [v for v in plain(plan_history.list_versions(db_session, viewer, plan_id, audited=False))
                                 if v["version"] > conflict["your_version"]]
        return context

    context = transact(db_session, work)
    return _choices_page(context, status_code=409 if conflict else 422, errors=errors, open_option=option,
                         typed=typed, conflict=conflict)


@post("/plans/{plan_id:str}/substances", guards=[WRITERS], sync_to_thread=True, include_in_schema=False)
def substances_submit(request: Request, db_session: DbSession, plan_id: FromPath[str], data: FormData) -> Template | Redirect:
    viewer = principal_of(request)
    unavailable = _unavailable(request)
    raw = data.get("substances") or []
    chosen = [raw] if isinstance(raw, str) else [str(v) for v in raw]
    based_on = integer(data, "based_on") or 0
    errors = Errors()
    conflict = None
    if any(code not in SUBSTANCES for code in chosen):
        errors.add("substances", "Choose from the list.")
    else:
        try:
            transact(db_session, lambda: choices.set_substances(db_session, viewer, plan_id, based_on, chosen))
        except VersionConflict as exc:
            conflict = {"your_version": exc.your_version, "version": exc.current_version}
        except InvalidInput as exc:
            for e in exc.errors:
                errors.add("substances", e["message"])
        else:
            return see_other(f"/plans/{plan_id}/choices?saved=substances")

    def work() -> dict:
        context = _choices_context(db_session, viewer, plan_id, unavailable, audited=False)
        if conflict is not None:
            conflict["newer"] = [v for v in plain(plan_history.list_versions(db_session, viewer, plan_id, audited=False))
                                 if v["version"] > conflict["your_version"]]
        return context

    context = transact(db_session, work)
    return _choices_page(context, status_code=409 if conflict else 422, errors=errors, open_option="substances",
                         typed={"substances": chosen}, conflict=conflict)


ROUTES: list = [choices_page, choice_submit, substances_submit]
