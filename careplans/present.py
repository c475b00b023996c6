"""The one presentation step: a stored plan version → what one audience may read.

`present(snapshot, visibility, reader_id)` takes a plan version as read from the
database and returns a typed view model (msgspec Structs). It applies the policy's
`Visibility` for the audience: sections it may not see are empty, words people
wrote are absent where the audience reads no free text, names are absent where it
sees roles only. The JSON API returns these Structs (so `/schema` documents them);
pages render the same model; PDF copies and exports will render it for their
audiences. Nothing else decides what of a plan a reader sees.

The step itself (redaction and `present`) lives here; the view models, the words and
the result shapes live in the present_* modules beside it and are re-exported from
here, so callers import everything from `careplans.present`.
"""

from __future__ import annotations

import copy
from typing import Any, Callable

import msgspec

from careplans import document
from careplans.document import AboutMe, ChoiceEntry, Goal, StayingSafe
from careplans.policy import SECTIONS, Visibility
from careplans.present_agreement import PARTIES, agreement_headline, agreement_words
from careplans.present_assessments import (
    AnswerCount, AnswerView, AssessmentList, AssessmentResult, AssessmentView, ChoiceOptionView,
    QuestionnaireSummary, QuestionnaireView, QuestionView, ScoreView, SectionView, present_answer,
    present_assessment, present_questionnaire,
)
from careplans.present_history import (
    VISIT_GAP, LookGroup, News, NewsItem, OwnLooks, Visit, WhoLooked, group_visits, news, predicate, who_looked,
)
from careplans.present_results import (
    CheckInResult, ChoiceList, ChoiceResult, GoalResult, check_in_result, choice_list, choice_result, choice_view,
    goal_result,
)
from careplans.present_views import (
    AgreementView, AgreementWords, ChoiceEntryView, DecisionView, DiffChange, DiffView, Finding, PlanVersionView,
    PlanView, Snapshot, VersionEntry, View, iso,
)
from careplans.present_words import (
    Namer, choice_standing, choice_summary, decision_summary, dose_text, fingerprint_label, naloxone_words,
    option_name, sentences, short_fingerprint, version_summary,
)

__all__ = [
    "PARTIES", "VISIT_GAP", "AgreementView", "AgreementWords", "AnswerCount", "AnswerView", "AssessmentList",
    "AssessmentResult", "AssessmentView", "CheckInResult", "ChoiceEntryView", "ChoiceList", "ChoiceOptionView",
    "ChoiceResult", "DecisionView", "DiffChange", "DiffView", "Finding", "GoalResult", "LookGroup", "Namer", "News",
    "NewsItem", "OwnLooks", "PlanVersionView", "PlanView", "QuestionView", "QuestionnaireSummary",
    "QuestionnaireView", "ScoreView", "SectionView", "Snapshot", "VersionEntry", "View", "Visit", "WhoLooked",
    "agreement_headline", "agreement_words", "check_in_result", "choice_list", "choice_result", "choice_standing",
    "choice_summary", "choice_view", "decision_summary", "dose_text", "fingerprint_label", "goal_result",
    "group_visits", "iso", "naloxone_words", "news", "option_name", "predicate", "present", "present_answer",
    "present_assessment", "present_decision", "present_questionnaire", "sentences", "short_fingerprint",
    "version_summary", "who_looked",
]


# --- redaction ----------------------------------------------------------------------------------

def _strip_names(voiced: dict[str, Any] | None) -> dict[str, Any] | None:
    if not isinstance(voiced, dict):
        return voiced
    out = {k: v for k, v in voiced.items() if k != "by"}
    if isinstance(out.get("disagreement"), dict):
        out["disagreement"] = {k: _strip_names(v) for k, v in out["disagreement"].items()}
    return out


_ATOMS = frozenset({str, int, float, bool, type(None)})


