"""Questionnaires: versioned data files with their sources, read and checked here.

The files live in `careplans/catalogue/questionnaires/*.toml`, one per questionnaire
version, beside the option catalogue: a service reviews every question, hint, content
note and score rule with its source there, never in code. This module only reads and
checks them, and checks one answer against its question (pure functions). Scoring is
in `careplans.rules.scoring`.

A file with an error (an unknown answer type, a duplicate code, a score rule naming a
question that does not exist...) raises `QuestionnaireError` naming the file and the
field; the app loads every file at start-up (`api.app.create_app`), so it refuses to
start rather than ask a broken question.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from careplans import vocab
from careplans.errors import InvalidInput

QUESTIONNAIRE_DIR = Path(__file__).parent / "catalogue" / "questionnaires"
KINDS = frozenset({"conversation", "screen", "outcome"})
NUMBER_TYPES = {"number": None, "days_28": (0, 28), "rating_20": (0, 20)}
TEXT_LIMIT = 4000


class QuestionnaireError(ValueError):
    """A questionnaire file does not fit: names the file and the field."""


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    score: int | None = None


@dataclass(frozen=True)
class Question:
    code: str
    text: str
    type: str
    hint: str = ""
    options: tuple[Choice, ...] = ()
    min: int | None = None
    max: int | None = None
    default_visibility: str = "only_me"
    chart: str | None = None   # the outcome chart this answer feeds ("days_used", "ratings")
    label: str = ""            # short name on a chart


@dataclass(frozen=True)
class Condition:
    question: str
    equals: Any


@dataclass(frozen=True)
class Section:
    code: str
    title: str
    questions: tuple[Question, ...]
    content_note: str = ""
    ask_if: Condition | None = None


@dataclass(frozen=True)
class Band:
    low: int
    high: int
    label: str


@dataclass(frozen=True)
class Scoring:
    method: str
    questions: tuple[str, ...]
    min: int
    max: int
    bands: tuple[Band, ...] = ()
    zero_if: Condition | None = None
    source: str = ""


@dataclass(frozen=True)
class Questionnaire:
    code: str
    version: int
    title: str
    kind: str
    purpose: str
    source: str
    sections: tuple[Section, ...]
    scoring: Scoring | None = None
    stages: tuple[str, ...] = ()
    screen_notice: str = ""
    applies_to: str | None = None
    file: str = ""
    _by_code: dict[str, Question] = field(default_factory=dict, compare=False, repr=False)

    @property
    def questions(self) -> tuple[Question, ...]:
        return tuple(q for s in self.sections for q in s.questions)

    def question(self, code: str) -> Question | None:
        return self._by_code.get(code)

    def section_of(self, code: str) -> Section | None:
        return next((s for s in self.sections if any(q.code == code for q in s.questions)), None)

    @property
    def is_screen(self) -> bool:
        return self.kind == "screen"


# --- reading and checking a file ---------------------------------------------------------------------

class _Reader:
    def __init__(self, path: Path) -> None:
        self.name = path.name

    def fail(self, where: str, message: str) -> QuestionnaireError:
        return QuestionnaireError(f"{self.name}: {where}: {message}")

    def need(self, table: dict[str, Any], key: str, where: str, kind: type = str) -> Any:
        value = table.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise self.fail(f"{where}.{key}" if where else key, "is missing or empty")
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.fail(f"{where}.{key}" if where else key, f"must be {kind.__name__}")
        return value


def _condition(r: _Reader, raw: Any, where: str) -> Condition | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or "question" not in raw or "equals" not in raw:
        raise r.fail(where, "needs 'question' and 'equals'")
    return Condition(question=str(raw["question"]), equals=raw["equals"])


def _choices(r: _Reader, raw: Any, option_sets: dict[str, Any], where: str) -> tuple[Choice, ...]:
    if isinstance(raw, str):
        if raw not in option_sets:
            raise r.fail(f"{where}.options", f"names the option set {raw!r}, which the file does not define")
        raw = option_sets[raw]
    if not isinstance(raw, list) or not raw:
        raise r.fail(f"{where}.options", "a choice question needs a list of options")
    out, seen = [], set()
    for i, item in enumerate(raw):
        value = str(r.need(item, "value", f"{where}.options[{i}]"))
        if value in seen:
            raise r.fail(f"{where}.options[{i}].value", f"duplicate option {value!r}")
        seen.add(value)
        score = item.get("score")
        if score is not None and (not isinstance(score, int) or isinstance(score, bool)):
            raise r.fail(f"{where}.options[{i}].score", "must be a whole number")
        out.append(Choice(value=value, label=r.need(item, "label", f"{where}.options[{i}]"), score=score))
    return tuple(out)


def _question(r: _Reader, raw: dict[str, Any], option_sets: dict[str, Any], where: str) -> Question:
    code = r.need(raw, "code", where)
    where = f"{where}[{code}]"
    qtype = r.need(raw, "type", where)
    if qtype not in vocab.ANSWER_TYPES:
        raise r.fail(f"{where}.type", f"unknown answer type {qtype!r} (one of {', '.join(vocab.ANSWER_TYPES.codes)})")
    options = _choices(r, raw.get("options"), option_sets, where) if qtype == "choice" else ()
    if qtype != "choice" and "options" in raw:
        raise r.fail(f"{where}.options", f"only a choice question has options, not {qtype!r}")
    low, high = raw.get("min"), raw.get("max")
    if qtype == "number":
        if not isinstance(low, int) or not isinstance(high, int) or low > high:
            raise r.fail(f"{where}.min", "a number question needs whole-number min and max, min not above max")
    elif qtype in NUMBER_TYPES:
        low, high = NUMBER_TYPES[qtype]  # type: ignore[misc]
    default = raw.get("default_visibility", "only_me")
    if default not in vocab.ANSWER_VISIBILITY:
        raise r.fail(f"{where}.default_visibility", f"unknown visibility {default!r}")
    return Question(code=code, text=r.need(raw, "text", where), type=qtype, hint=raw.get("hint", ""),
                    options=options, min=low, max=high, default_visibility=default, chart=raw.get("chart"),
                    label=raw.get("label", ""))


def parse_questionnaire(path: Path) -> Questionnaire:
    """One file, checked. Raises QuestionnaireError naming the file and the field."""
    r = _Reader(path)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise r.fail("file", f"is not valid TOML ({exc})") from exc
    code = r.need(data, "code", "")
    version = r.need(data, "version", "", int)
    kind = r.need(data, "kind", "")
    if kind not in KINDS:
        raise r.fail("kind", f"must be one of {sorted(KINDS)}, not {kind!r}")
    option_sets = data.get("option_sets", {})
    sections, seen_sections, by_code = [], set(), {}
    raw_sections = data.get("sections")
    if not isinstance(raw_sections, list) or not raw_sections:
        raise r.fail("sections", "a questionnaire needs at least one section")
    for i, raw in enumerate(raw_sections):
        scode = r.need(raw, "code", f"sections[{i}]")
        where = f"sections[{scode}]"
        if scode in seen_sections:
            raise r.fail(f"{where}.code", f"duplicate section code {scode!r}")
        seen_sections.add(scode)
        questions = []
        for q in raw.get("questions") or []:
            question = _question(r, q, option_sets, f"{where}.questions")
            if question.code in by_code:
                raise r.fail(f"{where}.questions[{question.code}].code", f"duplicate question code {question.code!r}")
            by_code[question.code] = question
            questions.append(question)
        if not questions:
            raise r.fail(f"{where}.questions", "a section needs at least one question")
        sections.append(Section(code=scode, title=r.need(raw, "title", where), questions=tuple(questions),
                                content_note=raw.get("content_note", ""),
                                ask_if=_condition(r, raw.get("ask_if"), f"{where}.ask_if")))
    for s in sections:
        if s.ask_if is not None and s.ask_if.question not in by_code:
            raise r.fail(f"sections[{s.code}].ask_if.question", f"names a question that does not exist: {s.ask_if.question!r}")
    scoring = _scoring(r, data.get("scoring"), by_code)
    stages = tuple(data.get("stages", ()))
    for stage in stages:
        if stage not in vocab.TOP_STAGES:
            raise r.fail("stages", f"unknown stage {stage!r}")
    if kind == "screen" and not data.get("screen_notice"):
        raise r.fail("screen_notice", "a screen must say that it is a screen, not a diagnosis")
    return Questionnaire(code=code, version=version, title=r.need(data, "title", ""), kind=kind,
                         purpose=r.need(data, "purpose", ""), source=r.need(data, "source", ""),
                         sections=tuple(sections), scoring=scoring, stages=stages,
                         screen_notice=data.get("screen_notice", ""), applies_to=data.get("applies_to"),
                         file=path.name, _by_code=by_code)


def _scoring(r: _Reader, raw: Any, by_code: dict[str, Question]) -> Scoring | None:
    if raw is None:
        return None
    method = r.need(raw, "method", "scoring")
    if method != "sum":
        raise r.fail("scoring.method", f"unknown scoring method {method!r}")
    names = raw.get("questions")
    if not isinstance(names, list) or not names:
        raise r.fail("scoring.questions", "needs the list of questions it adds up")
    for name in names:
        question = by_code.get(name)
        if question is None:
            raise r.fail("scoring.questions", f"names a question that does not exist: {name!r}")
        if question.type == "text":
            raise r.fail("scoring.questions", f"cannot score the free-text question {name!r}")
        if question.type == "choice" and any(c.score is None for c in question.options):
            raise r.fail("scoring.questions", f"every option of {name!r} needs a score")
    zero_if = _condition(r, raw.get("zero_if"), "scoring.zero_if")
    if zero_if is not None and zero_if.question not in by_code:
        raise r.fail("scoring.zero_if.question", f"names a question that does not exist: {zero_if.question!r}")
    bands = []
    for i, b in enumerate(raw.get("bands", [])):
        bands.append(Band(low=r.need(b, "from", f"scoring.bands[{i}]", int), high=r.need(b, "to", f"scoring.bands[{i}]", int),
                          label=r.need(b, "label", f"scoring.bands[{i}]")))
    return Scoring(method=method, questions=tuple(names), min=r.need(raw, "min", "scoring", int),
                   max=r.need(raw, "max", "scoring", int), bands=tuple(bands), zero_if=zero_if,
                   source=raw.get("source", ""))


@lru_cache(maxsize=4)
def _load(directory: str) -> tuple[Questionnaire, ...]:
    out: list[Questionnaire] = []
    seen: set[tuple[str, int]] = set()
    files = sorted(Path(directory).glob("*.toml"))
    if not files:
        raise QuestionnaireError(f"{directory}: no questionnaire files")
    for path in files:
        q = parse_questionnaire(path)
        if (q.code, q.version) in seen:
            raise QuestionnaireError(f"{path.name}: code: duplicate questionnaire {q.code!r} version {q.version}")
        seen.add((q.code, q.version))
        out.append(q)
    return tuple(out)


def load_all(directory: Path | str | None = None) -> tuple[Questionnaire, ...]:
    """Every questionnaire version in the directory, checked (QuestionnaireError otherwise)."""
    return _load(str(directory or QUESTIONNAIRE_DIR))


def current() -> list[Questionnaire]:
    """The latest version of each questionnaire, in a stable order (safety first)."""
    latest: dict[str, Questionnaire] = {}
    for q in load_all():
        if q.code not in latest or q.version > latest[q.code].version:
            latest[q.code] = q
    order = {"feel_safe": 0, "pc_ptsd_5": 1, "top": 2, "barc10": 3, "audit": 4}
    return sorted(latest.values(), key=lambda q: (order.get(q.code, 99), q.code))


def get(code: str, version: int | None = None) -> Questionnaire | None:
    """A questionnaire by code: the given version, or the latest."""
    found = [q for q in load_all() if q.code == code and (version is None or q.version == version)]
    return max(found, key=lambda q: q.version) if found else None


# --- one answer against its question (pure) ----------------------------------------------------------------

def check_value(question: Question, value: Any, field: str) -> Any:
    """The answer value in its stored form, or InvalidInput naming the question (422)."""
    t = question.type
    if t == "text":
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput(field, "Write an answer, or choose 'prefer not to say' or 'not now'.")
        if len(value) > TEXT_LIMIT:
            raise InvalidInput(field, f"An answer must be {TEXT_LIMIT:,} characters or fewer.")
        return value.strip()
    if t == "choice":
        allowed = {c.value for c in question.options}
        if not isinstance(value, (str, int)) or isinstance(value, bool) or str(value) not in allowed:
            raise InvalidInput(field, f"Choose one of the answers offered for “{question.text}”.")
        return str(value)
    if t == "yes_no":
        if isinstance(value, str) and value in ("yes", "no"):
            return value == "yes"
        if not isinstance(value, bool):
            raise InvalidInput(field, "Answer yes or no.")
        return value
    # numbers
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInput(field, f"Enter a whole number from {question.min} to {question.max}.")
    if (question.min is not None and value < question.min) or (question.max is not None and value > question.max):
        raise InvalidInput(field, f"Enter a whole number from {question.min} to {question.max}.")
    return value


def words_for(question: Question, value: Any) -> str:
    """An answer value as a person reads it."""
    if value is None:
        return ""
    if question.type == "choice":
        return next((c.label for c in question.options if c.value == str(value)), str(value))
    if question.type == "yes_no":
        return "Yes" if value else "No"
    if question.type == "days_28":
        return f"{value} day{'s' if value != 1 else ''} out of 28"
    if question.type == "rating_20":
        return f"{value} out of 20"
    return str(value)


def asked(section: Section, values: dict[str, Any]) -> bool:
    """Whether a section is asked, given the answers so far (a gate answered otherwise skips it)."""
    if section.ask_if is None:
        return True
    return values.get(section.ask_if.question) == section.ask_if.equals
