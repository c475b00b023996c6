"""A plan version as a FHIR R4 `Bundle` (type `collection`): the client-held record.

Pure functions. The input is what the presentation step already decided this reader
(or this audience) may see — a `PlanView` from `present()` and the person's facts
filtered by the same `Visibility` — so this module never decides visibility itself;
it only maps fields. The mapping is written down in docs/fhir.md.

Stable output: the same version exported twice gives identical resources. Resource
ids are UUIDv5 of the plan, the version and the item, and the bundle's timestamp is
the version's own time, not the time of the export.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from careplans import vocab
from careplans.document import ChoiceEntry, Goal, Voiced
from careplans.present import DecisionView, PlanView, option_name

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
PLAN_VERSION_SYSTEM = "urn:careplans:plan-version"
FINGERPRINT_SYSTEM = "urn:careplans:fingerprint-sha256"
PRONOUNS_EXTENSION = "http://hl7.org/fhir/StructureDefinition/individual-pronouns"
UCUM = "http://unitsofmeasure.org"
SIGNATURE_TYPE = {"system": "urn:iso-astm:E1762-95:2013", "code": "1.2.840.10065.1.12.1.7",
                  "display": "Consent Signature"}
_NAMESPACE = uuid.UUID("6f1f7a0e-3c52-5d7e-9a47-0c1d2b4e8a11")

# Our codes → FHIR codes. docs/fhir.md carries the same tables for people.
PLAN_STATUS = {"active": "active", "draft": "draft", "closed": "completed", "ended": "completed"}
GOAL_LIFECYCLE = {"proposed": "proposed", "active": "active", "achieved": "completed", "paused": "on-hold",
                  "let_go": "cancelled"}
OPTION_STATUS = {"chosen": "active", "declined": "cancelled", "not_suitable": "cancelled",
                 "not_available": "cancelled", "undecided": "draft", None: "draft"}
ACTIVITY_STATUS = {"chosen": "in-progress", "declined": "cancelled", "not_suitable": "cancelled",
                   "not_available": "cancelled", "undecided": "not-started", None: "not-started"}
DECISION_STATUS = {"approved": "active", "approved_with_changes": "active", "declined": "cancelled"}


@dataclass(frozen=True)
class Person:
    """The client as this reader may see them (fields the visibility hides are None)."""

    preferred_name: str | None
    pronouns: str | None
    nhs_number: str | None
    date_of_birth: str | None
    reference: str | None = None  # the pseudonymous client reference, for readers without names


@dataclass(frozen=True)
class Worker:
    role: str  # keyworker | clinician
    name: str | None


@dataclass(frozen=True)
class Signature:
    role: str
    by: str | None
    at: str
    version: int
    fingerprint: str


@dataclass(frozen=True)
class LiveShare:
    """A link the client made that is still live: exported as a FHIR `Consent`."""

    id: str
    audience: str
    audience_words: str
    sections: list[str]
    created_at: str
    expires_at: str


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    words: str
    value: Any = None


@dataclass(frozen=True)
class Assessment:
    """A finished assessment with only the answers that may leave the service (shareable)."""

    id: str
    questionnaire: str
    version: int
    title: str
    taken_on: str
    stage: str | None
    answers: list[Answer]
    # Totals and ratings to compare over time: (code, words, value), e.g. the BARC-10 total.
    measures: list[tuple[str, str, int]] = field(default_factory=list)


@dataclass(frozen=True)
class ExportFacts:
    """Everything a bundle is made of, already filtered for the reader."""

    plan: PlanView
    person: Person
    plan_start: str | None
    team: list[Worker] = field(default_factory=list)
    signatures: list[Signature] = field(default_factory=list)
    audience: str = "client"
    shares: list[LiveShare] = field(default_factory=list)
    assessments: list[Assessment] = field(default_factory=list)


def _id(plan: PlanView, *parts: Any) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join([plan.id, str(plan.version), *map(str, parts)])))


def _ref(resource: dict[str, Any]) -> dict[str, str]:
    return {"reference": f"urn:uuid:{resource['id']}"}


def _words(voiced: Voiced | None) -> str | None:
    return voiced.text if voiced is not None and voiced.text else None


def _date(value: str | None) -> str | None:
    """A FHIR date (YYYY-MM-DD) from our stored dates and timestamps."""
    return value[:10] if value else None


def patient(facts: ExportFacts) -> dict[str, Any]:
    p = facts.person
    res: dict[str, Any] = {"resourceType": "Patient", "id": _id(facts.plan, "patient")}
    identifiers = []
    if p.nhs_number:
        identifiers.append({"system": NHS_NUMBER_SYSTEM, "value": p.nhs_number})
    if p.reference:
        identifiers.append({"system": "urn:careplans:client-reference", "value": p.reference})
    if identifiers:
        res["identifier"] = identifiers
    if p.preferred_name:
        res["name"] = [{"use": "usual", "text": p.preferred_name}]
    if p.pronouns:
        res["extension"] = [{"url": PRONOUNS_EXTENSION,
                             "extension": [{"url": "value", "valueCodeableConcept": {"text": p.pronouns}}]}]
    if p.date_of_birth:
        res["birthDate"] = p.date_of_birth
    return res


def practitioner(facts: ExportFacts, worker: Worker) -> dict[str, Any]:
    res: dict[str, Any] = {"resourceType": "Practitioner", "id": _id(facts.plan, "practitioner", worker.role)}
    if worker.name:
        res["name"] = [{"text": worker.name}]
    return res


def _achievement(goal: Goal) -> str | None:
    """From our status and the latest check-ins (ratings 0–10)."""
    if goal.status == "achieved":
        return "achieved"
    if goal.status == "let_go":
        return "not-attainable"
    ratings = [c.rating for c in sorted(goal.check_ins, key=lambda c: c.at)]
    if not ratings:
        return None
    if len(ratings) == 1:
        return "in-progress"
    last, before = ratings[-1], ratings[-2]
    return "improving" if last > before else "worsening" if last < before else "no-change"


ACHIEVEMENT_DISPLAY = {"achieved": "Achieved", "not-attainable": "Not Attainable", "in-progress": "In Progress",
                       "improving": "Improving", "worsening": "Worsening", "no-change": "No Change"}


def goal_resource(facts: ExportFacts, goal: Goal, subject: dict[str, Any]) -> dict[str, Any]:
    area = vocab.GOAL_AREAS.words(goal.area)
    text = _words(goal.title) or f"A goal about {area.lower()}"
    res: dict[str, Any] = {
        "resourceType": "Goal", "id": _id(facts.plan, "goal", goal.id),
        "identifier": [{"system": "urn:careplans:goal", "value": goal.id}],
        "lifecycleStatus": GOAL_LIFECYCLE.get(goal.status, "proposed"),
        "category": [{"coding": [{"system": "urn:careplans:goal-area", "code": goal.area, "display": area}],
                      "text": area}],
        "description": {"text": text},
        "subject": _ref(subject),
    }
    achievement = _achievement(goal)
    if achievement:
        res["achievementStatus"] = {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/goal-achievement", "code": achievement,
            "display": ACHIEVEMENT_DISPLAY[achievement]}]}
    if goal.created_on:
        res["startDate"] = _date(goal.created_on)
    if goal.target_date:
        res["target"] = [{"dueDate": _date(goal.target_date)}]
    notes = [n for n in (_words(goal.why),) if n]
    if notes:
        res["note"] = [{"text": f"Why it matters: {notes[0]}"}]
    return res


def option_request(facts: ExportFacts, entry: ChoiceEntry, subject: dict[str, Any]) -> dict[str, Any]:
    """A medication option discussed: intent `option`, its outcome as status and reason."""
    outcome = entry.outcome
    res: dict[str, Any] = {
        "resourceType": "MedicationRequest", "id": _id(facts.plan, "option", entry.id),
        "identifier": [{"system": "urn:careplans:choice", "value": entry.id}],
        "status": OPTION_STATUS.get(outcome, "unknown"),
        "intent": "option",
        "medicationCodeableConcept": {"coding": [{"system": "urn:careplans:option", "code": entry.option,
                                                  "display": entry.option_name}], "text": entry.option_name},
        "subject": _ref(subject),
        "authoredOn": _date(entry.discussed_on),
    }
    if outcome:
        reason = _words(entry.reason)
        status_text = vocab.CHOICE_OUTCOMES.words(outcome) + (f": {reason}" if reason else "")
        res["statusReason"] = {"coding": [{"system": "urn:careplans:choice-outcome", "code": outcome,
                                           "display": vocab.CHOICE_OUTCOMES.words(outcome)}], "text": status_text}
    notes = []
    if entry.preference:
        notes.append(f"Preference: {vocab.PREFERENCES.words(entry.preference)}")
    if words := _words(entry.preference_words):
        notes.append(f"In the client's words: {words}")
    if words := _words(entry.client_view):
        notes.append(f"What the client thinks: {words}")
    if not entry.available_locally:
        notes.append("Not available at this service.")
    if notes:
        res["note"] = [{"text": n} for n in notes]
    return res


def _dose_text(d: DecisionView) -> str:
    parts = []
    if d.dose_mg is not None:
        dose = int(d.dose_mg) if float(d.dose_mg).is_integer() else d.dose_mg
        parts.append(f"{dose} mg")
    if d.frequency_name:
        parts.append(d.frequency_name.lower())
    text = " ".join(parts) or (d.product_name or d.option_name)
    if d.supervision_name:
        text += f", {d.supervision_name.lower()}"
    if d.instalment_days:
        text += f", instalments every {d.instalment_days} days"
    return text


def decision_request(facts: ExportFacts, d: DecisionView, subject: dict[str, Any],
                     clinician: dict[str, Any] | None) -> dict[str, Any]:
    """A prescribing decision: intent `plan`, the dose and supervision in `dosageInstruction`."""
    name = d.product_name or d.option_name
    dosage: dict[str, Any] = {"text": _dose_text(d)}
    if d.dose_mg is not None:
        dosage["doseAndRate"] = [{"doseQuantity": {"value": d.dose_mg, "unit": "mg", "system": UCUM, "code": "mg"}}]
    res: dict[str, Any] = {
        "resourceType": "MedicationRequest", "id": _id(facts.plan, "decision", d.id),
        "identifier": [{"system": "urn:careplans:prescribing-decision", "value": d.id}],
        "status": DECISION_STATUS.get(d.decision, "unknown"),
        "intent": "plan",
        "medicationCodeableConcept": {"coding": [{"system": "urn:careplans:option", "code": d.option,
                                                  "display": d.option_name}], "text": name},
        "subject": _ref(subject),
        "authoredOn": d.at,
        "dosageInstruction": [dosage],
        "statusReason": {"text": vocab.DECISIONS.words(d.decision)},
    }
    if clinician is not None:
        res["requester"] = _ref(clinician)
    if d.start_date or d.review_date:
        period = {k: _date(v) for k, v in (("start", d.start_date), ("end", d.review_date)) if v}
        res["dispenseRequest"] = {"validityPeriod": period}
    notes = [f"Reasons: {w}" for w in [_words(d.rationale)] if w]
    notes += [f"For the client: {w}" for w in [_words(d.client_explanation)] if w]
    if notes:
        res["note"] = [{"text": n} for n in notes]
    return res


def provenance(facts: ExportFacts, sig: Signature, plan_res: dict[str, Any], who: dict[str, Any]) -> dict[str, Any]:
    target = {**_ref(plan_res), "identifier": {"system": FINGERPRINT_SYSTEM, "value": sig.fingerprint},
              "display": f"Plan version {sig.version}"}
    return {
        "resourceType": "Provenance", "id": _id(facts.plan, "signature", sig.role, sig.version, sig.at),
        "target": [target],
        "recorded": sig.at,
        "activity": {"text": "Agreed this version of the plan"},
        "agent": [{"type": {"text": vocab.ROLES.words(sig.role)}, "who": _ref(who)}],
        "signature": [{"type": [SIGNATURE_TYPE], "when": sig.at, "who": _ref(who)}],
    }


def consent(facts: ExportFacts, share: LiveShare, subject: dict[str, Any]) -> dict[str, Any]:
    """A live share as the client's consent to pass this copy to an audience."""
    return {
        "resourceType": "Consent", "id": _id(facts.plan, "share", share.id),
        "identifier": [{"system": "urn:careplans:share", "value": share.id}],
        "status": "active",
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy",
                              "display": "Privacy Consent"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent"}]}],
        "patient": _ref(subject),
        "dateTime": share.created_at,
        "policyRule": {"text": "The client chose to share a copy of their care plan"},
        "provision": {
            "type": "permit",
            "period": {"start": share.created_at, "end": share.expires_at},
            "actor": [{"role": {"text": "Recipient"}, "reference": {"display": share.audience_words}}],
            "purpose": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "TREAT",
                         "display": "treatment"}],
            "data": [{"meaning": "related", "reference": {"display": f"Plan sections: {', '.join(share.sections)}"}}]
            if share.sections else [],
        },
    }


