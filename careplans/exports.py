"""Exports of one plan version: the FHIR R4 bundle (and, with the PDF copies, the pack).

The reader's scope is checked in the query (404 outside it), what the export holds is
the policy's export visibility (`policy.export_visibility`), and the content is what
`present()` returns for it: this module only gathers facts and hands them to the pure
mapping in `careplans.fhir`. Every export is audited, so the client sees it in "who
has looked at my plan".
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from careplans import assessments, audit, fhir, policy, queries, shares, versions
from careplans.errors import InvalidInput, NotFound
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
    view = present(queries.snapshot(plan, pv, queries.decisions_for_plan(db, plan.id, up_to_version=pv.number),
                                    versions.document_of(db, pv)), vis)
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


# --- "Take my plan with me": one ZIP with the PDF copy, the FHIR record and a README --------------

@dataclass(frozen=True)
class PackFor:
    """Whose copy a pack holds: the client's own, or the copy of a live share the client made."""

    audience: str
    audience_words: str
    sections: frozenset[str] | None
    large_print: bool
    share_id: str | None = None


def pack_for(db: Session, principal: Principal, plan_id: str | uuid.UUID, share_id: str | None = None) -> PackFor:
    """The client takes their own copy. Anyone else makes a pack only for a receiving service
    the client chose: a live share of this plan (found inside the principal's share scope)."""
    policy.require(principal, "plans.export")
    pid = queries.parse_id(plan_id)
    queries.load_current(db, principal, pid)  # another caseload's plan is not found, whatever is asked
    if share_id is None:
        if policy.pack_needs_share(principal):
            raise InvalidInput("share", "A pack for another service needs a link the client has made for it. "
                                        "Choose one of the client's links.")
        return PackFor(audience="client", audience_words=shares.AUDIENCE_WORDS["client"], sections=None,
                       large_print=False)
    sid = queries.parse_id(share_id, "share")
    share = db.execute(select(Share).where(Share.id == sid, Share.plan_id == pid,
                                           policy.share_scope(principal))).scalar_one_or_none()
    if share is None or shares.share_state(share) != "live":
        raise NotFound("There is no such live link for this plan.")
    return PackFor(audience=share.audience, audience_words=shares.AUDIENCE_WORDS[share.audience],
                   sections=frozenset(share.sections) if share.audience == "custom" else None,
                   large_print=bool(share.large_print), share_id=str(share.id))


def pack_readme(person: str, audience_words: str, version: int, fingerprint: str, made_on: str) -> str:
    return f"""{person}'s care plan, to take with you
{'=' * (len(person) + 35)}

This folder holds {person}'s care plan, version {version}, as it was on {made_on},
in the copy for: {audience_words}.

care-plan.pdf
    The plan to read and print. Its footer shows the version and a fingerprint
    ({fingerprint[:12]}...): the same fingerprint means the same plan.

care-plan.fhir.json
    The same plan as a health record file in the FHIR R4 standard, which other
    health and care services' systems can read: goals in the person's own words,
    the treatment options talked about and what was decided, prescribing, who
    agreed the plan and when. Give it to the service you are moving to.

Only what this copy may hold is in it. Answers to questions are included only
where {person} chose "can go in copies I share". The service that made this pack
keeps a record that it was downloaded, which {person} can see.
"""


def pack_zip(pdf: bytes, bundle: dict[str, Any], readme: str) -> bytes:
    """The ZIP itself: fixed file times, so the same version packs to the same bytes."""
    buffer = io.BytesIO()
    stamp = (1980, 1, 1, 0, 0, 0)
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in (("README.txt", readme.encode("utf-8")), ("care-plan.pdf", pdf),
                           ("care-plan.fhir.json", json.dumps(bundle, ensure_ascii=False, indent=2).encode("utf-8"))):
            z.writestr(zipfile.ZipInfo(name, date_time=stamp), data)
    return buffer.getvalue()
