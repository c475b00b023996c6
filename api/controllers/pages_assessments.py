"""Assessments in the browser: start, answer one part at a time, stop and come back,
choose who sees each answer, and outcomes over time.

The kind way is the easy way: every question can be answered "prefer not to say" or
"not now" or simply left (kept as "not now"); a part with a content note shows the note
first, with "skip this part" and "stop for now" beside "carry on"; answers given before
are filled in with when they were given, to confirm or change, never to retell. Who
sees each answer is the policy's rule inside the queries (careplans.assessments): these
handlers never decide it.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

from api.controllers.pages_common import load_plan, page, plain, see_other
from api.deps import transact
from api.forms import LONG_TEXT, Errors, FormData, integer, text
from api.guards import allow, principal_of
from careplans import assessments, policy, questionnaires, queries, vocab
from careplans.assessments import AnswerInput
from careplans.errors import InvalidInput, NotFound, VersionConflict
from careplans.outcome_charts import outcome_charts
from careplans.questionnaires import Question, Questionnaire
from litestar.params import FromPath, FromQuery, PathParameter
from api.deps import DbSession
from typing import Annotated

ASSESS_READ = allow("assessments.read")
ASSESS_WRITE = allow("assessments.write")
ASSESS_VISIBILITY = allow("assessments.visibility")

SAVED = {
    "started": "Your answers are saved as you go. You can stop at any time and carry on later.",
    "stopped": "Your answers so far are saved. You can carry on whenever you are ready, or not at all.",
    "finished": "Thank you. Your answers are saved.",
    "visibility": "Who can see that answer is changed.",
}
VISIBILITY_CHOICES = [{"value": t.code, "text": t.words, "hint": t.hint} for t in vocab.ANSWER_VISIBILITY]


def _plan_context(db: Session, viewer, plan_id: str, audited: bool) -> dict[str, Any]:
    context = load_plan(db, viewer, plan_id, audited=audited)
    context["can_assess"] = policy.may(viewer, "assessments.write")
    return context


# --- the hub: start, carry on, left for later, finished, outcomes ------------------------------------------

@get("/plans/{plan_id:str}/assessments", guards=[ASSESS_READ], sync_to_thread=True, include_in_schema=False)
def hub(request: Request, db_session: DbSession, plan_id: FromPath[str], saved: FromQuery[str | None] = None) -> Template:
    viewer = principal_of(request)

    def work() -> dict[str, Any]:
        listing = assessments.list_assessments(db_session, viewer, plan_id)  # the audited read
        context = _plan_context(db_session, viewer, plan_id, audited=False)
        pid = queries.parse_id(plan_id)
        context["finished"] = [plain(a) for a in listing.items if a.status == "complete"]
        mine = {x["id"]: x["resume_part"] for x in assessments.in_progress(db_session, viewer, pid)}
        context["carry_on"] = [{**plain(a), "resume": mine[a.id] or 1} for a in listing.items
                               if a.status == "in_progress" and a.id in mine]
        context["later"] = assessments.left_for_later(db_session, viewer, pid)
        context["charts"] = outcome_charts(assessments.outcome_series(db_session, viewer, pid))
        return context

    context = transact(db_session, work)
    return page("assessments/hub.html", questionnaires=[plain(_summary(q)) for q in questionnaires.current()],
                stages=vocab.TOP_STAGES, saved=SAVED.get(saved or ""), **context)


def _summary(q: Questionnaire):
    from careplans.present import present_questionnaire

    return present_questionnaire(q, full=False)


@post("/plans/{plan_id:str}/assessments", guards=[ASSESS_WRITE], sync_to_thread=True, include_in_schema=False)
def start(request: Request, db_session: DbSession, plan_id: FromPath[str], data: FormData) -> Redirect | Template:
    viewer = principal_of(request)
    code = text(data, "questionnaire")
    stage = text(data, "stage") or None
    q = questionnaires.get(code)
    if q is None:  # nothing chosen (or an unknown code): back to the list to choose one, if it is theirs
        transact(db_session, lambda: queries.load_current(db_session, viewer, queries.parse_id(plan_id),
                                                          purpose="write"))
        return see_other(f"/plans/{plan_id}/assessments#start")
    if not q.stages:
        stage = None
    based_on = integer(data, "based_on") or 0
    for _ in range(2):  # someone else saved the plan meanwhile: nothing typed yet, so start from theirs
        try:
            view = transact(db_session, lambda: assessments.start_assessment(
                db_session, viewer, plan_id, based_on, q.code, (), stage=stage, finish=False))
            break
        except VersionConflict as exc:
            based_on = exc.current_version
        except InvalidInput:
            return see_other(f"/plans/{plan_id}/assessments#start")
    else:  # pragma: no cover - two conflicts in a row
        return see_other(f"/plans/{plan_id}/assessments")
    return see_other(f"/plans/{plan_id}/assessments/{view.id}/part/1")


# --- one part at a time ------------------------------------------------------------------------------------

def _part_context(db: Session, viewer, plan_id: str, assessment_id: str, n: int, audited: bool) -> dict[str, Any]:
    assessment = plain(assessments.read_assessment(db, viewer, plan_id, assessment_id, audited=audited))
    context = _plan_context(db, viewer, plan_id, audited=False)
    q = questionnaires.get(assessment["questionnaire"], assessment["questionnaire_version"])
    if q is None or not 1 <= n <= len(q.sections):
        raise NotFound("There is no such part of this questionnaire.")
    mine = {a["question"]: a for a in assessment["answers"]}
    before = assessments.carried_forward(db, viewer, queries.parse_id(plan_id), q.code,
                                         before=queries.parse_id(assessment["id"]))
    context.update(assessment=assessment, q=q, n=n, section=q.sections[n - 1], total_parts=len(q.sections),
                   mine=mine, before=before)
    return context


def _values_so_far(mine: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for code, a in mine.items():
        if a["status"] == "answered":
            value = a["value"]
            out[code] = value.get("text") if isinstance(value, dict) else value
    return out


def _next_part(q: Questionnaire, n: int, values: dict[str, Any]) -> int | None:
    """The next part that is asked, given the answers so far (a gate answered "no" skips)."""
    for i in range(n + 1, len(q.sections) + 1):
        if questionnaires.asked(q.sections[i - 1], values):
            return i
    return None


def _form_value(question: Question, answer: dict[str, Any] | None) -> dict[str, Any]:
    """What a question's fields show: a value, or a status, and the visibility."""
    if answer is None:
        return {"value": "", "status": "", "visibility": None, "when": None}
    value = answer["value"]
    if isinstance(value, dict):
        value = value.get("text", "")
    if question.type == "yes_no" and isinstance(value, bool):
        value = "yes" if value else "no"
    return {"value": "" if value is None else str(value), "status": "" if answer["status"] == "answered"
            else answer["status"], "visibility": answer["visibility"], "when": answer["answered_at"]}


