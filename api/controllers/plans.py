"""Plans, their history, goals, check-ins and agreement."""

from __future__ import annotations

from typing import Annotated

import msgspec
from anyio import to_thread
from litestar import Request, Response, get, patch, post
from litestar.enums import MediaType
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from api.deps import etag, if_match_version, retryable, transact
from api.read_audit import audited, current_plan
from api.guards import ACCESS_LOG, READERS, SIGNERS, WRITERS, get_route, post_route, principal_of
from api.schemas import AccessLog, AgreementCreate, CheckInCreate, GoalCreate, GoalPatch, PlanPatch, to_plain
from careplans import checkin_write, commands, plan_history, queries, rawsql
from careplans.policy import Principal
from careplans.present import CheckInResult, DiffView, GoalResult, PlanVersionView, PlanView, VersionEntry
from careplans.services import goals
from litestar.params import FromPath, JSONBody, PathParameter, QueryParameter
from api.deps import DbSession


@get_route("/api/plans/{plan_id:str}", guards=[READERS], tags=["plans"], summary="Read a plan",
           opt={"fast_read": True})  # its ordinary case is answered in front of the stack: api/fast_read.py
async def read_plan(request: Request, plan_id: FromPath[str]) -> Response[PlanView]:
    """The plan's revision in one statement on the event loop (careplans.reading; SQLite inline,
    PostgreSQL by the async driver), the cached view if that revision's is held, then the
    read's audit row by group commit: the answer leaves only once that row has committed."""
    read, event = await current_plan(request, principal_of(request), plan_id)
    await audited(request, event)
    # The body was encoded once, when the view was presented (reading.Presented).
    return Response(read.body, media_type=MediaType.JSON, headers=etag(read.view.version))


@patch("/api/plans/{plan_id:str}", guards=[WRITERS], sync_to_thread=True, tags=["plans"],
       summary="Change about me, staying safe or the next review date")
def patch_plan(request: Request, db_session: DbSession, plan_id: FromPath[str], data: JSONBody[PlanPatch]) -> Response[PlanView]:
    principal = principal_of(request)
    based_on = if_match_version(request)
    body = to_plain(data)
    result = transact(db_session, lambda: goals.patch_plan(
        db_session, principal, plan_id, based_on, body.get("about_me"), body.get("staying_safe"),
        body.get("next_review_date", goals.NOT_SENT), body.get("substances", goals.NOT_SENT)))
    return Response(result.plan, headers=etag(result.version))


@get("/api/plans/{plan_id:str}/versions", guards=[READERS], sync_to_thread=True, tags=["plans"],
     summary="Version history, with what changed in plain words")
def list_versions(request: Request, db_session: DbSession, plan_id: FromPath[str]) -> list[VersionEntry]:
    principal = principal_of(request)
    return transact(db_session, lambda: plan_history.list_versions(db_session, principal, plan_id))


@get("/api/plans/{plan_id:str}/versions/{number:int}", guards=[READERS], sync_to_thread=True, tags=["plans"],
     summary="The plan as it was at one version")
def get_version(request: Request, db_session: DbSession, plan_id: FromPath[str], number: Annotated[int, PathParameter(ge=1, le=2**31 - 1)]) -> Response[PlanVersionView]:
    principal = principal_of(request)
    view = transact(db_session, lambda: plan_history.get_version(db_session, principal, plan_id, number))
    return Response(view, headers=etag(view.version))


@get("/api/plans/{plan_id:str}/diff", guards=[READERS], sync_to_thread=True, tags=["plans"],
     summary="What changed between two versions, in plain words")
def diff(
    request: Request,
    db_session: DbSession,
    plan_id: FromPath[str],
    from_version: Annotated[int, QueryParameter(name="from", ge=1, le=2**31 - 1)],
    to_version: Annotated[int, QueryParameter(name="to", ge=1, le=2**31 - 1)],
) -> DiffView:
    principal = principal_of(request)
    return transact(db_session, lambda: plan_history.diff_versions(db_session, principal, plan_id, from_version,
                                                              to_version))


@post("/api/plans/{plan_id:str}/goals", guards=[WRITERS], sync_to_thread=True, tags=["goals"],
      summary="Add a goal")
