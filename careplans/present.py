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


class AgreementWords(View):
    """The agreement state in words for one reader ("Agreed by Alex on 3 March 2026;
    Sam Okafor has not signed yet."), shared by pages, the API and printed copies."""

    headline: str          # short, for a tag: "Not agreed yet", "Waiting for you to sign", ...
    sentence: str          # the whole state in one sentence
    tone: str              # "agreed", "waiting", "changed" or "not_agreed" (the tag's colour)
    reader_may_sign: bool  # the reader is a party who has not signed this version
    compare_from: int | None = None  # "see what changed": from this version ...
    compare_to: int | None = None    # ... to the current one


class AgreementView(View):
    state: str
    version: int | None
    fingerprint: str | None
    current_version: int
    current_fingerprint: str
    client_signed_version: int | None
    keyworker_signed_version: int | None
    current_label: str = ""  # "v7 · 3f9a 21c0": the version and a short fingerprint, to read out and compare
    agreed_label: str | None = None
    words: AgreementWords | None = None


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
    label: str = ""  # this version and its short fingerprint: "v7 · 3f9a 21c0"
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
    label: str = ""  # "v7 · 3f9a 21c0"


class DiffChange(View):
    path: str
    before: Any
    after: Any
    by: str | None
    summary: str
    what: str = ""  # the summary without its subject, for pages that group changes by who made them


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
    # Every signature on the plan, oldest first ({"version", "role", "by", "by_id", "at"}), and the
    # names of the two parties ({"client": preferred name, "keyworker": current keyworker's name}),
    # for the agreement state in words. Empty when the caller did not read them.
    signatures: list[dict[str, Any]] = field(default_factory=list)
    party_names: dict[str, str | None] = field(default_factory=dict)


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


# --- small values in words -------------------------------------------------------------------------

def short_fingerprint(fingerprint: str | None, length: int = 8) -> str:
    """The first characters of a fingerprint in groups of four: "3f9a 21c0"."""
    text = str(fingerprint or "")[:length]
    return " ".join(text[i:i + 4] for i in range(0, len(text), 4))


def fingerprint_label(version: int | None, fingerprint: str | None) -> str:
    """A version and its fingerprint, calm and short: "v7 · 3f9a 21c0" (the full value is
    shown on request, to check a printed copy)."""
    return f"v{version} · {short_fingerprint(fingerprint)}" if version else short_fingerprint(fingerprint)


def dose_text(mg: Any) -> str:
    """A dose as people write it: "16 mg", "2.5 mg" (never "16.0 mg")."""
    if mg is None or mg == "":
        return ""
    try:
        value = float(mg)
    except (TypeError, ValueError):
        return f"{mg} mg"
    return f"{int(value) if value.is_integer() else format(value, 'g')} mg"


# --- the agreement state in words ---------------------------------------------------------------------

