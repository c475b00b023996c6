"""Scoring a questionnaire: pure functions of its data file and the answers.

A score exists only when every question it adds up was answered with a value (or a
gate answered "no" makes the screen 0): a total that silently counted "prefer not to
say" as 0 would mislead. A screen's result is worded as a screen, never a diagnosis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from careplans.questionnaires import Question, Questionnaire


@dataclass(frozen=True)
class Score:
    value: int | None
    min: int
    max: int
    band: str | None
    missing: tuple[str, ...]  # questions the score needs that have no value

    @property
    def complete(self) -> bool:
        return self.value is not None


def item_points(question: Question, value: Any) -> int:
    """What one answered item adds: yes is 1, a choice its option's score, a number itself."""
    if question.type == "yes_no":
        return 1 if value else 0
    if question.type == "choice":
        choice = next((c for c in question.options if c.value == str(value)), None)
        if choice is None or choice.score is None:
            raise ValueError(f"{question.code}: {value!r} has no score")
        return choice.score
    return int(value)


def score(questionnaire: Questionnaire, values: dict[str, Any]) -> Score | None:
    """The score of `values` (question code -> answered value; questions answered
    "prefer not to say" or "not now" are absent), or None when the questionnaire has
    no score rule."""
    rule = questionnaire.scoring
    if rule is None:
        return None
    if rule.zero_if is not None and values.get(rule.zero_if.question) == rule.zero_if.equals:
        return Score(rule.min, rule.min, rule.max, band_for(questionnaire, rule.min), ())
    missing = tuple(code for code in rule.questions if values.get(code) is None)
    if missing:
        return Score(None, rule.min, rule.max, None, missing)
    total = sum(item_points(questionnaire.question(code), values[code]) for code in rule.questions)  # type: ignore[arg-type]
    return Score(total, rule.min, rule.max, band_for(questionnaire, total), ())


def band_for(questionnaire: Questionnaire, total: int) -> str | None:
    rule = questionnaire.scoring
    if rule is None:
        return None
    return next((b.label for b in rule.bands if b.low <= total <= b.high), None)
