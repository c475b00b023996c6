"""Assessments: questionnaires and the answers a reader may see."""

from __future__ import annotations

from typing import Any

from careplans import vocab
from careplans.policy import Visibility
from careplans.present_views import View, iso

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