def _fields(context: dict[str, Any], viewer) -> list[dict[str, Any]]:
    out = []
    for question in context["section"].questions:
        here = context["mine"].get(question.code)
        earlier = context["before"].get(question.code)
        if earlier is not None and hasattr(earlier.get("answered_at"), "isoformat"):
            earlier = {**earlier, "answered_at": earlier["answered_at"].isoformat()}
        shown = _form_value(question, here or earlier)
        default = assessments._visibility_for(viewer, question.default_visibility, None, "")  # noqa: SLF001
        out.append({"q": question, "shown": shown, "carried": here is None and earlier is not None,
                    "visibility": shown["visibility"] or default})
    return out


def _typed(section, data: dict[str, Any], errors: Errors) -> list[AnswerInput]:
    """The answers in a submitted part. A question left as it is, with nothing chosen, is
    not sent (it stays open, and finishing keeps it as "not now")."""
    out = []
    for question in section.questions:
        code = question.code
        raw = text(data, f"answer-{code}").strip()
        status = text(data, f"status-{code}")
        visibility = text(data, f"visibility-{code}") or None
        if visibility is not None and visibility not in vocab.ANSWER_VISIBILITY:
            visibility = None
        if raw in ("prefer_not_to_say", "not_now") and question.type in ("choice", "yes_no"):
            status, raw = raw, ""
        if status in ("prefer_not_to_say", "not_now"):
            if raw and question.type not in ("choice", "yes_no"):
                errors.add(f"answer-{code}", "You wrote an answer and also chose not to answer. Clear one of them.")
                continue
            out.append(AnswerInput(question=code, status=status, visibility=visibility))
        elif raw:
            if question.type == "text" and len(raw) > LONG_TEXT:
                errors.add(f"answer-{code}", f"An answer must be {LONG_TEXT:,} characters or fewer.")
                continue
            out.append(AnswerInput(question=code, value=raw, visibility=visibility))
    return out


@get("/plans/{plan_id:str}/assessments/{assessment_id:str}/part/{n:int}", guards=[ASSESS_WRITE],
     sync_to_thread=True, include_in_schema=False)
