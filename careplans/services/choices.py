"""Treatment options: the catalogue as people read it, and the choice ledger.

Each ledger entry is one option discussed once. It is appended to the plan content
(so it is in the version history, the diff and the agreement fingerprint) and a
projection row without free text is written in the same transaction, for queries
such as the prescribing queue and the choice report.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Iterable

from sqlalchemy.orm import Session

from careplans import audit
from careplans import plan_document as doc
from careplans.catalogue import Option, load_frequencies, load_options, load_supervision_modes, option_by_code
from careplans.commands import ChangeResult, change_plan
from careplans.errors import InvalidInput, date_or_refuse
from careplans.models import ChoiceEntry, utcnow
from careplans.policy import Principal
from careplans.present import ChoiceList, ChoiceResult, choice_list, choice_result
from careplans.queries import actor, read_plan, reader_of


def _new_id() -> str:
    return str(uuid.uuid4())


# --- the catalogue -----------------------------------------------------------------------

def option_view(option: Option) -> dict[str, Any]:
    view: dict[str, Any] = {
        "code": option.code,
        "name": option.name,
        "kind": option.kind,
        "plain_description": option.plain_description,
        "available_locally": option.available_locally,
        "qs23_category": option.qs23_category,
        "source": option.source,
    }
    if option.kind == "medication":
        view["products"] = [
            {
                "code": p.code,
                "name": p.name,
                "form": p.form,
                "route": p.route,
                "strengths": list(p.strengths),
                "dose_must_be_a_strength": p.dose_must_be_a_strength,
                "strengths_mg": list(p.strengths_mg) if p.dose_must_be_a_strength else [],
                "frequencies": list(p.frequencies),
                "controlled_drug_schedule": p.controlled_drug_schedule,
                "professional_administration_only": p.professional_administration_only,
                "home_office_licence_required": p.home_office_licence_required,
                "notes": p.notes,
                "source": p.source,
            }
            for p in option.products
        ]
    return view


def list_options(unavailable: Iterable[str] = frozenset()) -> list[dict[str, Any]]:
    return [option_view(o) for o in load_options(frozenset(unavailable))]


def vocabularies() -> dict[str, Any]:
    """The words forms offer: frequencies, supervision modes, outcomes, formats."""
    return {
        "frequencies": {code: f["name"] for code, f in load_frequencies().items()},
        "supervision": {code: s["name"] for code, s in load_supervision_modes().items()},
        "outcomes": list(doc.CHOICE_OUTCOMES),
        "preferences": list(doc.PREFERENCES),
        "information_formats": list(doc.INFORMATION_FORMATS),
    }


# --- the ledger ---------------------------------------------------------------------------

def _discussed_on(value: Any) -> dt.date:
    day = date_or_refuse(value, "discussed_on", "Give the date of the conversation, for example 2026-03-01.")
    # A day's grace for time zones; a conversation cannot be recorded before it happens.
    if day > utcnow().date() + dt.timedelta(days=1):
        raise InvalidInput("discussed_on", "The date of the conversation cannot be in the future.")
    return day


def add_choice(db: Session, principal: Principal, plan_id: str, based_on: int, fields: dict[str, Any],
               unavailable: Iterable[str] = frozenset()) -> tuple[ChangeResult, ChoiceResult]:
    """Append one ledger entry as a new plan version, and its projection row."""
    code = str(fields.get("option") or "").strip()
    option = option_by_code(code, frozenset(unavailable))
    if option is None:
        raise InvalidInput("option", f"“{code}” is not one of the treatment options. See GET /api/options.")
    day = _discussed_on(fields.get("discussed_on"))
    entry_id = _new_id()
    at = utcnow()
    option_info = {"code": option.code, "name": option.name, "kind": option.kind,
                   "available_locally": option.available_locally}
    values = {**fields, "discussed_on": day.isoformat()}
    result = change_plan(
        db, principal, plan_id, based_on,
        lambda c: doc.add_choice(c, entry_id, option_info, values, principal.author,
                                 at.isoformat(timespec="seconds")),
        "choice.create", {"entry_id": entry_id, "option": option.code, "outcome": fields.get("outcome")},
    )
    entry = doc.find_choice(result.content, entry_id)
    db.add(ChoiceEntry(
        id=uuid.UUID(entry_id), plan_id=uuid.UUID(result.plan.id), option=option.code, option_kind=option.kind,
        information_given=entry["information_given"], information_format=entry["information_format"],
        discussed_on=day, preference=entry["preference"],
        preferred=doc.choice_is_preferred(entry["outcome"], entry["preference"]),
        outcome=entry["outcome"], has_reason=entry["reason"] is not None,
        has_client_view=entry["client_view"] is not None, available_locally=option.available_locally,
        unmet_need=entry["unmet_need"], recorded_by=principal.id, recorded_role=principal.role, recorded_at=at,
        plan_version=result.version,
    ))
    db.flush()
    _, reader = reader_of(principal)
    return result, choice_result(result.plan, entry_id, reader)


def set_substances(db: Session, principal: Principal, plan_id: str, based_on: int,
                   substances: Iterable[str]) -> ChangeResult:
    """What the plan is about (one or several substances, or none yet), as a new plan version.
    The person chooses; the options page then shows the options for those first."""
    chosen = [str(s) for s in substances]
    return change_plan(db, principal, plan_id, based_on, lambda c: doc.set_substances(c, chosen),
                       "plan.substances", {"substances": sorted(set(chosen))})


def list_choices(db: Session, principal: Principal, plan_id: str) -> ChoiceList:
    """The ledger of the current version, oldest first, each with its plain summary."""
    view = read_plan(db, principal, plan_id, audited=False)
    audit.record(db, actor(principal), "choices.read", plan_id=view.id, client_id=view.client_id,
                 detail={"version": view.version})
    _, reader = reader_of(principal)
    return choice_list(view, reader)