PARTIES = ("client", "keyworker")


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def agreement_words(ag: AgreementView, signatures: list[dict[str, Any]], party_names: dict[str, str | None],
                    vis: Visibility, reader_id: str | None = None) -> AgreementWords:
    """Who has agreed to which version, in one honest sentence for this reader.

    The client and keyworker read "you" for themselves and the other's name; other readers
    who may see names read both names; readers who see roles only (auditors) read "the
    client" and "the keyworker". Dates are written as people write them."""
    party = vis.audience if vis.audience in PARTIES else None
    cur = ag.current_version
    signed = {"client": ag.client_signed_version, "keyworker": ag.keyworker_signed_version}
    latest: dict[str, dict[str, Any]] = {}
    for s in signatures:
        if s.get("role") in PARTIES:
            latest[s["role"]] = s

    def is_me(p: str, *, as_signer: bool) -> bool:
        if p != party:
            return False
        if as_signer and p == "keyworker" and reader_id and latest.get(p, {}).get("by_id") not in (None, reader_id):
            return False  # an earlier keyworker signed; the reader is the keyworker now
        return True

    def name(p: str, *, as_signer: bool = False) -> str:
        if is_me(p, as_signer=as_signer):
            return "you"
        if vis.names:
            if p == "client" and party_names.get("client"):
                return str(party_names["client"])
            if as_signer and latest.get(p, {}).get("by"):
                return str(latest[p]["by"])
            if party_names.get(p):
                return str(party_names[p])
        return f"the {p}"

    def has(p: str) -> str:
        return "have" if name(p) == "you" else "has"

    def on(at: Any) -> str:
        return f" on {ch.long_date(at)}" if at else ""

    def at_version(version: int | None) -> Any:
        times = [s["at"] for s in signatures if s.get("version") == version and s.get("role") in PARTIES]
        return max(times) if times else None

    now_signed = [p for p in PARTIES if signed[p] == cur]
    if len(now_signed) == 2:
        both = at_version(cur)
        if party:
            other = name("keyworker" if party == "client" else "client")
            who = f"you and {other}"
        else:
            who = f"{name('client')} and {name('keyworker')}"
        return AgreementWords(headline="Agreed by both", tone="agreed", reader_may_sign=False,
                              sentence=f"Agreed by both{on(both)}: {who} signed version {cur}.")
    if len(now_signed) == 1:
        signer = now_signed[0]
        missing = "keyworker" if signer == "client" else "client"
        waiting = name(missing)
        headline = "Waiting for you to sign" if waiting == "you" else f"Waiting for {waiting} to sign"
        earlier = signed[missing]
        tail = f" this version (only version {earlier})" if earlier else ""
        sentence = (f"Agreed by {name(signer, as_signer=True)}{on(latest.get(signer, {}).get('at'))}; "
                    f"{waiting} {has(missing)} not signed{tail} yet.")
        return AgreementWords(headline=headline, tone="waiting", sentence=sentence,
                              reader_may_sign=party == missing,
                              compare_from=earlier if party == missing and earlier else None,
                              compare_to=cur if party == missing and earlier else None)
    mine = signed.get(party) if party else None
    if ag.version is not None:
        when = on(at_version(ag.version))
        who = "you both" if party else f"{name('client')} and {name('keyworker')}"
        return AgreementWords(headline="Changed since agreed", tone="changed", reader_may_sign=party is not None,
                              sentence=f"Changed since {who} agreed{when}.",
                              compare_from=mine or ag.version, compare_to=cur)
    earlier_signers = [p for p in PARTIES if signed[p]]
    if earlier_signers:
        bits = [f"{name(p, as_signer=True)} signed version {signed[p]}{on(latest.get(p, {}).get('at'))}"
                for p in earlier_signers]
        first = max(signed[p] or 0 for p in earlier_signers)
        return AgreementWords(headline="Not agreed yet", tone="not_agreed", reader_may_sign=party is not None,
                              sentence=f"Not agreed yet: {' and '.join(bits)}, and the plan has changed since.",
                              compare_from=mine or first, compare_to=cur)
    return AgreementWords(headline="Not agreed yet", tone="not_agreed", reader_may_sign=party is not None,
                          sentence=f"Not agreed yet: nobody has signed version {cur}.")


def agreement_headline(state_facts: dict[str, Any], vis: Visibility, client_name: str | None = None) -> AgreementWords:
    """The agreement state in words from a plan's facts alone (no signature dates), for lists
    such as the caseload: {"current_version", "client_signed_version", "keyworker_signed_version",
    "agreed_version"}."""
    ag = AgreementView(state="", version=state_facts.get("agreed_version"), fingerprint=None,
                       current_version=int(state_facts.get("current_version") or 1), current_fingerprint="",
                       client_signed_version=state_facts.get("client_signed_version"),
                       keyworker_signed_version=state_facts.get("keyworker_signed_version"))
    return agreement_words(ag, [], {"client": client_name}, vis)


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


# --- assessments: questionnaires and the answers a reader may see ----------------------------------------
# The answers arrive already filtered by the policy in SQL (careplans.assessments);
# these functions only shape them. Scores are worked out from the visible answers alone,
# so a score never reveals an answer its reader may not see.