def _copied(value: Any) -> Any:
    """A deep copy of a JSON document (dicts, lists and atoms; anything else by copy.deepcopy),
    several times cheaper than copy.deepcopy of the whole: redaction then changes only the copy."""
    kind = type(value)
    if kind is dict:
        return {k: v if type(v) in _ATOMS else _copied(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _ATOMS else _copied(v) for v in value]
    return value if kind in _ATOMS else copy.deepcopy(value)


def _redact_content(content: dict[str, Any], vis: Visibility) -> dict[str, Any]:
    """A copy of the document holding only what this audience may read."""
    doc = _copied(content)
    text = vis.free_text
    names = vis.names
    voiced: Callable[[Any], Any] = (lambda v: v) if text and names else (
        (lambda v: _strip_names(v)) if text else (lambda v: None))
    if not vis.shows("about_me"):
        doc["about_me"] = {}
    else:
        doc["about_me"] = {k: voiced(v) for k, v in (doc.get("about_me") or {}).items()}
    if not vis.shows("goals"):
        doc["goals"] = []
    for goal in doc.get("goals", []):
        goal["title"] = voiced(goal.get("title"))
        goal["why"] = voiced(goal.get("why"))
        for step in goal.get("steps", []):
            step["text"] = voiced(step.get("text"))
            if not text:
                step["who_helps"] = step["when"] = None
        for ci in goal.get("check_ins", []):
            ci["note"] = voiced(ci.get("note"))
            if not names:
                ci["by"] = None
    if not vis.shows("choices"):
        doc["choices"] = []
    for entry in doc.get("choices", []):
        for key in ("client_view", "preference_words", "reason"):
            entry[key] = voiced(entry.get(key))
        if not names:
            entry["recorded_by"] = None
    if not vis.shows("staying_safe"):
        doc["staying_safe"] = None
    elif doc.get("staying_safe"):
        safe = doc["staying_safe"]
        if vis.naloxone_only:
            safe = {**msgspec.to_builtins(StayingSafe()), "naloxone": safe.get("naloxone")}
        safe["notes"] = voiced(safe.get("notes"))
        for moment in safe.get("overdose_risk_moments", []):
            moment["note"] = voiced(moment.get("note"))
        if not text or not names:
            safe["naloxone"] = {**(safe.get("naloxone") or {}), "supplied_by": None}
        doc["staying_safe"] = safe
    if not vis.shows("next_review_date"):
        doc["next_review_date"] = None
    return doc


def present_decision(d: dict[str, Any], vis: Visibility) -> DecisionView:
    view = dict(d)
    if not vis.free_text:
        view["rationale"] = view["client_explanation"] = None
        view["pharmacy"] = None
        view["acknowledged_warnings"] = [{k: v for k, v in a.items() if k != "reason"}
                                         for a in view.get("acknowledged_warnings", [])]
    if not vis.names:
        view["by"] = None
        view["home_office_licence"] = None
        for key in ("rationale", "client_explanation"):
            view[key] = _strip_names(view.get(key))
    view["summary"] = decision_summary(view)
    return msgspec.convert(view, DecisionView)


def _current_decisions(decisions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The latest decision about each medicine (decisions come latest first)."""
    seen: set[str] = set()
    out = []
    for d in decisions:
        if d["option"] not in seen:
            seen.add(d["option"])
            out.append(d)
    return out


def present(snap: Snapshot, vis: Visibility, reader_id: str | None = None) -> PlanView:
    """The plan version `snap` as this audience may read it (`reader_id`: who is reading,
    so the agreement state can say "you")."""
    content = snap.content if (vis.free_text and vis.names and vis.sections == frozenset(SECTIONS)) \
        else _redact_content(snap.content, vis)
    decisions = snap.decisions if vis.shows("prescribing") else []
    if vis.current_prescribing_only:
        decisions = _current_decisions(decisions)
    agreement = AgreementView(
        state=snap.agreement_state, version=snap.agreed_version, fingerprint=snap.agreed_fingerprint,
        current_version=snap.current_version, current_fingerprint=snap.current_fingerprint,
        client_signed_version=snap.client_signed_version, keyworker_signed_version=snap.keyworker_signed_version,
        current_label=fingerprint_label(snap.current_version, snap.current_fingerprint),
        agreed_label=(fingerprint_label(snap.agreed_version, snap.agreed_fingerprint)
                      if snap.agreed_version and snap.agreed_fingerprint else None),
    ) if vis.shows("agreement") else None
    if agreement is not None:
        agreement.words = agreement_words(agreement, snap.signatures, snap.party_names, vis, reader_id)
    try:
        return PlanView(
            id=snap.id, client_id=snap.client_id, version=snap.version, status=snap.status,
            fingerprint=snap.fingerprint, updated_at=iso(snap.created_at), schema_version=document.SCHEMA_VERSION,
            agreement=agreement,
            about_me=msgspec.convert(content.get("about_me") or {}, AboutMe) if vis.shows("about_me") else None,
            goals=msgspec.convert(content.get("goals") or [], list[Goal]),
            choices=msgspec.convert(content.get("choices") or [], list[ChoiceEntry]),
            prescribing=[present_decision(d, vis) for d in decisions],
            staying_safe=(msgspec.convert(content["staying_safe"], StayingSafe)
                          if content.get("staying_safe") is not None else None),
            next_review_date=content.get("next_review_date"),
            label=fingerprint_label(snap.version, snap.fingerprint),
            substances=list(content.get("substances") or []) if vis.shows("choices") else [],
        )
    except msgspec.ValidationError as exc:  # a stored document that does not fit: never user input
        raise document.DocumentShapeError(str(exc)) from exc