def part(request: Request, db_session: DbSession, plan_id: FromPath[str], assessment_id: FromPath[str], n: Annotated[int, PathParameter(ge=1, le=2**31 - 1)],
         ready: FromQuery[int] = 0) -> Template | Redirect:
    viewer = principal_of(request)
    context = transact(db_session, lambda: _part_context(db_session, viewer, plan_id, assessment_id, n, True))
    section = context["section"]
    if not questionnaires.asked(section, _values_so_far(context["mine"])):
        following = _next_part(context["q"], n, _values_so_far(context["mine"]))
        return see_other(f"/plans/{plan_id}/assessments/{assessment_id}/"
                         + (f"part/{following}" if following else "finish"))
    show_note = bool(section.content_note) and not ready
    return page("assessments/part.html", errors=Errors(), show_note=show_note, fields=_fields(context, viewer),
                based_on=context["plan"]["version"], conflict=False, visibility_choices=VISIBILITY_CHOICES,
                **context)


@post("/plans/{plan_id:str}/assessments/{assessment_id:str}/part/{n:int}", guards=[ASSESS_WRITE],
      sync_to_thread=True, include_in_schema=False)
def save_part(request: Request, db_session: DbSession, plan_id: FromPath[str], assessment_id: FromPath[str], n: Annotated[int, PathParameter(ge=1, le=2**31 - 1)],
              data: FormData) -> Template | Redirect:
    viewer = principal_of(request)
    action = text(data, "action") or "next"
    based_on = integer(data, "based_on") or 0
    context = transact(db_session, lambda: _part_context(db_session, viewer, plan_id, assessment_id, n, False))
    section, q = context["section"], context["q"]
    errors = Errors()
    if action == "skip":
        answers = [AnswerInput(question=x.code, status="not_now") for x in section.questions
                   if x.code not in context["mine"]]
    else:
        answers = _typed(section, data, errors)
    if not errors:
        # Where to carry on after this part, as far as can be known before saving (a gate
        # answered in this part is taken into account).
        values_now = {**_values_so_far(context["mine"]),
                      **{a.question: (a.value == "yes" if a.value in ("yes", "no") else a.value)
                         for a in answers if a.value is not None}}
        resume = _next_part(q, n, values_now) or len(q.sections)
        try:
            view = transact(db_session, lambda: assessments.save_answers(
                db_session, viewer, plan_id, assessment_id, based_on, answers, resume_part=resume))
        except VersionConflict as exc:
            errors.add("based_on", "Someone else saved the plan while you were answering. Your answers are "
                                   "still here: check them and save again.", anchor="questions")
            based_on = exc.current_version
        except InvalidInput as exc:
            for e in exc.errors:
                code = e["field"].split(".")[-1]
                question = q.question(code)
                name = (question.label or question.text) if question else ""
                errors.add(f"answer-{code}", f"{name}: {e['message']}" if question and question.label else e["message"])
        else:
            values = _values_so_far({a.question: plain(a) for a in view.answers})
            following = _next_part(q, n, values)
            if action == "stop":
                return see_other(f"/plans/{plan_id}/assessments?saved=stopped")
            if following is None:
                return see_other(f"/plans/{plan_id}/assessments/{assessment_id}/finish")
            return see_other(f"/plans/{plan_id}/assessments/{assessment_id}/part/{following}")
    # Show the part again with what was typed (nothing is lost).
    fields = _fields(context, viewer)
    for f in fields:
        code = f["q"].code
        f["shown"] = {**f["shown"], "value": text(data, f"answer-{code}"), "status": text(data, f"status-{code}")}
        f["visibility"] = text(data, f"visibility-{code}") or f["visibility"]
    context["plan"]["version"] = based_on
    return page("assessments/part.html", status_code=422 if "based_on" not in errors else 409, errors=errors,
                show_note=False, fields=fields, based_on=based_on, conflict="based_on" in errors,
                visibility_choices=VISIBILITY_CHOICES, **context)


@get("/plans/{plan_id:str}/assessments/{assessment_id:str}/finish", guards=[ASSESS_WRITE], sync_to_thread=True,
     include_in_schema=False)
def finish_page(request: Request, db_session: DbSession, plan_id: FromPath[str], assessment_id: FromPath[str]) -> Template:
    viewer = principal_of(request)

    def work() -> dict[str, Any]:
        assessment = plain(assessments.read_assessment(db_session, viewer, plan_id, assessment_id))
        context = _plan_context(db_session, viewer, plan_id, audited=False)
        q = questionnaires.get(assessment["questionnaire"], assessment["questionnaire_version"])
        context.update(assessment=assessment, q=q)
        return context

    context = transact(db_session, work)
    return page("assessments/finish.html", based_on=context["plan"]["version"], **context)