def create_goal(request: Request, db_session: DbSession, plan_id: FromPath[str], data: JSONBody[GoalCreate]) -> Response[GoalResult]:
    principal = principal_of(request)
    based_on = if_match_version(request)
    result, goal = transact(db_session, lambda: goals.add_goal(db_session, principal, plan_id, based_on,
                                                               to_plain(data)))
    return Response(goal, status_code=201, headers=etag(result.version))


@patch("/api/plans/{plan_id:str}/goals/{goal_id:str}", guards=[WRITERS], sync_to_thread=True, tags=["goals"],
       summary="Change a goal")
def update_goal(request: Request, db_session: DbSession, plan_id: FromPath[str], goal_id: FromPath[str],
                data: JSONBody[GoalPatch]) -> Response[GoalResult]:
    principal = principal_of(request)
    based_on = if_match_version(request)
    result, goal = transact(db_session, lambda: goals.update_goal(
        db_session, principal, plan_id, goal_id, based_on, to_plain(data)))
    return Response(goal, headers=etag(result.version))


@post_route("/api/plans/{plan_id:str}/goals/{goal_id:str}/check-ins", guards=[WRITERS],
            tags=["goals"], summary="Add a progress check-in (0 to 10)")
async def create_check_in(request: Request, plan_id: FromPath[str], goal_id: FromPath[str],
                          data: JSONBody[CheckInCreate]) -> Response[CheckInResult]:
    """The ordinary check-in in one short transaction on the driver's connection
    (careplans.checkin_write): on SQLite on the event loop, group-committed with the other
    check-ins of the loop's turn, when the write lock is free at once; else in one hop to the
    thread pool (it may wait for the write lock); anything out of the ordinary takes the
    general path (services.goals)."""
    principal = principal_of(request)
    based_on = if_match_version(request)
    engine = request.app.state.engine
    fast = True
    if engine.dialect.name == "sqlite":
        try:
            done = await checkin_write.add_on_loop(engine, principal, plan_id, goal_id, based_on, data.rating,
                                                   data.note)
        except rawsql.Busy:
            done = None  # the lock is held elsewhere: wait for it in a thread
        else:
            if done is None:
                fast = False  # not the ordinary case: nothing written, the general path answers
        if done is not None:
            return _created(*done)
    return _created(*await to_thread.run_sync(_check_in, engine, principal, plan_id, goal_id, based_on, data.rating,
                                              data.note, fast))


def _created(version: int, check_in: CheckInResult) -> Response[CheckInResult]:
    """201 with the check-in, encoded here (the bytes Litestar's encoder makes of it)."""
    return Response(msgspec.json.encode(check_in), media_type=MediaType.JSON, status_code=201,
                    headers=etag(version))


def _check_in(engine: Engine, principal: Principal, plan_id: str, goal_id: str, based_on: int, rating: int,
              note: str | None, fast: bool = True) -> tuple[int, CheckInResult]:
    done = None
    if fast:
        try:
            done = checkin_write.add_now(engine, principal, plan_id, goal_id, based_on, rating, note)
        except DBAPIError as exc:
            if not retryable(exc):
                raise
            done = None  # the general path retries it
    if done is not None:
        return done
    with Session(engine, expire_on_commit=False) as db:
        result, check_in = transact(db, lambda: goals.add_check_in(db, principal, plan_id, goal_id, based_on,
                                                                   rating, note))
    return result.version, check_in


@post("/api/plans/{plan_id:str}/agreements", guards=[SIGNERS], sync_to_thread=True, tags=["agreement"],
      summary="Sign this exact version of the plan")
def sign(request: Request, db_session: DbSession, plan_id: FromPath[str], data: JSONBody[AgreementCreate]) -> Response[PlanView]:
    principal = principal_of(request)
    view = transact(db_session, lambda: commands.sign_agreement(db_session, principal, plan_id, data.version,
                                                                data.statement))
    return Response(view, status_code=201, headers=etag(view.version))


@get("/api/plans/{plan_id:str}/access-log", guards=[ACCESS_LOG], sync_to_thread=True, tags=["audit"],
     summary="Who has viewed or changed the plan")
def access_log(request: Request, db_session: DbSession, plan_id: FromPath[str]) -> AccessLog:
    principal = principal_of(request)
    items = transact(db_session, lambda: queries.access_log(db_session, principal, plan_id))
    return AccessLog.from_items(items)
