"""Assessments: answering questionnaires with the person, and reading the answers each
reader may see.

Who sees an answer is the person's choice, stored on the answer row and read by the
policy (`careplans.policy.answer_scope`) inside every query here: an answer outside a
reader's scope is never loaded, so it cannot leak through a page, the API, a chart, a
score or a copy. The plan itself is reached through `plan_scope` in the same query
(404 outside it). Every read is audited once; every write carries the plan version it
was based on (If-Match), makes a new plan version whose stored change names no answer,
and is audited in the same transaction.

Functions other parts call:
- `shareable_answers(db, plan_id, audience, up_to_version)`: answers that may go into a
  copy for that audience (PDF shares, exports): only those marked `shareable`.
- `latest_top_review_dates(db, plan_ids=None)`: the date of the latest TOP at review
  stage per plan (auditor reports: "a TOP review within 6 months").
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable

import msgspec
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from careplans import audit, policy, questionnaires, versions, vocab
from careplans import changes as ch
from careplans.errors import InvalidInput, NotFound, VersionConflict
from careplans.models import AnswerVisibilityChange, Assessment, AssessmentAnswer, Plan, PlanVersion, utcnow
from careplans.policy import Principal
from careplans.present import (
    AnswerCount,
    AssessmentList,
    AssessmentView,
    iso,
    present_assessment,
)
from careplans.queries import actor, load_current, parse_id, reader_of, snapshot
from careplans.questionnaires import Questionnaire, check_value

ANSWER_STATUSES = ("prefer_not_to_say", "not_now")


@dataclass(frozen=True)
class AnswerInput:
    """One answer as sent: a value, or a status, and optionally who may see it."""

    question: str
    value: Any = None
    status: str | None = None
    visibility: str | None = None


def _questionnaire(code: str, field: str = "questionnaire", version: int | None = None) -> Questionnaire:
    q = questionnaires.get(code, version)
    if q is None:
        raise InvalidInput(field, f"There is no questionnaire called “{code}”.")
    return q


def _visibility_for(principal: Principal, question_default: str, requested: str | None, field: str) -> str:
    if requested is not None:
        if requested not in vocab.ANSWER_VISIBILITY:
            raise InvalidInput(field, "Choose who can see this answer: only_me, me_and_keyworker, care_team "
                                      "or shareable.")
        return requested
    # The more private of the question's default and the most private level that still
    # includes the person typing.
    levels = policy.ANSWER_LEVELS
    typist = policy.default_answer_visibility(principal)
    return levels[max(levels.index(typist), levels.index(question_default))]


def check_answers(q: Questionnaire, answers: Iterable[AnswerInput], principal: Principal) -> list[dict[str, Any]]:
    """The answers in stored form, or InvalidInput naming the first bad one (422)."""
    out, seen = [], set()
    for i, a in enumerate(answers):
        field = f"answers.{i}.{a.question}" if a.question else f"answers.{i}.question"
        question = q.question(a.question)
        if question is None:
            raise InvalidInput(f"answers.{i}.question", f"“{a.question}” is not a question in {q.title}.")
        if a.question in seen:
            raise InvalidInput(field, "Each question can be answered once in an assessment.")
        seen.add(a.question)
        if a.status is not None and a.value is not None:
            raise InvalidInput(field, "Send a value or a status (prefer_not_to_say, not_now), not both.")
        if a.status is not None:
            if a.status not in ANSWER_STATUSES:
                raise InvalidInput(field, "status is prefer_not_to_say or not_now.")
            status, value = a.status, None
        elif a.value is None:
            raise InvalidInput(field, "Send a value, or the status prefer_not_to_say or not_now.")
        else:
            status, value = "answered", check_value(question, a.value, field)
        out.append({"question": a.question, "status": status, "value": value,
                    "visibility": _visibility_for(principal, question.default_visibility, a.visibility,
                                                  f"answers.{i}.visibility")})
    return out


# --- writing -------------------------------------------------------------------------------------------

def _bump(db: Session, principal: Principal, plan: Plan, current: PlanVersion, based_on: int,
          change: ch.Change, action: str, detail: dict[str, Any]) -> int:
    """A new plan version for a change to assessments. The plan document is unchanged
    (answers live in their own rows); the stored change names the assessment, never an
    answer, question or visibility level."""
    if plan.version != based_on:
        audit.record(db, actor(principal), "plan.write_refused", plan_id=plan.id, client_id=plan.client_id,
                     detail={"version": plan.version, "based_on": based_on, "attempted": action})
        from careplans.present import present

        vis, _ = reader_of(principal)
        raise VersionConflict(plan.version, based_on,
                              present(snapshot(plan, current, content=versions.document_of(db, current)), vis))
    number = plan.version + 1
    now = utcnow()
    result = db.execute(update(Plan).where(Plan.id == plan.id, Plan.version == based_on)
                        .values(version=number, updated_at=now).execution_options(synchronize_session=False))
    if result.rowcount != 1:  # pragma: no cover - guarded by the row lock
        raise VersionConflict(plan.version, based_on, {})
    db.add(PlanVersion(plan_id=plan.id, number=number, author_id=principal.id, author_role=principal.role,
                       author_name=principal.name, created_at=now, content=current.content,
                       fingerprint=current.fingerprint, fingerprint_scheme=current.fingerprint_scheme,
                       check_ins=current.check_ins, check_in_chain=current.check_in_chain, changed_paths=[f"assessments[{change.item}]"],
                       changes=ch.to_stored([change])))
    audit.record(db, actor(principal), action, plan_id=plan.id, client_id=plan.client_id,
                 detail={"version": number, "fingerprint": current.fingerprint, **detail})
    return number


def _write_answers(db: Session, principal: Principal, assessment: Assessment, answers: list[dict[str, Any]],
                   now: dt.datetime) -> None:
    existing = {a.question: a for a in db.execute(
        select(AssessmentAnswer).where(AssessmentAnswer.assessment_id == assessment.id)).scalars()}
    for a in answers:
        stored = json.dumps(a["value"]) if a["status"] == "answered" else None
        row = existing.get(a["question"])
        if row is None:
            db.add(AssessmentAnswer(assessment_id=assessment.id, plan_id=assessment.plan_id, question=a["question"],
                                    status=a["status"], value=stored, visibility=a["visibility"], answered_at=now,
                                    answered_by=principal.id, answered_role=principal.role,
                                    answered_by_name=principal.name))
        elif (row.status, row.value, row.visibility) != (a["status"], stored, a["visibility"]):
            row.status, row.value, row.visibility = a["status"], stored, a["visibility"]
            row.answered_at, row.answered_by, row.answered_role = now, principal.id, principal.role
            row.answered_by_name = principal.name


def _fill_unanswered(q: Questionnaire, assessment_id: uuid.UUID, db: Session, principal: Principal) -> list[dict[str, Any]]:
    """On finishing, every question asked and not answered is kept as "not now": a
    stored answer that the next review offers again, never a blank."""
    rows = {r.question: r for r in db.execute(
        select(AssessmentAnswer).where(AssessmentAnswer.assessment_id == assessment_id)).scalars()}
    values = {k: json.loads(r.value) for k, r in rows.items() if r.status == "answered" and r.value is not None}
    out = []
    for section in q.sections:
        if not questionnaires.asked(section, values):
            continue
        for question in section.questions:
            if question.code not in rows:
                out.append({"question": question.code, "status": "not_now", "value": None,
                            "visibility": _visibility_for(principal, question.default_visibility, None, "")})
    return out


def start_assessment(db: Session, principal: Principal, plan_id: str | uuid.UUID, based_on: int, questionnaire: str,
                     answers: Iterable[AnswerInput] = (), *, stage: str | None = None,
                     taken_on: dt.date | None = None, finish: bool = True) -> AssessmentView:
    """A new assessment with its answers (none is required). `finish=False` saves it
    part-way, to carry on later."""
    policy.require(principal, "assessments.write")
    q = _questionnaire(questionnaire)
    if q.stages:
        if stage not in q.stages:
            raise InvalidInput("stage", f"Say which stage this {q.title} is: {', '.join(q.stages)}.")
    elif stage is not None:
        raise InvalidInput("stage", f"{q.title} has no stages.")
    checked = check_answers(q, answers, principal)
    plan, current = load_current(db, principal, parse_id(plan_id), purpose="write", lock=True)
    now = utcnow()
    assessment = Assessment(id=uuid.uuid4(), plan_id=plan.id, questionnaire=q.code, questionnaire_version=q.version,
                            stage=stage, status="in_progress", taken_on=taken_on or now.date(), started_at=now,
                            updated_at=now, recorded_by=principal.id, recorded_role=principal.role,
                            plan_version=based_on + 1)
    change = ch.Change(section="assessments", kind="added", item=str(assessment.id),
                       after={"questionnaire": q.code, "stage": stage, "finished": finish})
    number = _bump(db, principal, plan, current, based_on, change, "assessment.create",
                   {"assessment_id": str(assessment.id), "questionnaire": q.code, "answers": len(checked)})
    assessment.plan_version = number
    db.add(assessment)
    db.flush()
    _write_answers(db, principal, assessment, checked, now)
    db.flush()
    if finish:
        _finish(db, principal, q, assessment, now)
    db.flush()
    return read_assessment(db, principal, plan.id, assessment.id, audited=False)


def _finish(db: Session, principal: Principal, q: Questionnaire, assessment: Assessment, now: dt.datetime) -> None:
    _write_answers(db, principal, assessment, _fill_unanswered(q, assessment.id, db, principal), now)
    assessment.status = "complete"
    assessment.completed_at = now


def _load_assessment(db: Session, principal: Principal, plan_id: uuid.UUID, assessment_id: str | uuid.UUID,
                     purpose: policy.PlanPurpose = "read") -> Assessment:
    aid = parse_id(assessment_id, "assessment")
    row = db.execute(select(Assessment).join(Plan, Plan.id == Assessment.plan_id)
                     .where(Assessment.id == aid, Assessment.plan_id == plan_id,
                            policy.plan_scope(principal, purpose))).scalar_one_or_none()
    if row is None:
        raise NotFound("There is no such assessment.")
    return row


def save_answers(db: Session, principal: Principal, plan_id: str | uuid.UUID, assessment_id: str | uuid.UUID,
                 based_on: int, answers: Iterable[AnswerInput] = (), *, finish: bool = False,
                 resume_part: int | None = None) -> AssessmentView:
    """Add or change answers of an assessment (saving part-way, or confirming answers
    carried forward), and optionally finish it. A finished assessment can still have
    answers added or changed by the person, never silently."""
    policy.require(principal, "assessments.write")
    plan, current = load_current(db, principal, parse_id(plan_id), purpose="write", lock=True)
    assessment = _load_assessment(db, principal, plan.id, assessment_id, "write")
    q = _questionnaire(assessment.questionnaire, version=assessment.questionnaire_version)
    checked = check_answers(q, answers, principal)
    # A keyworker cannot overwrite an answer they may not see (the client kept it to themselves).
    if principal.role != policy.CLIENT and checked:
        hidden = set(db.execute(select(AssessmentAnswer.question).where(
            AssessmentAnswer.assessment_id == assessment.id,
            AssessmentAnswer.question.in_([a["question"] for a in checked]),
            ~policy.answer_scope(policy.audience_of(principal)))).scalars())
        checked = [a for a in checked if a["question"] not in hidden]
    now = utcnow()
    change = ch.Change(section="assessments", kind="changed", item=str(assessment.id),
                       after={"questionnaire": q.code, "stage": assessment.stage,
                              "finished": finish or assessment.status == "complete"})
    number = _bump(db, principal, plan, current, based_on, change, "assessment.update",
                   {"assessment_id": str(assessment.id), "questionnaire": q.code, "answers": len(checked)})
    _write_answers(db, principal, assessment, checked, now)
    db.flush()
    if finish and assessment.status != "complete":
        _finish(db, principal, q, assessment, now)
    assessment.updated_at = now
    assessment.plan_version = number
    if resume_part is not None:
        assessment.resume_part = resume_part
    db.flush()
    return read_assessment(db, principal, plan.id, assessment.id, audited=False)


def change_visibility(db: Session, principal: Principal, plan_id: str | uuid.UUID, assessment_id: str | uuid.UUID,
                      question: str, visibility: str, based_on: int) -> AssessmentView:
    """The person narrows or widens who sees one of their answers. Kept and audited."""
    policy.require(principal, "assessments.visibility")
    if visibility not in vocab.ANSWER_VISIBILITY:
        raise InvalidInput("visibility", "Choose who can see this answer: only_me, me_and_keyworker, care_team "
                                         "or shareable.")
    plan, current = load_current(db, principal, parse_id(plan_id), purpose="write", lock=True)
    assessment = _load_assessment(db, principal, plan.id, assessment_id, "write")
    answer = db.execute(select(AssessmentAnswer).where(
        AssessmentAnswer.assessment_id == assessment.id, AssessmentAnswer.question == question,
        policy.answer_scope(policy.audience_of(principal)))).scalar_one_or_none()
    if answer is None:
        raise NotFound("There is no such answer in this assessment.")
    number = plan.version
    if answer.visibility != visibility:
        change = ch.Change(section="assessments", kind="changed", field="visibility", item=str(assessment.id))
        number = _bump(db, principal, plan, current, based_on, change, "assessment.visibility",
              {"assessment_id": str(assessment.id), "answer_id": str(answer.id)})
        db.add(AnswerVisibilityChange(answer_id=answer.id, plan_id=plan.id, before=answer.visibility,
                                      after=visibility, changed_by=principal.id, changed_at=utcnow()))
        answer.visibility = visibility
        db.flush()
    view = read_assessment(db, principal, plan.id, assessment.id, audited=False)
    return msgspec.structs.replace(view, plan_version=number)


# --- reading ---------------------------------------------------------------------------------------------

def _assessment_dict(a: Assessment) -> dict[str, Any]:
    return {"id": str(a.id), "plan_id": str(a.plan_id), "stage": a.stage, "status": a.status,
            "taken_on": a.taken_on.isoformat(), "started_at": a.started_at, "updated_at": a.updated_at,
            "recorded_role": a.recorded_role, "plan_version": a.plan_version,
            "questionnaire": a.questionnaire, "questionnaire_version": a.questionnaire_version,
            "resume_part": a.resume_part}


def _answer_dict(r: AssessmentAnswer) -> dict[str, Any]:
    return {"question": r.question, "status": r.status,
            "value": json.loads(r.value) if r.value is not None else None, "visibility": r.visibility,
            "answered_at": r.answered_at, "by_role": r.answered_role, "by_name": r.answered_by_name,
            "assessment_id": str(r.assessment_id)}


def _visible_answers(db: Session, assessment_ids: list[uuid.UUID], audience: str | None, *, copy: bool = False,
                     extra: Any = None) -> dict[str, list[dict[str, Any]]]:
    """Answers of these assessments that the audience may read: filtered in the query."""
    if not assessment_ids:
        return {}
    stmt = select(AssessmentAnswer).where(AssessmentAnswer.assessment_id.in_(assessment_ids),
                                          policy.answer_scope(audience, copy=copy))
    if extra is not None:
        stmt = stmt.where(extra)
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in db.execute(stmt).scalars():
        out[str(r.assessment_id)].append(_answer_dict(r))
    return out


def _present_all(rows: list[Assessment], answers: dict[str, list[dict[str, Any]]], vis: policy.Visibility,
                 keep_empty: bool) -> list[AssessmentView]:
    out = []
    for a in rows:
        mine = answers.get(str(a.id), [])
        if not mine and not keep_empty:
            continue  # absent, not blanked: a reader who may see none of its answers does not see it
        q = questionnaires.get(a.questionnaire, a.questionnaire_version)
        if q is None:  # pragma: no cover - a questionnaire version is never removed
            continue
        out.append(present_assessment(_assessment_dict(a), mine, q, vis))
    return out


def _shows_empty(principal: Principal, a: Assessment) -> bool:
    """Whoever started an assessment sees it while it has no answers yet (to carry on)."""
    return a.recorded_by == principal.id


def list_assessments(db: Session, principal: Principal, plan_id: str | uuid.UUID, *,
                     audited: bool = True) -> AssessmentList:
    policy.require(principal, "assessments.read")
    plan, _ = load_current(db, principal, parse_id(plan_id))
    vis, _ = reader_of(principal)
    rows = list(db.execute(select(Assessment).where(Assessment.plan_id == plan.id)
                           .order_by(Assessment.taken_on.desc(), Assessment.started_at.desc())).scalars())
    answers = _visible_answers(db, [a.id for a in rows], policy.audience_of(principal))
    items = [v for a in rows for v in _present_all([a], answers, vis, _shows_empty(principal, a))]
    if audited:
        audit.record(db, actor(principal), "assessments.read", plan_id=plan.id, client_id=plan.client_id,
                     detail={"version": plan.version, "assessments": len(items)})
    return AssessmentList(items=items, plan_version=plan.version)


def read_assessment(db: Session, principal: Principal, plan_id: str | uuid.UUID, assessment_id: str | uuid.UUID,
                    *, audited: bool = True) -> AssessmentView:
    policy.require(principal, "assessments.read")
    plan, _ = load_current(db, principal, parse_id(plan_id))
    a = _load_assessment(db, principal, plan.id, assessment_id)
    vis, _ = reader_of(principal)
    answers = _visible_answers(db, [a.id], policy.audience_of(principal))
    views = _present_all([a], answers, vis, _shows_empty(principal, a))
    if not views:
        raise NotFound("There is no such assessment.")
    if audited:
        audit.record(db, actor(principal), "assessment.read", plan_id=plan.id, client_id=plan.client_id,
                     detail={"version": plan.version, "assessment_id": str(a.id)})
    return views[0]


def carried_forward(db: Session, principal: Principal, plan_id: uuid.UUID, questionnaire: str,
                    before: uuid.UUID | None = None) -> dict[str, dict[str, Any]]:
    """The person's latest answer to each question of this questionnaire that this
    reader may see, with when it was given: a new assessment starts from these, so
    nobody retells their story. Call inside a read that is already audited."""
    stmt = (select(AssessmentAnswer).join(Assessment, Assessment.id == AssessmentAnswer.assessment_id)
            .join(Plan, Plan.id == Assessment.plan_id)
            .where(Assessment.plan_id == plan_id, Assessment.questionnaire == questionnaire,
                   policy.plan_scope(principal), policy.answer_scope(policy.audience_of(principal)))
            .order_by(AssessmentAnswer.answered_at))
    if before is not None:
        stmt = stmt.where(Assessment.id != before)
    latest: dict[str, dict[str, Any]] = {}
    for r in db.execute(stmt).scalars():
        latest[r.question] = _answer_dict(r)
    return latest


def left_for_later(db: Session, principal: Principal, plan_id: uuid.UUID) -> list[dict[str, Any]]:
    """Questions whose latest answer is "not now", that this reader may see: the review
    page offers them again, gently. Call inside a read that is already audited."""
    stmt = (select(AssessmentAnswer, Assessment.questionnaire, Assessment.questionnaire_version)
            .join(Assessment, Assessment.id == AssessmentAnswer.assessment_id)
            .join(Plan, Plan.id == Assessment.plan_id)
            .where(Assessment.plan_id == plan_id, policy.plan_scope(principal),
                   policy.answer_scope(policy.audience_of(principal)))
            .order_by(AssessmentAnswer.answered_at))
    latest: dict[tuple[str, str], tuple[AssessmentAnswer, int]] = {}
    for r, code, version in db.execute(stmt).all():
        latest[(code, r.question)] = (r, version)
    out = []
    for (code, question), (r, version) in latest.items():
        if r.status != "not_now":
            continue
        q = questionnaires.get(code, version)
        item = q.question(question) if q else None
        if item is None:
            continue
        out.append({"questionnaire": code, "title": q.title, "question": question, "text": item.text,
                    "since": iso(r.answered_at), "assessment_id": str(r.assessment_id)})
    return out


def in_progress(db: Session, principal: Principal, plan_id: uuid.UUID) -> list[dict[str, Any]]:
    """Assessments saved part-way that this person started (to carry on)."""
    rows = db.execute(select(Assessment).join(Plan, Plan.id == Assessment.plan_id).where(
        Assessment.plan_id == plan_id, Assessment.status == "in_progress", Assessment.recorded_by == principal.id,
        policy.plan_scope(principal))).scalars()
    return [_assessment_dict(a) for a in rows]


# --- outcomes over time (charts) ----------------------------------------------------------------------------

def outcome_series(db: Session, principal: Principal, plan_id: uuid.UUID) -> dict[str, Any]:
    """TOP (days used per substance, the three self-ratings) and BARC-10 totals over
    time, from the answers this reader may see only. Call inside an audited read."""
    vis, _ = reader_of(principal)
    rows = list(db.execute(select(Assessment).join(Plan, Plan.id == Assessment.plan_id).where(
        Assessment.plan_id == plan_id, Assessment.questionnaire.in_(["top", "barc10"]),
        Assessment.status == "complete", policy.plan_scope(principal)).order_by(Assessment.taken_on)).scalars())
    answers = _visible_answers(db, [a.id for a in rows], policy.audience_of(principal))
    return outcome_series_from(rows, answers, vis)


def outcome_series_from(rows: list[Assessment], answers: dict[str, list[dict[str, Any]]],
                        vis: policy.Visibility) -> dict[str, Any]:
    """Chart series from assessments and their visible answers (pure; the PDF reuses it)."""
    days: dict[str, list[dict[str, Any]]] = defaultdict(list)
    ratings: dict[str, list[dict[str, Any]]] = defaultdict(list)
    barc: list[dict[str, Any]] = []
    labels: dict[str, str] = {}
    for view in _present_all(rows, answers, vis, keep_empty=False):
        q = questionnaires.get(view.questionnaire, view.questionnaire_version)
        point_label = view.stage_words or ""
        if view.questionnaire == "barc10":
            if view.score is not None and view.score.value is not None:
                barc.append({"date": view.taken_on, "value": view.score.value, "label": point_label})
            continue
        for ans in view.answers:
            question = q.question(ans.question) if q else None
            if question is None or ans.status != "answered" or question.chart is None:
                continue
            labels[ans.question] = question.label or question.text
            target = days if question.chart == "days_used" else ratings
            target[ans.question].append({"date": view.taken_on, "value": ans.value, "label": point_label})
    return {
        "days_used": [{"code": k, "label": labels[k], "points": v} for k, v in days.items()],
        "ratings": [{"code": k, "label": labels[k], "points": v} for k, v in ratings.items()],
        "barc10": barc,
    }


# --- for other parts: copies, reports -------------------------------------------------------------------------

def shareable_answers(db: Session, plan_id: str | uuid.UUID, audience: str,
                      up_to_version: int | None = None) -> list[AssessmentView]:
    """Answers that may go into a copy of the plan for `audience` (gp, pharmacy, custom,
    or client for the person's own copy): only answers the person marked `shareable`,
    and none for an audience the policy gives no answers (pharmacy). Filtered in SQL.

    The caller has already checked that whoever makes the copy may read the plan (its
    own `plan_scope` query or a live share token); this reads no plan content. With
    `up_to_version`, assessments saved after that plan version are left out. Read as part
    of the copy's own audited read."""
    pid = parse_id(plan_id)
    stmt = select(Assessment).where(Assessment.plan_id == pid, Assessment.status == "complete")
    if up_to_version is not None:
        stmt = stmt.where(Assessment.plan_version <= up_to_version)
    rows = list(db.execute(stmt.order_by(Assessment.taken_on)).scalars())
    answers = _visible_answers(db, [a.id for a in rows], audience, copy=True)
    return _present_all(rows, answers, policy.visibility(audience), keep_empty=False)


def latest_top_review_dates(db: Session, plan_ids: Iterable[uuid.UUID] | None = None) -> dict[str, dt.date]:
    """Plan id → the date of its latest TOP at review stage (finished). Plans with none
    are absent. No answer is read: only that a review TOP was done, and when."""
    stmt = (select(Assessment.plan_id, func.max(Assessment.taken_on))
            .where(Assessment.questionnaire == "top", Assessment.stage == "review", Assessment.status == "complete")
            .group_by(Assessment.plan_id))
    if plan_ids is not None:
        stmt = stmt.where(Assessment.plan_id.in_(list(plan_ids)))
    return {str(pid): taken for pid, taken in db.execute(stmt).all()}


def latest_top_review_of(plan_id_column):
    """The same for one plan, as a correlated scalar subquery (per row, by the plan_id
    index): for a report query that reads a page of plans without a list of their ids."""
    return (select(func.max(Assessment.taken_on))
            .where(Assessment.plan_id == plan_id_column, Assessment.questionnaire == "top",
                   Assessment.stage == "review", Assessment.status == "complete")
            .scalar_subquery())


def latest_top_review_subquery():
    """The same as a subquery (plan_id, last_top_review) to join in a report query."""
    return (select(Assessment.plan_id.label("plan_id"), func.max(Assessment.taken_on).label("last_top_review"))
            .where(Assessment.questionnaire == "top", Assessment.stage == "review", Assessment.status == "complete")
            .group_by(Assessment.plan_id).subquery())


def answer_counts(db: Session, principal: Principal) -> list[AnswerCount]:
    """For auditors: how many assessments and answers per questionnaire; never an answer."""
    policy.require(principal, "audit.events")
    rows = db.execute(
        select(Assessment.questionnaire, func.count(func.distinct(Assessment.id)), func.count(AssessmentAnswer.id))
        .join(AssessmentAnswer, AssessmentAnswer.assessment_id == Assessment.id, isouter=True)
        .group_by(Assessment.questionnaire).order_by(Assessment.questionnaire)).all()
    audit.record(db, actor(principal), "assessments.counts.read", detail={"questionnaires": len(rows)})
    return [AnswerCount(questionnaire=code, assessments=n, answers=m) for code, n, m in rows]
