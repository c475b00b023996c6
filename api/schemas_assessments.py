"""Request bodies for assessments (API.md, "Assessments"). Unknown fields are refused."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from msgspec import Meta

from api.schemas import Input
from careplans import vocab

Visibility = vocab.ANSWER_VISIBILITY.literal()
AnswerValue = Annotated[str, Meta(max_length=4000)] | int | bool


class AnswerIn(Input):
    """One answer: a `value`, or a `status` of prefer_not_to_say or not_now; and who may see it."""

    question: Annotated[str, Meta(min_length=1, max_length=64)]
    value: AnswerValue | None = None
    status: Literal["prefer_not_to_say", "not_now"] | None = None
    visibility: Visibility | None = None  # type: ignore[valid-type]


class AssessmentCreate(Input):
    questionnaire: Annotated[str, Meta(min_length=1, max_length=40)]
    answers: Annotated[list[AnswerIn], Meta(max_length=200)] = []
    stage: Literal["start", "review", "exit"] | None = None
    taken_on: dt.date | None = None
    finished: bool = True  # false: saved part-way, to carry on later


class AnswersSave(Input):
    answers: Annotated[list[AnswerIn], Meta(max_length=200)] = []
    finished: bool = False


class VisibilityPatch(Input):
    visibility: Visibility  # type: ignore[valid-type]
