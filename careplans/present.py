"""The one presentation step: a stored plan version → what one audience may read.

`present(snapshot, visibility, reader_id)` takes a plan version as read from the
database and returns a typed view model (msgspec Structs). It applies the policy's
`Visibility` for the audience: sections it may not see are empty, words people
wrote are absent where the audience reads no free text, names are absent where it
sees roles only. The JSON API returns these Structs (so `/schema` documents them);
pages render the same model; PDF copies and exports will render it for their
audiences. Nothing else decides what of a plan a reader sees.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any, Callable

import msgspec

from careplans import changes as ch
from careplans import document, vocab
from careplans.catalogue import option_by_code
from careplans.document import AboutMe, ChoiceEntry, Goal, StayingSafe, Voiced
from careplans.policy import SECTIONS, Visibility


class View(msgspec.Struct, kw_only=True):
    pass


class AgreementView(View):
    state: str
    version: int | None
    fingerprint: str | None
    current_version: int
    current_fingerprint: str
    client_signed_version: int | None
    keyworker_signed_version: int | None


class Finding(View):
    code: str | None = None
    field: str | None = None
    message: str | None = None
    source: str | None = None
    reason: str | None = None


class DecisionView(View):
    id: str
    plan_id: str
    plan_version: int
    fingerprint: str
    decision: str
    option: str
    option_name: str
    product: str | None
    product_name: str | None
    dose_mg: float | None
    frequency: str | None
    frequency_name: str | None
    supervision: str | None
    supervision_name: str | None
    instalment_days: int | None
    pharmacy: str | None
    start_date: str | None
    review_date: str | None
    rationale: Voiced | None
    client_explanation: Voiced | None
    acknowledged_warnings: list[Finding]
    suggestions: list[Finding]
    clinical_context: dict[str, Any]
    home_office_licence: str | None
    by: str | None
    by_role: str
    at: str
    summary: str


class PlanView(View):
    id: str
    client_id: str
    version: int
    status: str
    fingerprint: str
    updated_at: str
    schema_version: int
    agreement: AgreementView | None
    about_me: AboutMe | None
    goals: list[Goal]
    choices: list[ChoiceEntry]
    prescribing: list[DecisionView]
    staying_safe: StayingSafe | None
    next_review_date: str | None
    substances: list[str] = msgspec.field(default_factory=list)
    """What the plan is about (codes of vocab.SUBSTANCES); read with the treatment choices."""


class PlanVersionView(PlanView, kw_only=True):
    author: str | None
    role: str
    at: str
    summary: str
    is_current: bool


class ChoiceEntryView(ChoiceEntry, kw_only=True):
    summary: str


class VersionEntry(View):
    version: int
    author: str | None
    role: str
    at: str
    summary: str
    changes: list[str]
    fingerprint: str


class DiffChange(View):
    path: str
    before: Any
    after: Any
    by: str | None
    summary: str


class DiffView(View):
    from_: int = msgspec.field(name="from")
    to: int
    changes: list[DiffChange]


# --- the snapshot a query reads ---------------------------------------------------------------

@dataclass
class Snapshot:
    """One plan version as read: the plan row's facts, the document, the decisions."""

    id: str
    client_id: str
    status: str
    current_version: int
    current_fingerprint: str
    agreement_state: str
    agreed_version: int | None
    agreed_fingerprint: str | None
    client_signed_version: int | None
    keyworker_signed_version: int | None
    version: int
    fingerprint: str
    created_at: dt.datetime
    content: dict[str, Any]
    decisions: list[dict[str, Any]] = field(default_factory=list)
    author_id: str | None = None
    author_name: str | None = None
    author_role: str | None = None
    changes: list[ch.Change] = field(default_factory=list)


def iso(at: dt.datetime) -> str:
    return at.astimezone(dt.timezone.utc).isoformat(timespec="seconds")


# --- redaction ----------------------------------------------------------------------------------

_VOICED_ABOUT = vocab.ABOUT_ME.codes


def _strip_names(voiced: dict[str, Any] | None) -> dict[str, Any] | None:
    if not isinstance(voiced, dict):
        return voiced
    out = {k: v for k, v in voiced.items() if k != "by"}
    if isinstance(out.get("disagreement"), dict):
        out["disagreement"] = {k: _strip_names(v) for k, v in out["disagreement"].items()}
    return out


def _redact_content(content: dict[str, Any], vis: Visibility) -> dict[str, Any]:
    """A copy of the document holding only what this audience may read."""
    doc = copy.deepcopy(content)
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


def present(snap: Snapshot, vis: Visibility) -> PlanView:
    """The plan version `snap` as this audience may read it."""
    content = snap.content if (vis.free_text and vis.names and vis.sections == frozenset(SECTIONS)) \
        else _redact_content(snap.content, vis)
    decisions = snap.decisions if vis.shows("prescribing") else []
    if vis.current_prescribing_only:
        decisions = _current_decisions(decisions)
    agreement = AgreementView(
        state=snap.agreement_state, version=snap.agreed_version, fingerprint=snap.agreed_fingerprint,
        current_version=snap.current_version, current_fingerprint=snap.current_fingerprint,
        client_signed_version=snap.client_signed_version, keyworker_signed_version=snap.keyworker_signed_version,
    ) if vis.shows("agreement") else None
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
            substances=list(content.get("substances") or []) if vis.shows("choices") else [],
        )
    except msgspec.ValidationError as exc:  # a stored document that does not fit: never user input
        raise document.DocumentShapeError(str(exc)) from exc


# --- sentences for a reader -------------------------------------------------------------------------