class ChoiceOptionView(View):
    value: str
    label: str


class QuestionView(View):
    code: str
    text: str
    hint: str
    type: str
    type_words: str
    options: list[ChoiceOptionView]
    min: int | None
    max: int | None
    default_visibility: str


class SectionView(View):
    code: str
    title: str
    content_note: str | None
    asked_only_if: dict[str, Any] | None
    questions: list[QuestionView]


class QuestionnaireSummary(View):
    code: str
    version: int
    title: str
    kind: str
    is_screen: bool
    screen_notice: str | None
    purpose: str
    source: str
    stages: list[str]
    questions: int


class QuestionnaireView(QuestionnaireSummary, kw_only=True):
    sections: list[SectionView]
    scoring: dict[str, Any] | None


class AnswerView(View):
    question: str
    question_text: str
    section: str
    status: str            # answered, prefer_not_to_say, not_now
    status_words: str
    value: Any             # the value when answered; words people wrote as {"text","voice","by"}
    words: str             # the answer as a person reads it
    visibility: str
    visibility_words: str
    answered_at: str
    by_role: str
    by: str | None


class ScoreView(View):
    value: int | None
    min: int
    max: int
    band: str | None
    complete: bool
    is_screen: bool
    notice: str | None     # a screen says it is a screen, never a diagnosis


class AssessmentView(View):
    id: str
    plan_id: str
    questionnaire: str
    questionnaire_version: int
    title: str
    kind: str
    stage: str | None
    stage_words: str | None
    status: str
    taken_on: str
    started_at: str
    updated_at: str
    recorded_by_role: str
    answers: list[AnswerView]
    answered: int          # answers the reader can see (values, "prefer not to say" and "not now")
    questions: int
    score: ScoreView | None
    plan_version: int


class AssessmentList(View):
    items: list[AssessmentView]
    plan_version: int


class AssessmentResult(AssessmentView, kw_only=True):
    pass


class AnswerCount(View):
    """For auditors: how many answers, never what they say."""

    questionnaire: str
    assessments: int
    answers: int


def present_questionnaire(q: Any, full: bool = True) -> QuestionnaireSummary:
    summary = dict(code=q.code, version=q.version, title=q.title, kind=q.kind, is_screen=q.is_screen,
                   screen_notice=q.screen_notice or None, purpose=q.purpose, source=q.source,
                   stages=list(q.stages), questions=len(q.questions))
    if not full:
        return QuestionnaireSummary(**summary)
    sections = [SectionView(
        code=s.code, title=s.title, content_note=s.content_note or None,
        asked_only_if={"question": s.ask_if.question, "equals": s.ask_if.equals} if s.ask_if else None,
        questions=[QuestionView(code=x.code, text=x.text, hint=x.hint, type=x.type,
                                type_words=vocab.ANSWER_TYPES.words(x.type),
                                options=[ChoiceOptionView(value=c.value, label=c.label) for c in x.options],
                                min=x.min, max=x.max, default_visibility=x.default_visibility)
                   for x in s.questions]) for s in q.sections]
    scoring = None
    if q.scoring is not None:
        scoring = {"method": q.scoring.method, "questions": list(q.scoring.questions), "min": q.scoring.min,
                   "max": q.scoring.max, "source": q.scoring.source,
                   "bands": [{"from": b.low, "to": b.high, "label": b.label} for b in q.scoring.bands]}
    return QuestionnaireView(**summary, sections=sections, scoring=scoring)


