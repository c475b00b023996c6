"""The hot path of a plan read: one indexed query when nothing has changed.

`read_current(engine, principal, plan_id, cache)` runs in one read-only transaction
(SQLite: deferred BEGIN, no write lock; PostgreSQL: REPEATABLE READ, one snapshot):

1. the *revision query*: the plan row, scoped by `policy.plan_scope` (so access is
   checked in the query on every read: 404 for another caseload), with everything the
   presented view depends on besides the document — the version and fingerprint, the
   signed and agreed versions, status and the row's update time, the client's preferred
   name, the current keyworker's name, and a summary of the signatures (count, latest,
   the signers' accounts' last change) and of the prescribing decisions (count, latest);
2. only when that revision is not in this process's cache for this reader, the full read
   (`queries.load_current`, `agreement_snapshot`, decisions) and `present()`.

The cache holds presented views, each made by `present()` for one audience and one reader
(what policy lets that reader see, nothing more), keyed by (plan, audience visibility,
reader) and tagged with the revision it was made from: a view is served only while the
revision read in this very transaction is the same. Any change to the plan, a signature,
a decision, a name, or the reader's access shows on the very next read.

The read's audit event is returned, not written: the caller hands it to the group
committer (`careplans.audit_batch`) and answers only once it has committed.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from typing import Any, Awaitable, Callable, NamedTuple

import msgspec

from sqlalchemy import Engine, and_, bindparam, func, select
from sqlalchemy.orm import Session, aliased

from careplans import audit_batch, pg_async, policy, queries, rawsql
from careplans.db import READ_ONLY_OPTIONS
from careplans.errors import NotFound
from careplans.models import Agreement, CaseloadAssignment, Client, Plan, PrescribingDecision, User
from careplans.policy import Principal
from careplans.present import PlanView, present


class ViewCache:
    """Presented views per (plan, visibility, reader), each with the revision it was made from.

    Bounded (least recently used goes first; 1,024 views of a typical plan are a few tens
    of MB); one entry per plan and reader, so a new revision replaces the old view rather
    than adding to it. Thread-safe."""

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._items: OrderedDict[tuple[Any, ...], tuple[tuple[Any, ...], Presented]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: tuple[Any, ...], revision: tuple[Any, ...]) -> Presented | None:
        with self._lock:
            found = self._items.get(key)
            if found is None or found[0] != revision:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return found[1]

    def put(self, key: tuple[Any, ...], revision: tuple[Any, ...], view: Presented) -> None:
        with self._lock:
            self._items[key] = (revision, view)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_STATEMENTS: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_STATEMENTS_LOCK = threading.Lock()


def revision_query(principal: Principal, purpose: policy.PlanPurpose = "read"):
    """The plan's revision as one row (plan id bound as :plan_id), if the principal's scope
    holds the plan (else no row). Building the statement costs more than running it, so it
    is built and compiled once per principal and kept (bounded), and run on the driver's
    connection (careplans.rawsql)."""
    key = (principal.role, principal.id, purpose)
    with _STATEMENTS_LOCK:
        stmt = _STATEMENTS.get(key)
        if stmt is not None:
            _STATEMENTS.move_to_end(key)
            return stmt
    stmt = rawsql.Prepared(revision_statement(principal, purpose))
    with _STATEMENTS_LOCK:
        _STATEMENTS[key] = stmt
        while len(_STATEMENTS) > 1024:
            _STATEMENTS.popitem(last=False)
    return stmt


def revision_statement(principal: Principal, purpose: policy.PlanPurpose):
    """The revision query as a Core statement (the plan id bound as :plan_id); its first
    columns are the plan's client_id and version."""
    keyworker = aliased(User)
    assignment = aliased(CaseloadAssignment)  # aliased: the policy's scope has its own subquery on assignments
    signer = aliased(User)

    def signatures(column: Any) -> Any:
        return (select(column).select_from(Agreement).join(signer, signer.id == Agreement.signer_id)
                .where(Agreement.plan_id == Plan.id).scalar_subquery())

    def decisions(column: Any) -> Any:
        return select(column).where(PrescribingDecision.plan_id == Plan.id).scalar_subquery()

    return (
        select(
            Plan.client_id, Plan.version, Plan.fingerprint, Plan.status, Plan.updated_at,
            Plan.client_signed_version, Plan.keyworker_signed_version, Plan.agreed_version,
            Plan.agreed_fingerprint, Client.preferred_name, keyworker.display_name,
            signatures(func.count(Agreement.id)), signatures(func.max(Agreement.signed_at)),
            signatures(func.max(signer.updated_at)),
            decisions(func.count(PrescribingDecision.id)), decisions(func.max(PrescribingDecision.created_at)),
        )
        .join(Client, Client.id == Plan.client_id)
        .outerjoin(assignment, and_(assignment.client_id == Plan.client_id, assignment.relation == "keyworker",
                                    assignment.ended_at.is_(None)))
        .outerjoin(keyworker, keyworker.id == assignment.staff_user_id)
        .where(Plan.id == bindparam("plan_id", type_=Plan.__table__.c.id.type), policy.plan_scope(principal, purpose))
        .limit(1)
    )


