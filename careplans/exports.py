"""Exports of one plan version: the FHIR R4 bundle (and, with the PDF copies, the pack).

The reader's scope is checked in the query (404 outside it), what the export holds is
the policy's export visibility (`policy.export_visibility`), and the content is what
`present()` returns for it: this module only gathers facts and hands them to the pure
mapping in `careplans.fhir`. Every export is audited, so the client sees it in "who
has looked at my plan".
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from careplans import assessments, audit, fhir, policy, queries, shares
from careplans.errors import NotFound
from careplans.models import Agreement, CaseloadAssignment, Client, PlanVersion, Share, User, utcnow
from careplans.policy import Principal, Visibility
from careplans.present import iso, present

WORKER_ROLE = {"keyworker": "keyworker", "prescriber": "clinician"}


def _person(client: Client, vis: Visibility) -> fhir.Person:
    return fhir.Person(
        preferred_name=client.preferred_name if vis.names else None,
        pronouns=client.pronouns if vis.names else None,
        nhs_number=client.nhs_number if vis.identity else None,
        date_of_birth=client.date_of_birth.isoformat() if vis.identity and client.date_of_birth else None,
    )


def _team(db: Session, client_id: uuid.UUID, vis: Visibility) -> list[fhir.Worker]:
    rows = db.execute(
        select(CaseloadAssignment.relation, User.display_name)
        .join(User, User.id == CaseloadAssignment.staff_user_id)
        .where(CaseloadAssignment.client_id == client_id, CaseloadAssignment.ended_at.is_(None))
        .order_by(CaseloadAssignment.relation, CaseloadAssignment.created_at)
    ).all()
    team: dict[str, fhir.Worker] = {}
    for relation, name in rows:
        role = WORKER_ROLE.get(relation)
        if role and role not in team:
            team[role] = fhir.Worker(role=role, name=name if vis.names else None)
    return list(team.values())


def _signatures(db: Session, plan_id: uuid.UUID, up_to: int, vis: Visibility) -> list[fhir.Signature]:
    if not vis.shows("agreement"):
        return []
    rows = db.execute(
        select(Agreement, User.display_name).join(User, User.id == Agreement.signer_id)
        .where(and_(Agreement.plan_id == plan_id, Agreement.version <= up_to)).order_by(Agreement.signed_at)
    ).all()
    return [fhir.Signature(role=a.signer_role, by=name if vis.names else None, at=iso(a.signed_at),
                           version=a.version, fingerprint=a.fingerprint) for a, name in rows]


TOP_RATINGS = {"psychological_health": "TOP psychological health (0 to 20)",
               "physical_health": "TOP physical health (0 to 20)",
               "quality_of_life": "TOP quality of life (0 to 20)"}


def _measures(view: Any) -> list[tuple[str, str, int]]:
    """Totals and ratings worth comparing over time, from the answers that may leave."""
    if view.questionnaire == "barc10" and view.score is not None and view.score.value is not None:
        return [("barc10_total", "BARC-10 total (10 to 60)", int(view.score.value))]
    if view.questionnaire == "top":
        return [(a.question, TOP_RATINGS[a.question], int(a.value)) for a in view.answers
                if a.question in TOP_RATINGS and isinstance(a.value, int) and not isinstance(a.value, bool)]
    return []


def _assessments(db: Session, plan_id: uuid.UUID, audience: str, up_to: int) -> list[fhir.Assessment]:
    """Only answers the person marked `shareable` ever leave the service, in any export."""
    out = []
    for view in assessments.shareable_answers(db, plan_id, audience, up_to_version=up_to):
        answers = [fhir.Answer(question=a.question, text=a.question_text, words=a.words,
                               value=a.value if isinstance(a.value, (bool, int)) else None)
                   for a in view.answers if a.status == "answered"]
        out.append(fhir.Assessment(id=view.id, questionnaire=view.questionnaire, version=view.questionnaire_version,
                                   title=view.title, taken_on=view.taken_on, stage=view.stage, answers=answers,
                                   measures=_measures(view)))
    return out


def _live_shares(db: Session, plan_id: uuid.UUID, vis: Visibility) -> list[fhir.LiveShare]:
    """The client's live links, as consents: in the client's and their team's own export
    only, never in a copy for an audience (one recipient need not learn of another)."""
    if vis.audience not in ("client", "keyworker", "clinician"):
        return []
    now = utcnow()
    rows = db.execute(select(Share).where(Share.plan_id == plan_id, Share.revoked_at.is_(None))
                      .order_by(Share.created_at)).scalars().all()
    return [fhir.LiveShare(id=str(r.id), audience=r.audience, audience_words=shares.AUDIENCE_WORDS[r.audience],
                           sections=list(r.sections or []), created_at=iso(r.created_at), expires_at=iso(r.expires_at))
            for r in rows if shares.share_state(r, now) == "live"]


def export_facts(db: Session, principal: Principal, plan_id: str | uuid.UUID, *, version: int | None = None,
                 audience: str | None = None, sections: frozenset[str] | None = None) -> fhir.ExportFacts:
    policy.require(principal, "plans.export")
    vis = policy.export_visibility(principal, audience, sections)
    plan, current = queries.load_current(db, principal, queries.parse_id(plan_id))
    pv = current
    if version is not None and version != plan.version:
        pv = db.execute(
            select(PlanVersion).where(PlanVersion.plan_id == plan.id, PlanVersion.number == version)
        ).scalar_one_or_none()
        if pv is None:
            raise NotFound("There is no such version of this plan.")
    view = present(queries.snapshot(plan, pv, queries.decisions_for_plan(db, plan.id, up_to_version=pv.number)), vis)
    client = db.execute(select(Client).where(Client.id == plan.client_id)).scalar_one()
    return fhir.ExportFacts(
        plan=view, person=_person(client, vis), plan_start=plan.start_date.isoformat() if plan.start_date else None,
        team=_team(db, plan.client_id, vis), signatures=_signatures(db, plan.id, pv.number, vis),
        audience=vis.audience, shares=_live_shares(db, plan.id, vis),
        assessments=_assessments(db, plan.id, vis.audience, pv.number),
    )


def fhir_bundle(db: Session, principal: Principal, plan_id: str | uuid.UUID, *, version: int | None = None,
                audience: str | None = None, sections: frozenset[str] | None = None,
                audited: bool = True) -> dict[str, Any]:
    """The FHIR R4 bundle of a plan version as this principal (or the audience they name) may see it."""
    facts = export_facts(db, principal, plan_id, version=version, audience=audience, sections=sections)
    if audited:
        audit.record(db, queries.actor(principal), "plan.export.fhir", plan_id=facts.plan.id,
                     client_id=facts.plan.client_id,
                     detail={"version": facts.plan.version, "audience": facts.audience})
    return fhir.bundle(facts)