def present_answer(row: dict[str, Any], q: Any, vis: Visibility) -> AnswerView | None:
    """One answer row (already allowed by the policy's answer scope) for this reader.
    A question the questionnaire version no longer has is skipped."""
    from careplans.questionnaires import words_for

    question = q.question(row["question"])
    if question is None:
        return None
    status = row["status"]
    value = row["value"] if status == "answered" else None
    by = row["by_name"] if vis.names else None
    if status == "answered":
        words = words_for(question, value)
        if question.type == "text":
            value = {"text": value, "voice": "client" if row["by_role"] == "client" else "worker", "by": by}
    else:
        words = vocab.ANSWER_STATUSES.words(status)
    section = q.section_of(question.code)
    return AnswerView(question=question.code, question_text=question.text, section=section.code if section else "",
                      status=status, status_words=vocab.ANSWER_STATUSES.words(status), value=value, words=words,
                      visibility=row["visibility"], visibility_words=vocab.ANSWER_VISIBILITY.words(row["visibility"]),
                      answered_at=iso(row["answered_at"]), by_role=row["by_role"], by=by)


def present_assessment(a: dict[str, Any], rows: list[dict[str, Any]], q: Any, vis: Visibility) -> AssessmentView:
    """An assessment with the answers this reader may see, and the score of those alone."""
    from careplans.rules.scoring import score

    answers = [v for v in (present_answer(r, q, vis) for r in rows) if v is not None]
    order = {x.code: i for i, x in enumerate(q.questions)}
    answers.sort(key=lambda v: order.get(v.question, 999))
    values = {r["question"]: r["value"] for r in rows if r["status"] == "answered"}
    s = score(q, values)
    score_view = None if s is None else ScoreView(
        value=s.value, min=s.min, max=s.max, band=s.band, complete=s.complete, is_screen=q.is_screen,
        notice=q.screen_notice or None)
    return AssessmentView(
        id=a["id"], plan_id=a["plan_id"], questionnaire=q.code, questionnaire_version=q.version, title=q.title,
        kind=q.kind, stage=a["stage"], stage_words=vocab.TOP_STAGES.words(a["stage"]) if a["stage"] else None,
        status=a["status"], taken_on=a["taken_on"], started_at=iso(a["started_at"]), updated_at=iso(a["updated_at"]),
        recorded_by_role=a["recorded_role"], answers=answers, answered=len(answers), questions=len(q.questions),
        score=score_view, plan_version=a["plan_version"])
# --- who has looked at the plan, readable ------------------------------------------------------------

class LookGroup(View):
    """One person's visits on one day: "Sam Okafor (keyworker), 3 March 2026: viewed the plan 3 times"."""

    who: str
    role: str
    day: str
    last_at: str
    count: int
    actions: list[str]
    times: list[str]


class OwnLooks(View):
    """The reader's own visits folded into one line: "You, 14 times this week"."""

    sentence: str
    count: int
    times: list[str]


class WhoLooked(View):
    others: list[LookGroup]  # other people first, newest first: the "no surprises" promise
    own: list[OwnLooks]
    total: int


def _times(n: int) -> str:
    return "once" if n == 1 else "twice" if n == 2 else f"{n} times"


def who_looked(events: list[dict[str, Any]], reader_id: str | None, names: dict[str, str],
               action_words: dict[str, str], now: dt.datetime, tz: dt.tzinfo = dt.timezone.utc) -> WhoLooked:
    """Every event on a plan (`{"at": datetime, "actor_id", "actor_role", "action"}`), grouped
    by person and day, others first and newest first; the reader's own folded into a line for
    this week and one for before. Nothing is dropped: each group keeps its times."""
    groups: dict[tuple[str, dt.date], list[dict[str, Any]]] = {}
    mine: list[dict[str, Any]] = []
    for e in events:
        if reader_id is not None and e.get("actor_id") == reader_id:
            mine.append(e)
            continue
        day = e["at"].astimezone(tz).date()
        groups.setdefault((str(e.get("actor_id") or ""), day), []).append(e)
    others = []
    for (actor, day), evs in groups.items():
        evs.sort(key=lambda e: e["at"], reverse=True)
        counts: dict[str, int] = {}
        for e in evs:
            what = action_words.get(e["action"], e["action"].replace(".", " "))
            counts[what] = counts.get(what, 0) + 1
        role = evs[0].get("actor_role") or ""
        name = names.get(actor) or "Someone"
        others.append(LookGroup(
            who=f"{name} ({vocab.ROLES.words(role, 'staff').lower()})", role=role, day=day.isoformat(),
            last_at=iso(evs[0]["at"]), count=len(evs),
            actions=[f"{what} {_times(n)}" if n > 1 else what for what, n in counts.items()],
            times=[iso(e["at"]) for e in evs]))
    others.sort(key=lambda g: g.last_at, reverse=True)
    week_ago = now - dt.timedelta(days=7)
    recent = sorted((e for e in mine if e["at"] >= week_ago), key=lambda e: e["at"], reverse=True)
    older = sorted((e for e in mine if e["at"] < week_ago), key=lambda e: e["at"], reverse=True)
    own = []
    if recent:
        own.append(OwnLooks(sentence=f"You, {_times(len(recent))} this week", count=len(recent),
                            times=[iso(e["at"]) for e in recent]))
    if older:
        own.append(OwnLooks(sentence=f"You, {_times(len(older))} before that", count=len(older),
                            times=[iso(e["at"]) for e in older]))
    return WhoLooked(others=others, own=own, total=len(events))


