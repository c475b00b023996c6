"""The treatment episode's dates, for the national return (keyworkers and administrators).

- /clients/{id}/episode                      referral, triage, leaving treatment and why, consent to
                                              report; interventions (keyworkers add and end them)
- POST /clients/{id}/episode                 save the dates
- POST /clients/{id}/interventions           add an intervention
- POST /clients/{id}/interventions/{iid}/end when it ended

careplans.services.episodes records them (who may: careplans.policy; which clients: its
client scope). Every form posts and redirects (303); nothing needs JavaScript.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from api.controllers.pages_common import page, see_other
from api.deps import DbSession, transact
from api.forms import Errors, FormData, date_parts, iso_to_parts, parse_date, text
from api.guards import EPISODE_READ, EPISODE_WRITE, INTERVENTIONS_WRITE, principal_of
from careplans.errors import InvalidInput
from careplans.services import clients, episodes
from careplans.vocab import DISCHARGE_REASONS, INTERVENTION_SETTINGS, INTERVENTION_TYPES

SAVED = {"episode": "The dates are saved.", "intervention": "The intervention is saved.",
         "ended": "The end date is saved."}
DATES = (("referral_date", "Referred on"), ("triage_date", "Triage (first assessment) on"),
         ("discharged_on", "Left treatment on"))


def _context(db, viewer, client_id: str) -> dict[str, Any]:
    return {"episode": episodes.episode(db, viewer, client_id), "client": clients.get_client(db, viewer, client_id)}


def _render(request: Request, db, client_id: str, *, status_code: int = 200, errors: Errors | None = None,
            typed: dict[str, Any] | None = None, new: dict[str, Any] | None = None, saved: str | None = None,
            end_errors: dict[str, str] | None = None) -> Template:
    viewer = principal_of(request)
    context = transact(db, lambda: _context(db, viewer, client_id))
    ep = context["episode"]
    typed = typed or {
        **{f: iso_to_parts(ep[f]) for f, _ in DATES},
        "discharge_reason": ep["discharge_reason"] or "",
        "consent_to_report": {True: "yes", False: "no", None: ""}[ep["consent_to_report"]],
    }
    return page("episode.html", status_code=status_code, nav_current="caseload", errors=errors or Errors(),
                typed=typed, new=new or {"start_date": iso_to_parts(None), "end_date": iso_to_parts(None)},
                DATES=DATES, REASONS=DISCHARGE_REASONS, TYPES=INTERVENTION_TYPES, SETTINGS=INTERVENTION_SETTINGS,
                saved=SAVED.get(saved or ""), end_errors=end_errors or {}, **context)


@get("/clients/{client_id:str}/episode", guards=[EPISODE_READ], sync_to_thread=True, include_in_schema=False)
def episode_page(request: Request, db_session: DbSession, client_id: FromPath[str],
                 saved: FromQuery[str | None] = None) -> Template:
    return _render(request, db_session, client_id, saved=saved)


@post("/clients/{client_id:str}/episode", guards=[EPISODE_WRITE], sync_to_thread=True, include_in_schema=False)
def episode_submit(request: Request, db_session: DbSession, client_id: FromPath[str],
                   data: FormData) -> Template | Redirect:
    viewer = principal_of(request)
    errors = Errors()
    typed: dict[str, Any] = {f: date_parts(data, f) for f, _ in DATES}
    typed["discharge_reason"] = text(data, "discharge_reason").strip()[:32]
    typed["consent_to_report"] = text(data, "consent_to_report").strip()[:4]
    changes: dict[str, Any] = {f: parse_date(typed[f], words, errors, f) for f, words in DATES}
    changes["discharge_reason"] = typed["discharge_reason"] or None
    changes["consent_to_report"] = {"yes": True, "no": False}.get(typed["consent_to_report"])
    if not errors:
        try:
            transact(db_session, lambda: episodes.update_episode(db_session, viewer, client_id, changes))
        except InvalidInput as exc:
            for e in exc.errors:
                errors.add(e["field"], e["message"], f"{e['field']}-day" if e["field"] in dict(DATES) else None)
        else:
            return see_other(f"/clients/{client_id}/episode?saved=episode")
    return _render(request, db_session, client_id, status_code=422, errors=errors, typed=typed)


@post("/clients/{client_id:str}/interventions", guards=[INTERVENTIONS_WRITE], sync_to_thread=True,
      include_in_schema=False)
def intervention_submit(request: Request, db_session: DbSession, client_id: FromPath[str],
                        data: FormData) -> Template | Redirect:
    viewer = principal_of(request)
    errors = Errors()
    new = {"intervention_type": text(data, "intervention_type").strip()[:24],
           "setting": text(data, "setting").strip()[:24],
           "start_date": date_parts(data, "start_date"), "end_date": date_parts(data, "end_date")}
    body = {"intervention_type": new["intervention_type"], "setting": new["setting"],
            "start_date": parse_date(new["start_date"], "The start date", errors, "start_date"),
            "end_date": parse_date(new["end_date"], "The end date", errors, "end_date")}
    if not errors:
        if body["start_date"] is None:
            errors.add("start_date", "Give the date the intervention started.", "start_date-day")
        else:
            try:
                transact(db_session, lambda: episodes.add_intervention(db_session, viewer, client_id, body))
            except InvalidInput as exc:
                for e in exc.errors:
                    errors.add(e["field"], e["message"],
                               f"{e['field']}-day" if e["field"] in ("start_date", "end_date") else None)
            else:
                return see_other(f"/clients/{client_id}/episode?saved=intervention#interventions")
    return _render(request, db_session, client_id, status_code=422, errors=errors, new=new)


@post("/clients/{client_id:str}/interventions/{intervention_id:str}/end", guards=[INTERVENTIONS_WRITE],
      sync_to_thread=True, include_in_schema=False)
def intervention_end(request: Request, db_session: DbSession, client_id: FromPath[str], intervention_id: FromPath[str],
                     data: FormData) -> Template | Redirect:
    viewer = principal_of(request)
    errors = Errors()
    field = f"end-{intervention_id[:36]}"
    end = parse_date(date_parts(data, field), "The end date", errors, field)
    if not errors:
        try:
            transact(db_session, lambda: episodes.end_intervention(db_session, viewer, intervention_id, end))
        except InvalidInput as exc:
            errors.add(field, exc.errors[0]["message"], f"{field}-day")
        else:
            return see_other(f"/clients/{client_id}/episode?saved=ended#interventions")
    return _render(request, db_session, client_id, status_code=422, errors=errors,
                   end_errors={intervention_id: errors.get(field) or ""})


ROUTES: list = [episode_page, episode_submit, intervention_submit, intervention_end]