def read_current(engine: Engine, principal: Principal, plan_id: str | uuid.UUID,
                 cache: ViewCache | None = None) -> tuple["Presented", audit_batch.Pending]:
    """The current plan as this reader may see it (view and JSON body), and the audit event
    to commit before answering."""
    pid = queries.parse_id(plan_id)
    revision = revision_query(principal)
    # First the revision alone, on the driver's connection: on a cache hit that is the whole read.
    with rawsql.read_only(engine, snapshot=False) as cur:  # one statement: one snapshot
        # Raw values: comparing them tells whether anything changed, and only the two
        # columns the audit event needs are converted.
        raw = revision.first(cur, {"plan_id": pid}, raw=True)
        hit = _hit(cur, revision, raw, principal, pid, cache)
    return hit if hit is not None else _read_whole(engine, principal, pid, cache)


async def read_current_async(engine: Engine, principal: Principal, plan_id: str | uuid.UUID,
                             cache: ViewCache | None, in_thread: Callable[..., Awaitable[Any]]
                             ) -> tuple["Presented", audit_batch.Pending]:
    """read_current for PostgreSQL on the event loop (careplans.pg_async): the revision query
    without a thread; a view not in the cache is read by `read_current` via `in_thread`."""
    pid = queries.parse_id(plan_id)
    revision = revision_query(principal)
    async with pg_async.read_only(engine) as cur:
        raw = await cur.first(revision, {"plan_id": pid}, raw=True)
    hit = _hit(cur, revision, raw, principal, pid, cache)
    return hit if hit is not None else await in_thread(read_current, engine, principal, pid, cache)


def _key(principal: Principal, pid: uuid.UUID) -> tuple[Any, ...]:
    audience = policy.audience_of(principal)
    if audience is None:  # as queries.reader_of: plan_scope already refuses these principals
        raise NotFound("There is no such plan.")
    return (pid, policy.visibility(audience), str(principal.id))


def _hit(cur: rawsql.Cursor, revision: rawsql.Prepared, raw: tuple[Any, ...] | None, principal: Principal,
         pid: uuid.UUID, cache: ViewCache | None) -> tuple["Presented", audit_batch.Pending] | None:
    """The cached view for this revision and its audit event, or None (not cached)."""
    if raw is None:
        raise NotFound("There is no such plan.")
    cached = cached_view(principal, pid, raw, cache)
    if cached is None:
        return None
    return cached, read_event(principal, pid, revision.value(cur, raw, 0), raw[1])


def cached_view(principal: Principal, pid: uuid.UUID, raw: tuple[Any, ...],
                cache: ViewCache | None) -> "Presented | None":
    """The view this reader was given for this very revision (the revision query's row as the
    driver returned it), if the cache still holds it."""
    return cache.get(_key(principal, pid), raw) if cache is not None else None


def read_event(principal: Principal, pid: uuid.UUID, client_id: Any, version: int) -> audit_batch.Pending:
    """A plan read's audit event."""
    return audit_batch.pending(queries.actor(principal), "plan.read", plan_id=pid, client_id=client_id,
                               detail={"version": version})


def _read_whole(engine: Engine, principal: Principal, pid: uuid.UUID,
                cache: ViewCache | None) -> tuple["Presented", audit_batch.Pending]:
    """The full read and present(), cached under the revision read in the same transaction."""
    revision = revision_query(principal)
    options: dict[str, Any] = dict(READ_ONLY_OPTIONS)
    if engine.dialect.name == "postgresql":
        options["isolation_level"] = "REPEATABLE READ"  # the revision and the view from one snapshot
    with engine.connect().execution_options(**options) as conn:
        # Again, in the transaction the view is read in: the view is cached under the
        # revision it was made from, never under one read a moment earlier.
        raw = conn.exec_driver_sql(*revision.driver_call(engine.dialect, {"plan_id": pid})).first()
        if raw is None:
            raise NotFound("There is no such plan.")
        with Session(bind=conn, expire_on_commit=False) as db:
            plan, current = queries.load_current(db, principal, pid)
            snap = queries.agreement_snapshot(db, plan, current, queries.decisions_for_plan(db, plan.id))
            view = present(snap, queries.reader_of(principal)[0], str(principal.id))
        conn.rollback()
    cached = Presented(view, msgspec.json.encode(view))
    if cache is not None:
        cache.put(_key(principal, pid), tuple(raw), cached)
    return cached, read_event(principal, pid, plan.client_id, plan.version)


class Presented(NamedTuple):
    """A presented view and its JSON body (encoded once, served from the cache as is)."""

    view: PlanView
    body: bytes