def option_name(code: str) -> str:
    option = option_by_code(code) if code else None
    return option.name if option is not None else code.replace("_", " ")


def choice_standing(entry: dict[str, Any] | None) -> str:
    """Where things stand with one option, in a few words, from the latest conversation about it:
    its outcome, else the preference, else that it was talked about."""
    if not entry:
        return "Not talked about yet"
    if entry.get("outcome"):
        return vocab.CHOICE_OUTCOMES.words(entry["outcome"])
    if entry.get("preference") and entry["preference"] != "stated":
        return vocab.PREFERENCES.words(entry["preference"])
    return "Talked about"


def dose_text(dose: Any) -> str:
    """A dose in mg as people write it: 16.0 -> "16 mg", 2.5 -> "2.5 mg"."""
    if dose is None or dose == "":
        return ""
    value = float(dose)
    number = f"{value:.3f}".rstrip("0").rstrip(".") if math.isfinite(value) else str(value)
    return f"{number or '0'} mg"


def decision_summary(decision: dict[str, Any]) -> str:
    """A prescribing decision in plain words, for example
    "Methadone oral solution 60 mg once a day, supervised consumption: approved by Dr Ray (clinician)"."""
    what = decision.get("product_name") or decision.get("option_name") or decision.get("option") or "Medication"
    if decision.get("dose_mg") is not None:
        what += f" {dose_text(decision['dose_mg'])}"
    if decision.get("frequency_name"):
        what += f" {decision['frequency_name'].lower()}"
    if decision.get("supervision_name"):
        what += f", {decision['supervision_name'].lower()}"
    verdict = vocab.DECISIONS.phrase(decision.get("decision"))
    who = f" by {decision['by']} (clinician)" if decision.get("by") else " by a clinician"
    return f"{what}: {verdict}{who}, about plan version {decision.get('plan_version')}"


@dataclass
class Namer:
    """Goal names and areas a reader may see, looked up from documents they can read."""

    docs: list[dict[str, Any]]

    def _goal(self, goal_id: str) -> dict[str, Any] | None:
        for doc in self.docs:
            for g in doc.get("goals", []):
                if g.get("id") == goal_id:
                    return g
        return None

    def name(self, goal_id: str) -> str | None:
        goal = self._goal(goal_id)
        title = goal.get("title") if goal else None
        return title.get("text") if isinstance(title, dict) else None

    def area(self, goal_id: str) -> str | None:
        goal = self._goal(goal_id)
        return goal.get("area") if goal else None


def sentences(changes: list[ch.Change], author: ch.Author, reader: ch.Reader, namer: Namer) -> list[str]:
    return [ch.sentence(c, author, reader, goal_names=namer.name, goal_areas=namer.area, option_names=option_name)
            for c in changes]


def version_summary(lines: list[str], author: ch.Author, reader: ch.Reader, number: int) -> str:
    if number == 1 and not lines:
        return f"{ch.who(author, reader)} started the plan."
    if not lines:
        return f"{ch.who(author, reader)} saved the plan with no change to its content."
    return " ".join(f"{line}." for line in lines)


def choice_summary(entry: dict[str, Any], reader: ch.Reader) -> str:
    """A ledger entry in a line, for readers of the choices list."""
    author = ch.Author(id=None, name=entry.get("recorded_by"), role=entry.get("recorded_by_role"))
    change = ch.Change(section="choices", kind="added", item=entry.get("id"),
                       after=ch._choice_codes(entry))  # noqa: SLF001 - the same codes a stored change holds
    line = ch.sentence(change, author, reader, goal_names=lambda _: None, goal_areas=lambda _: None,
                       option_names=option_name)
    if reader.visibility.free_text and entry.get("preference") == "stated" and entry.get("preference_words"):
        line += f" (“{entry['preference_words'].get('text')}”)"
    return line


# --- one part of a plan, as a write returns it ----------------------------------------------------------

class GoalResult(Goal, kw_only=True):
    plan_version: int


class CheckInResult(document.CheckIn, kw_only=True):
    goal_id: str
    plan_version: int


class ChoiceResult(ChoiceEntryView, kw_only=True):
    plan_version: int


class ChoiceList(View):
    items: list[ChoiceEntryView]
    plan_version: int


def _fields(struct: msgspec.Struct) -> dict[str, Any]:
    return {f: getattr(struct, f) for f in struct.__struct_fields__}


def goal_result(view: PlanView, goal_id: str) -> GoalResult:
    goal = next(g for g in view.goals if g.id == goal_id)
    return GoalResult(**_fields(goal), plan_version=view.version)


def check_in_result(view: PlanView, goal_id: str, check_in_id: str) -> CheckInResult:
    goal = next(g for g in view.goals if g.id == goal_id)
    check_in = next(c for c in goal.check_ins if c.id == check_in_id)
    return CheckInResult(**_fields(check_in), goal_id=goal_id, plan_version=view.version)


def choice_list(view: PlanView, reader: ch.Reader) -> ChoiceList:
    return ChoiceList(items=[choice_view(e, reader) for e in view.choices], plan_version=view.version)


def choice_view(entry: ChoiceEntry, reader: ch.Reader) -> ChoiceEntryView:
    return ChoiceEntryView(**_fields(entry), summary=choice_summary(msgspec.to_builtins(entry), reader))


def choice_result(view: PlanView, entry_id: str, reader: ch.Reader) -> ChoiceResult:
    entry = next(e for e in view.choices if e.id == entry_id)
    return ChoiceResult(**_fields(choice_view(entry, reader)), plan_version=view.version)