@post("/plans/{plan_id:str}/assessments/{assessment_id:str}/finish", guards=[ASSESS_WRITE], sync_to_thread=True,
      include_in_schema=False)
def finish(request: Request, db_session: DbSession, plan_id: FromPath[str], assessment_id: FromPath[str], data: FormData) -> Redirect:
    viewer = principal_of(request)
    based_on = integer(data, "based_on") or 0
    for _ in range(2):  # finishing adds no typed words: on a conflict, finish from the newer version
        try:
            transact(db_session, lambda: assessments.save_answers(
                db_session, viewer, plan_id, assessment_id, based_on, (), finish=True))
            break
        except VersionConflict as exc:
            based_on = exc.current_version
    return see_other(f"/plans/{plan_id}/assessments/{assessment_id}?saved=finished")


# --- one assessment, and who sees each answer -------------------------------------------------------------------

@get("/plans/{plan_id:str}/assessments/{assessment_id:str}", guards=[ASSESS_READ], sync_to_thread=True,
     include_in_schema=False)
def view(request: Request, db_session: DbSession, plan_id: FromPath[str], assessment_id: FromPath[str],
         saved: FromQuery[str | None] = None) -> Template:
    viewer = principal_of(request)

    def work() -> dict[str, Any]:
        assessment = plain(assessments.read_assessment(db_session, viewer, plan_id, assessment_id))
        context = _plan_context(db_session, viewer, plan_id, audited=False)
        q = questionnaires.get(assessment["questionnaire"], assessment["questionnaire_version"])
        context.update(assessment=assessment, q=q,
                       sections=[(s, [a for a in assessment["answers"] if a["section"] == s.code])
                                 for s in q.sections])
        return context

    context = transact(db_session, work)
    return page("assessments/view.html", saved=SAVED.get(saved or ""),
                can_change_visibility=policy.may(viewer, "assessments.visibility"), **context)


def _answer_context(db: Session, viewer, plan_id: str, assessment_id: str, question: str,
                    audited: bool) -> dict[str, Any]:
    assessment = plain(assessments.read_assessment(db, viewer, plan_id, assessment_id, audited=audited))
    answer = next((a for a in assessment["answers"] if a["question"] == question), None)
    if answer is None:
        raise NotFound("There is no such answer in this assessment.")
    context = _plan_context(db, viewer, plan_id, audited=False)
    context.update(assessment=assessment, answer=answer)
    return context


@get("/plans/{plan_id:str}/assessments/{assessment_id:str}/answers/{question:str}/visibility",
     guards=[ASSESS_VISIBILITY], sync_to_thread=True, include_in_schema=False)
def visibility_page(request: Request, db_session: DbSession, plan_id: FromPath[str], assessment_id: FromPath[str],
                    question: FromPath[str]) -> Template:
    viewer = principal_of(request)
    context = transact(db_session, lambda: _answer_context(db_session, viewer, plan_id, assessment_id, question, True))
    return page("assessments/visibility.html", errors=Errors(), based_on=context["plan"]["version"],
                visibility_choices=VISIBILITY_CHOICES, **context)


@post("/plans/{plan_id:str}/assessments/{assessment_id:str}/answers/{question:str}/visibility",
      guards=[ASSESS_VISIBILITY], sync_to_thread=True, include_in_schema=False)
def change_visibility(request: Request, db_session: DbSession, plan_id: FromPath[str], assessment_id: FromPath[str], question: FromPath[str],
                      data: FormData) -> Template | Redirect:
    viewer = principal_of(request)
    chosen = text(data, "visibility")
    based_on = integer(data, "based_on") or 0
    errors = Errors()
    if chosen not in vocab.ANSWER_VISIBILITY:
        errors.add("visibility", "Choose who can see this answer.")
    else:
        for _ in range(2):  # a choice, not typed words: on a conflict, apply it to the newer version
            try:
                transact(db_session, lambda: assessments.change_visibility(
                    db_session, viewer, plan_id, assessment_id, question, chosen, based_on))
                return see_other(f"/plans/{plan_id}/assessments/{assessment_id}?saved=visibility#answer-{question}")
            except VersionConflict as exc:
                based_on = exc.current_version
    context = transact(db_session, lambda: _answer_context(db_session, viewer, plan_id, assessment_id, question,
                                                           False))
    return page("assessments/visibility.html", status_code=422, errors=errors, based_on=context["plan"]["version"],
                visibility_choices=VISIBILITY_CHOICES, **context)


ROUTES = [hub, start, part, save_part, finish_page, finish, view, visibility_page, change_visibility]
