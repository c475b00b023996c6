"""HTML pages for staying safe. Routes in ROUTES.

- /plans/{id}/staying-safe             naloxone offered and supplied (peer supply too), needle and
                                        syringe access, blood-borne virus tests, times of higher risk

The form posts to this route and redirects (303) when saved; everything works
without JavaScript.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

from api.controllers.pages_common import SAVED, WRITERS, load_plan, page, plain, see_other
from api.deps import transact
from api.forms import LONG_TEXT, SHORT, Errors, FormData, date_parts, integer, iso_to_parts, parse_date, text
from api.guards import principal_of
from careplans import plan_document as doc, plan_history
from careplans.errors import InvalidInput, VersionConflict
from careplans import queries
from careplans.services import goals
from careplans.views import BBV_LABELS, BBV_STATUS_WORDS, NSP_WORDS, RISK_WORDS, text_of
from litestar.params import FromPath, FromQuery
from api.deps import DbSession

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
def staying_safe_page(request: Request, db_session: DbSession, plan_id: FromPath[str], saved: FromQuery[str | None] = None) -> Template:
    viewer = principal_of(request)
    context = transact(db_session, lambda: load_plan(db_session, viewer, plan_id))
    return _staying_safe_page(context, staying_safe_values(context["plan"].get("staying_safe")),
                              saved=SAVED.get(saved or ""))


@post("/plans/{plan_id:str}/staying-safe", guards=[WRITERS], sync_to_thread=True, include_in_schema=False)
def staying_safe_submit(request: Request, db_session: DbSession, plan_id: FromPath[str], data: FormData) -> Template | Redirect:
    viewer = principal_of(request)
    errors = Errors()
    typed = read_staying_safe_form(data, errors)
    based_on = integer(data, "based_on") or 0
    conflict = None
    if not errors:
        def work():
            current = plain(queries.read_plan(db_session, viewer, plan_id, audited=False))
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
            conflict["newer"] = [v for v in plain(plan_history.list_versions(db_session, viewer, plan_id, audited=False))
                                 if v["version"] > conflict["your_version"]]
        return context

    context = transact(db_session, reload)
    return _staying_safe_page(context, typed, status_code=409 if conflict else 422, errors=errors,
                              based_on=context["plan"]["version"] if conflict else based_on, conflict=conflict)


ROUTES: list = [staying_safe_page, staying_safe_submit]