# --- staying safe, in the reader's voice ---------------------------------------------------------------

def naloxone_words(naloxone: dict[str, Any] | None, mine: bool) -> list[str]:
    """Naloxone in sentences: in the client's own voice for the client ("I have a naloxone
    kit (a nasal spray), since 3 March 2026."), a record of what was offered for workers."""
    nal = naloxone or {}
    kind = {"nyxoid": "a nasal spray", "prenoxad": "an injection"}.get(str(nal.get("product") or ""))
    offered_on = f" on {ch.long_date(nal['offered_on'])}" if nal.get("offered_on") else ""
    since = f", since {ch.long_date(nal['supplied_on'])}" if nal.get("supplied_on") else ""
    lines = []
    if mine:
        if nal.get("supplied"):
            lines.append(f"I have a naloxone kit{f' ({kind})' if kind else ''}{since}.")
        elif nal.get("offered"):
            lines.append(f"I’ve been offered naloxone{offered_on}. I don’t have a kit yet.")
        elif nal.get("offered") is False or nal.get("supplied") is False:
            lines.append("I don’t have a naloxone kit yet.")
        else:
            lines.append("We haven’t talked about naloxone yet.")
        if nal.get("peer_supply"):
            lines.append("I can pass kits on to people I know.")
        return lines
    if nal.get("offered"):
        lines.append(f"Offered{offered_on}.")
    elif nal.get("offered") is False:
        lines.append("Not offered yet.")
    else:
        lines.append("Not recorded whether it was offered.")
    if nal.get("supplied"):
        by = f" by {nal['supplied_by']}" if nal.get("supplied_by") else ""
        lines.append(f"Kit supplied{f' ({kind})' if kind else ''}{since.replace(', since', ' on')}{by}.")
    elif nal.get("supplied") is False:
        lines.append("No kit supplied yet.")
    if nal.get("peer_supply"):
        lines.append("Peer supply: can pass kits on to others.")
    return lines


# --- history, grouped by visit ------------------------------------------------------------------------

class Visit(View):
    """One sitting: consecutive versions saved by one person within a couple of hours, read as
    one heading ("Sam Okafor (keyworker)") and plain lines, repeated lines counted once."""

    who: str
    role: str
    started: str
    ended: str
    first_version: int
    last_version: int
    lines: list[str]
    label: str


VISIT_GAP = dt.timedelta(hours=2)


def predicate(line: str, subject: str) -> str:
    """A sentence without its subject, capitalised: "Sam (keyworker) set the date" → "Set the date"."""
    if subject and line.startswith(subject + " "):
        line = line[len(subject) + 1:]
    return _cap(line)


