"""The treatment episode (JSON API) and the national return's CSV for auditors.

Thin handlers: careplans.services.episodes records the dates and codes (who may is
careplans.policy; which clients, its client scope), careplans.ndtms builds the extract.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar import Request, Response, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter
from msgspec import UNSET, UnsetType

from api.deps import DbSession, transact
from api.guards import AUDIT_NDTMS, EPISODE_READ, EPISODE_WRITE, INTERVENTIONS_WRITE, principal_of
from api.schemas import Input, to_plain
from careplans import ndtms, reports
from careplans.services import episodes
from careplans.vocab import DISCHARGE_REASONS, INTERVENTION_SETTINGS, INTERVENTION_TYPES


class EpisodePatch(Input):
    """Only the fields sent change; null clears one."""

    referral_date: dt.date | None | UnsetType = UNSET
    triage_date: dt.date | None | UnsetType = UNSET
    discharged_on: dt.date | None | UnsetType = UNSET
    discharge_reason: DISCHARGE_REASONS.literal() | None | UnsetType = UNSET  # type: ignore[valid-type]
    consent_to_report: bool | None | UnsetType = UNSET


class InterventionCreate(Input):
    intervention_type: INTERVENTION_TYPES.literal()  # type: ignore[valid-type]
    setting: INTERVENTION_SETTINGS.literal()  # type: ignore[valid-type]
    start_date: dt.date
    end_date: dt.date | None = None


class InterventionPatch(Input):
    end_date: dt.date | None


@get("/api/clients/{client_id:str}/episode", guards=[EPISODE_READ], sync_to_thread=True, tags=["clients"],
     summary="The treatment episode: referral, triage, discharge, consent to report and interventions")
def read_episode(request: Request, db_session: DbSession, client_id: FromPath[str]) -> dict[str, Any]:
    principal = principal_of(request)
    return transact(db_session, lambda: episodes.episode(db_session, principal, client_id))


@patch("/api/clients/{client_id:str}/episode", guards=[EPISODE_WRITE], sync_to_thread=True, tags=["clients"],
       summary="Record referral, triage and discharge dates, the reason for leaving and consent to report")
def change_episode(request: Request, db_session: DbSession, client_id: FromPath[str],
                   data: JSONBody[EpisodePatch]) -> dict[str, Any]:
    principal = principal_of(request)
    body = to_plain(data)
    return transact(db_session, lambda: episodes.update_episode(db_session, principal, client_id, body))


@post("/api/clients/{client_id:str}/interventions", guards=[INTERVENTIONS_WRITE], sync_to_thread=True,
      tags=["clients"], summary="Record an intervention: type, setting, start and end dates")
def add_intervention(request: Request, db_session: DbSession, client_id: FromPath[str],
                     data: JSONBody[InterventionCreate]) -> Response[dict[str, Any]]:
    principal = principal_of(request)
    view = transact(db_session, lambda: episodes.add_intervention(db_session, principal, client_id, to_plain(data)))
    return Response(view, status_code=201)


@patch("/api/interventions/{intervention_id:str}", guards=[INTERVENTIONS_WRITE], sync_to_thread=True,
       tags=["clients"], summary="Set the date an intervention ended")
def change_intervention(request: Request, db_session: DbSession, intervention_id: FromPath[str],
                        data: JSONBody[InterventionPatch]) -> dict[str, Any]:
    principal = principal_of(request)
    end = data.end_date.isoformat() if data.end_date else None
    return transact(db_session, lambda: episodes.end_intervention(db_session, principal, intervention_id, end))


@get("/api/audit/ndtms", guards=[AUDIT_NDTMS], sync_to_thread=True, tags=["audit"],
     summary="The national return's dates for a period as CSV (pseudonymised; ?from=&to=)")
def ndtms_csv(
    request: Request,
    db_session: DbSession,
    date_from: Annotated[str | None, QueryParameter(name="from", max_length=10)] = None,
    date_to: Annotated[str | None, QueryParameter(name="to", max_length=10)] = None,
) -> Response[str]:
    principal = principal_of(request)
    secret = request.app.state.settings.secret_key

    def work() -> str:
        period = reports.make_filter(date_from, date_to)  # dates checked as the other reports check them
        return ndtms.extract_csv(db_session, principal, secret, period.date_from, period.date_to)

    body = transact(db_session, work)
    name = f"ndtms-{date_from}-to-{date_to}.csv"
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


ROUTES: list = [read_episode, change_episode, add_intervention, change_intervention, ndtms_csv]