def questionnaire_response(facts: ExportFacts, a: Assessment, subject: dict[str, Any]) -> dict[str, Any]:
    items = []
    for ans in a.answers:
        item: dict[str, Any] = {"linkId": ans.question, "text": ans.text}
        value = ans.value
        if isinstance(value, bool):
            item["answer"] = [{"valueBoolean": value}]
        elif isinstance(value, int):
            item["answer"] = [{"valueInteger": value}]
        elif ans.words:
            item["answer"] = [{"valueString": ans.words}]
        items.append(item)
    res: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse", "id": _id(facts.plan, "assessment", a.id),
        "identifier": {"system": "urn:careplans:assessment", "value": a.id},
        "questionnaire": f"urn:careplans:questionnaire:{a.questionnaire}|{a.version}",
        "status": "completed",
        "subject": _ref(subject),
        "authored": a.taken_on,
    }
    if items:
        res["item"] = items
    return res


def observation(facts: ExportFacts, a: Assessment, measure: tuple[str, str, int], subject: dict[str, Any],
                response: dict[str, Any]) -> dict[str, Any]:
    code, words, value = measure
    return {
        "resourceType": "Observation", "id": _id(facts.plan, "measure", a.id, code),
        "status": "final",
        "code": {"coding": [{"system": "urn:careplans:measure", "code": code, "display": words}],
                 "text": words + (f" ({a.stage})" if a.stage else "")},
        "subject": _ref(subject),
        "effectiveDateTime": a.taken_on,
        "valueInteger": value,
        "derivedFrom": [_ref(response)],
    }