def group_visits(versions: list[dict[str, Any]], reader: ch.Reader) -> list[Visit]:
    """Versions oldest first (`{"number", "author": ch.Author, "at": datetime, "lines": [sentences],
    "fingerprint"}`) grouped into visits, newest visit first."""
    visits: list[tuple[ch.Author, list[dict[str, Any]]]] = []
    for v in versions:
        author: ch.Author = v["author"]
        if visits:
            last_author, run = visits[-1]
            same = (last_author.id, last_author.role) == (author.id, author.role)
            if same and v["at"] - run[-1]["at"] <= VISIT_GAP:
                run.append(v)
                continue
        visits.append((author, [v]))
    out = []
    for author, run in reversed(visits):
        subject = ch.who(author, reader)
        counts: dict[str, int] = {}
        for v in run:
            lines = v["lines"] or ([f"{subject} started the plan"] if v["number"] == 1 else
                                   [f"{subject} saved the plan with no change to its content"])
            for line in lines:
                key = predicate(line, subject)
                counts[key] = counts.get(key, 0) + 1
        out.append(Visit(
            who=subject, role=author.role or "", started=iso(run[0]["at"]), ended=iso(run[-1]["at"]),
            first_version=run[0]["number"], last_version=run[-1]["number"],
            lines=[f"{line} ({_times(n)})" if n > 1 else line for line, n in counts.items()],
            label=fingerprint_label(run[-1]["number"], run[-1]["fingerprint"])))
    return out


# --- since you last looked ------------------------------------------------------------------------------

class NewsItem(View):
    kind: str  # "change", "decision", "signature" or "review"
    text: str
    link: str | None = None
    link_text: str | None = None


class News(View):
    """What is new on a plan for one reader since they last looked at it."""

    plan_id: str
    since: str | None
    items: list[NewsItem]


def news(plan_id: str, since: dt.datetime | None, versions: list[dict[str, Any]], decisions: list[DecisionView],
         words: AgreementWords | None, next_review_date: str | None, today: dt.date, reader: ch.Reader,
         current_version: int, max_lines: int = 3) -> News:
    """A "since you last looked" panel: changes by other people (`versions` newer than `since`,
    oldest first, as for `group_visits`), prescribing decisions made since, a signature asked
    of the reader, and a review coming up in the next fortnight (or overdue)."""
    items: list[NewsItem] = []
    others = [v for v in versions if v["author"].id != reader.id]
    if others:
        by: dict[str, list[str]] = {}
        for v in others:
            subject = ch.who(v["author"], reader)
            lines = by.setdefault(subject, [])
            for line in v["lines"] or []:
                what = predicate(line, subject)
                what = what[:1].lower() + what[1:]
                if what not in lines:
                    lines.append(what)
        first = min(v["number"] for v in others)
        for subject, lines in by.items():
            shown = "; ".join(lines[:max_lines]) if lines else "saved the plan"
            more = f"; and {len(lines) - max_lines} more" if len(lines) > max_lines else ""
            items.append(NewsItem(kind="change", text=f"{subject} {shown}{more}.",
                                  link=f"/plans/{plan_id}/compare?from={max(1, first - 1)}&to={current_version}"
                                  if first > 1 else f"/plans/{plan_id}/history",
                                  link_text="See what changed"))
    for d in decisions:
        items.append(NewsItem(kind="decision", text=f"A prescribing decision: {d.summary}.",
                              link=f"/plans/{plan_id}#prescribing", link_text="Read the decision"))
    if words is not None and words.reader_may_sign:
        items.append(NewsItem(kind="signature", text=f"Your signature is asked for on version {current_version}.",
                              link=f"/plans/{plan_id}/agreement", link_text="Read it and sign"))
    if next_review_date:
        try:
            review = dt.date.fromisoformat(str(next_review_date)[:10])
        except ValueError:
            review = None
        if review is not None:
            days = (review - today).days
            when = ch.long_date(review)
            if days < 0:
                items.append(NewsItem(kind="review", text=f"The review was due on {when}."))
            elif days == 0:
                items.append(NewsItem(kind="review", text=f"The review is today, {when}."))
            elif days <= 14:
                items.append(NewsItem(kind="review", text=f"The review is coming up on {when}, in "
                                                          f"{'1 day' if days == 1 else f'{days} days'}."))
    return News(plan_id=plan_id, since=iso(since) if since else None, items=items)
