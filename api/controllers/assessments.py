"""Questionnaires and assessments (JSON API). Routes in ROUTES.

Which answers a caller sees is decided by the policy inside the queries
(careplans.assessments); these handlers only translate HTTP."""

from __future__ import annotations

from litestar import Request, Response, get, patch, post
from sqlalchemy.orm import Session

from api.deps import etag, if_match_version, transact
from api.guards import allow, principal_of
from api.schemas_assessments import AnswerIn, AnswersSave, AssessmentCreate, VisibilityPatch
from careplans import assessments, questionnaires
from careplans.assessments import AnswerInput
from careplans.errors import NotFound
from careplans.present import (
    AnswerCount,
    AssessmentList,
    AssessmentView,
    QuestionnaireSummary,
    QuestionnaireView,
    present_questionnaire,
)
from litestar.params import FromPath, JSONBody
from api.deps import DbSession

QUESTIONNAIRES = allow("questionnaires.read")
ASSESS_READ = allow("assessments.read")
ASSESS_WRITE = allow("assessments.write")
ASSESS_VISIBILITY = allow("assessments.visibility")
COUNTS = allow("audit.events")


def _inputs(answers: list[AnswerIn]) -> list[AnswerInput]:
    return [AnswerInput(question=a.question, value=a.value, status=a.status, visibility=a.visibility)
            for a in answers]


@get("/api/questionnaires", guards=[QUESTIONNAIRES], sync_to_thread=False, tags=["assessments"],
     summary="The questionnaires, with their versions")
def list_questionnaires() -> list[QuestionnaireSummary]:
    return [present_questionnaire(q, full=False) for q in questionnaires.current()]


@get("/api/questionnaires/{code:str}", guards=[QUESTIONNAIRES], sync_to_thread=False, tags=["assessments"],
     summary="One questionnaire with its sections, questions and scoring")
def get_questionnaire(code: FromPath[str]) -> QuestionnaireView:
    q = questionnaires.get(code)
    if q is None:
        raise NotFound("There is no such questionnaire.")
    return present_questionnaire(q)  # type: ignore[return-value]


@get("/api/plans/{plan_id:str}/assessments", guards=[ASSESS_READ], sync_to_thread=True, tags=["assessments"],
     summary="The assessments of a plan, with only the answers the caller may see")
def list_assessments(request: Request, db_session: DbSession, plan_id: FromPath[str]) -> Response[AssessmentList]:
    principal = principal_of(request)
    body = transact(db_session, lambda: assessments.list_assessments(db_session, principal, plan_id))
    return Response(body, headers=etag(body.plan_version))


@post("/api/plans/{plan_id:str}/assessments", guards=[ASSESS_WRITE], sync_to_thread=True, tags=["assessments"],
      summary="Record an assessment (If-Match required); nothing is mandatory")
def create_assessment(request: Request, db_session: DbSession, plan_id: FromPath[str],
                      data: JSONBody[AssessmentCreate]) -> Response[AssessmentView]:
    principal = principal_of(request)
    based_on = if_match_version(request)
    view = transact(db_session, lambda: assessments.start_assessment(
        db_session, principal, plan_id, based_on, data.questionnaire, _inputs(data.answers), stage=data.stage,
        taken_on=data.taken_on, finish=data.finished))
    return Response(view, status_code=201, headers=etag(view.plan_version))


@get("/api/plans/{plan_id:str}/assessments/{assessment_id:str}", guards=[ASSESS_READ], sync_to_thread=True,
     tags=["assessments"], summary="One assessment, with only the answers the caller may see")
def read_assessment(request: Request, db_session: DbSession, plan_id: FromPath[str], assessment_id: FromPath[str]) -> AssessmentView:
    principal = principal_of(request)
    return transact(db_session, lambda: assessments.read_assessment(db_session, principal, plan_id, assessment_id))


@post("/api/plans/{plan_id:str}/assessments/{assessment_id:str}/answers", guards=[ASSESS_WRITE],
      sync_to_thread=True, status_code=200, tags=["assessments"],
      summary="Add or change answers, saving part-way or finishing (If-Match required)")
def save_answers(request: Request, db_session: DbSession, plan_id: FromPath[str], assessment_id: FromPath[str],
                 data: JSONBody[AnswersSave]) -> Response[AssessmentView]:
    principal = principal_of(request)
    based_on = if_match_version(request)
    view = transact(db_session, lambda: assessments.save_answers(
        db_session, principal, plan_id, assessment_id, based_on, _inputs(data.answers), finish=data.finished))
    return Response(view, headers=etag(view.plan_version))


@patch("/api/plans/{plan_id:str}/assessments/{assessment_id:str}/answers/{question:str}",
       guards=[ASSESS_VISIBILITY], sync_to_thread=True, tags=["assessments"],
       summary="The person changes who sees one of their answers (If-Match required; kept and audited)")
def change_visibility(request: Request, db_session: DbSession, plan_id: FromPath[str], assessment_id: FromPath[str], question: FromPath[str],
                      data: JSONBody[VisibilityPatch]) -> Response[AssessmentView]:
    principal = principal_of(request)
    based_on = if_match_version(request)
    view = transact(db_session, lambda: assessments.change_visibility(
        db_session, principal, plan_id, assessment_id, question, data.visibility, based_on))
    return Response(view, headers=etag(view.plan_version))


@get("/api/audit/assessments", guards=[COUNTS], sync_to_thread=True, tags=["audit"],
     summary="How many assessments and answers per questionnaire (never an answer)")
def answer_counts(request: Request, db_session: DbSession) -> list[AnswerCount]:
    principal = principal_of(request)
    return transact(db_session, lambda: assessments.answer_counts(db_session, principal))


ROUTES: list = [list_questionnaires, get_questionnaire, list_assessments, create_assessment, read_assessment,
                save_answers, change_visibility, answer_counts]