def bundle(facts: ExportFacts) -> dict[str, Any]:
    """The FHIR R4 collection bundle of one plan version, as JSON-ready dicts."""
    plan = facts.plan
    subject = patient(facts)
    workers = {w.role: practitioner(facts, w) for w in facts.team}
    resources: list[dict[str, Any]] = [subject, *workers.values()]

    goals = [goal_resource(facts, g, subject) for g in plan.goals]
    options = [option_request(facts, e, subject) for e in plan.choices if e.kind == "medication"]
    support = [e for e in plan.choices if e.kind != "medication"]
    decisions = [decision_request(facts, d, subject, workers.get("clinician")) for d in plan.prescribing]

    care_plan: dict[str, Any] = {
        "resourceType": "CarePlan", "id": _id(plan, "careplan"),
        "identifier": [{"system": PLAN_VERSION_SYSTEM, "value": f"{plan.id}/v{plan.version}"},
                       {"system": FINGERPRINT_SYSTEM, "value": plan.fingerprint}],
        "status": PLAN_STATUS.get(plan.status, "unknown"),
        "intent": "plan",
        "title": "My care plan",
        "subject": _ref(subject),
        "created": plan.updated_at,
        "author": _ref(subject),
        "contributor": [_ref(subject), *(_ref(workers[r]) for r in ("keyworker",) if r in workers)],
    }
    if facts.plan_start:
        care_plan["period"] = {"start": facts.plan_start}
    if plan.next_review_date:
        care_plan.setdefault("period", {})["end"] = _date(plan.next_review_date)
        care_plan["note"] = [{"text": f"Next review by {_date(plan.next_review_date)}"}]
    if goals:
        care_plan["goal"] = [_ref(g) for g in goals]
    activities: list[dict[str, Any]] = [{"reference": _ref(r)} for r in options + decisions]
    for entry in support:
        detail: dict[str, Any] = {
            "kind": "ServiceRequest",
            "code": {"coding": [{"system": "urn:careplans:option", "code": entry.option,
                                 "display": entry.option_name}], "text": entry.option_name},
            "status": ACTIVITY_STATUS.get(entry.outcome, "unknown"),
            "description": option_name(entry.option),
        }
        if entry.outcome and entry.outcome != "chosen":
            detail["statusReason"] = {"text": vocab.CHOICE_OUTCOMES.words(entry.outcome)
                                      + (f": {_words(entry.reason)}" if _words(entry.reason) else "")}
        activities.append({"detail": detail})
    if activities:
        care_plan["activity"] = activities
    resources.append(care_plan)
    resources += goals + options + decisions

    for sig in facts.signatures:
        who = subject if sig.role == "client" else workers.get(sig.role)
        if who is None:  # a signer the reader may not see by name still signed: a role-only agent
            who = practitioner(facts, Worker(sig.role, sig.by))
            workers[sig.role] = who
            resources.insert(1, who)
        resources.append(provenance(facts, sig, care_plan, who))

    resources += [consent(facts, share, subject) for share in facts.shares]
    for a in facts.assessments:
        response = questionnaire_response(facts, a, subject)
        resources.append(response)
        resources += [observation(facts, a, m, subject, response) for m in a.measures]

    return {
        "resourceType": "Bundle",
        "id": _id(plan, "bundle", facts.audience),
        "meta": {"lastUpdated": plan.updated_at},
        "identifier": {"system": FINGERPRINT_SYSTEM, "value": plan.fingerprint},
        "type": "collection",
        "timestamp": plan.updated_at,
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources],
    }
