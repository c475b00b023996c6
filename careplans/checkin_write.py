"""A progress check-in, written without the general write path's overhead.

A check-in is the most frequent change to a plan, and it only ever adds a record: the
version before it keeps its check-ins as records (careplans.versions), so the new
version's base document is the previous one unchanged, and what is new is one record.
`write` stores exactly what `commands.change_plan` would for it — the same version row
(the same base, the next link of the check-in chain, a scheme-2 fingerprint), the same
record, projection and audit event, the same compare-and-set on the plan's version under
the row lock — in a fixed number of statements (8), built once and run on the driver's
connection (careplans.rawsql), without copying or re-encoding the whole document:

1. the plan row with its current version's base and chain head, the plan row locked and
   scoped by the policy (FOR UPDATE OF plans; BEGIN IMMEDIATE on SQLite);
2. the version bump (compare-and-set on the version the change was based on);
3. the new version row, 4. its check-in record, 5. the check-in's projection;
6-8. the audit event, chained in the same transaction (audit_batch.append_on).

The whole document is still validated against the schema with the check-in in it, and
the changes are derived from the documents before and after, as for any change. Anything
out of the ordinary (no such plan, a stale If-Match, a version that keeps its whole
document, a base in an older schema, no such goal, a check-in the schema refuses) makes
`write` return None before it has written anything, and the caller runs the general path
(`services.goals.add_check_in` → `change_plan`), which answers exactly as before (404,
409 with the current plan and its audit row, 422).

The answer presents only the new check-in, through `present` (the one place that
decides what each reader sees of it): it does not grow with the plan either.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import types
import uuid
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import Engine, bindparam, insert, select, update
from sqlalchemy.orm import Session

from careplans import audit_batch, commands, document, policy, rawsql, versions
from careplans import changes as ch
from careplans import plan_document as doc
from careplans.models import CheckIn, CheckInRecord, Plan, PlanVersion, utcnow
from careplans.plan_document import DocumentError, canonical_json
from careplans.policy import Principal
from careplans.present import CheckInResult, PlanView, check_in_result, present
from careplans.queries import actor, parse_id, reader_of, snapshot

ACTION = "checkin.create"
log = logging.getLogger("careplans")
# What the answer shows: the goals alone, each reader's rules applied as for the whole plan.
_GOALS_ONLY = policy.Visibility("custom", frozenset({"goals"}))


@functools.lru_cache(maxsize=1024)
def _lock_plan(principal: Principal) -> rawsql.Prepared:
    """The plan row for a write, if the principal's write scope holds it, locked (built and
    compiled once per principal: that costs more than running it)."""
    return rawsql.Prepared(
        select(Plan.id, Plan.client_id, Plan.version, Plan.fingerprint, Plan.status,
               Plan.client_signed_version, Plan.keyworker_signed_version, Plan.agreed_version,
               Plan.agreed_fingerprint, Plan.next_review_date,
               PlanVersion.content, PlanVersion.check_ins, PlanVersion.check_in_chain)
        .join(PlanVersion, (PlanVersion.plan_id == Plan.id) & (PlanVersion.number == Plan.version))
        .where(Plan.id == bindparam("plan_id", type_=Plan.__table__.c.id.type), policy.plan_scope(principal, "write"))
        .with_for_update(of=Plan))


_PLAN_FIELDS = ("id", "client_id", "version", "fingerprint", "status", "client_signed_version",
                "keyworker_signed_version", "agreed_version", "agreed_fingerprint", "next_review_date")
_BUMP_WHERE = (Plan.id == bindparam("plan_id"), Plan.version == bindparam("based_on"))
_BUMP_VALUES = {"version": bindparam("new_version"), "fingerprint": bindparam("new_fingerprint"),
                "updated_at": bindparam("now")}
# The review date is set only when the row's differs from the document's (a check-in never
# changes the document's): SQLite rewrites an index entry for every indexed column an UPDATE
# sets, changed or not, one more page to write on every commit.
_BUMP = rawsql.Prepared(update(Plan).where(*_BUMP_WHERE).values(_BUMP_VALUES))
_BUMP_REVIEW = rawsql.Prepared(update(Plan).where(*_BUMP_WHERE).values(
    {**_BUMP_VALUES, "next_review_date": bindparam("review_date")}))
_NEW_VERSION = rawsql.Prepared(insert(PlanVersion))
_RECORD = rawsql.Prepared(insert(CheckInRecord))
_PROJECTION = rawsql.Prepared(insert(CheckIn))


def new_check_in() -> tuple[str, str]:
    """A new check-in's id and time."""
    return str(uuid.uuid4()), utcnow().isoformat(timespec="seconds")


@dataclass
class Written:
    """A check-in written: the new version, and how to present the check-in to its writer."""

    version: int
    fingerprint: str
    after: dict[str, Any]
    _present: Any

    def changed_plan(self) -> PlanView:
        return self._present()


def _ids(items: Any) -> list[Any] | None:
    """The ids of a list of objects that each have one, else None."""
    if not isinstance(items, list) or not all(isinstance(i, dict) and "id" in i for i in items):
        return None
    return [i["id"] for i in items]


def _adds_only(before: dict[str, Any], goal_id: str, check_in_id: str) -> bool:
    """Whether `changes.derive` matches the goals and that goal's check-ins by id (each list
    of objects with distinct ids, the new check-in's not among them): adding the check-in is
    then the one change it finds (doc.add_check_in changes nothing else)."""
    goals = _ids(before.get("goals"))
    if goals is None or len(set(goals)) != len(goals) or "voice" in before:
        return False
    goal = doc.find_goal(before, goal_id)
    if "voice" in goal:  # derive would compare such a goal as one value
        return False
    check_ins = _ids(goal.get("check_ins"))
    return check_ins is not None and check_in_id not in check_ins and len(set(check_ins)) == len(check_ins)


def write(cur: rawsql.Cursor, principal: Principal, pid: uuid.UUID, goal_id: str, based_on: int,
          check_in_id: str, rating: int, note: str | None, at: str) -> Written | None:
    """The check-in as a new version in the caller's write transaction, or None (nothing
    written) when it is not the ordinary case."""
    plan = _lock_plan(principal).first(cur, {"plan_id": pid})
    if plan is None or plan[2] != based_on:
        return None
    content, count, chain = plan[10:13]
    if count is None:
        return None
    before = msgspec.json.decode(content)
    if document.schema_version_of(before) != document.SCHEMA_VERSION:
        return None  # the base is upgraded (and stored anew) by the general path
    try:
        after = doc.add_check_in(before, goal_id, check_in_id, rating, note, principal.author, at)
        document.validate(after)
    except (DocumentError, document.DocumentShapeError):
        return None
    goal = doc.find_goal(after, goal_id)
    item = goal["check_ins"][-1]
    changes = [ch.check_in_added(goal_id, item)] if _adds_only(before, goal_id, check_in_id) \
        else ch.derive(before, after)
    # The base is the previous version's, as stored: only the record is new.
    stored = versions.appended(content, [(goal_id, canonical_json(item))], count, chain or versions.GENESIS)
    new_number, now = based_on + 1, utcnow()
    review = commands.review_date(after)
    bump = {"plan_id": pid, "based_on": based_on, "new_version": new_number, "new_fingerprint": stored.fingerprint,
            "now": now}
    if review == plan[9]:
        _BUMP.execute(cur, bump)
    else:
        _BUMP_REVIEW.execute(cur, {**bump, "review_date": review})
    if cur.cursor.rowcount != 1:  # pragma: no cover - guarded by the row lock; the compare-and-set as a second line
        return None
    _NEW_VERSION.execute(cur, {
        "id": uuid.uuid4(), "plan_id": pid, "number": new_number, "author_id": principal.id,
        "author_role": principal.role, "author_name": principal.name, "created_at": now,
        "changed_paths": [c.path for c in changes], "changes": ch.to_stored(changes), **stored.row_fields()})
    for seq, (record_goal, body, link) in enumerate(stored.records, start=count):
        _RECORD.execute(cur, {"id": uuid.uuid4(), "plan_id": pid, "seq": seq, "goal_id": record_goal, "body": body,
                          "chain": link, "plan_version": new_number})
    _PROJECTION.execute(cur, {"id": uuid.UUID(check_in_id), "goal_id": uuid.UUID(goal_id), "plan_id": pid,
                          "rating": rating, "recorded_at": now, "recorded_by": principal.id,
                          "plan_version": new_number})
    audit_batch.append_on(cur, audit_batch.pending(
        actor(principal), ACTION, plan_id=pid, client_id=plan[1],
        detail={"version": new_number, "fingerprint": stored.fingerprint, "goal_id": goal_id,
                "check_in_id": check_in_id}))
    row = types.SimpleNamespace(**dict(zip(_PLAN_FIELDS, plan)))
    row.version, row.fingerprint, row.next_review_date = new_number, stored.fingerprint, review
    version = types.SimpleNamespace(number=new_number, fingerprint=stored.fingerprint, created_at=now,
                                    author_id=principal.id, author_name=principal.name,
                                    author_role=principal.role, changes=[])

    def changed_only() -> PlanView:
        vis, _ = reader_of(principal)
        part = {"goals": [{**goal, "check_ins": [item]}]}
        return present(snapshot(row, version, [], part), policy.narrowed(vis, _GOALS_ONLY), str(principal.id))

    return Written(new_number, stored.fingerprint, after, changed_only)


def add_now(engine: Engine, principal: Principal, plan_id: str, goal_id: str, based_on: int, rating: int,
            note: str | None) -> tuple[int, CheckInResult] | None:
    """The ordinary check-in in a short transaction of its own (in a worker thread): (version,
    the check-in as its writer sees it); None when it is not the ordinary case (nothing
    written: take `services.goals.add_check_in`)."""
    policy.require(principal, "plans.write")
    pid = parse_id(plan_id)
    check_in_id, at = new_check_in()
    done = rawsql.write_if(engine, lambda cur: write(cur, principal, pid, goal_id, based_on, check_in_id, rating,
                                                  note, at))
    if done is None:
        return None
    return done.version, check_in_result(done.changed_plan(), goal_id, check_in_id)


class _NotOrdinary(Exception):
    """`write` wrote nothing: roll the inline transaction back (the caller takes another path)."""


# SQLite: the loop's writer connection never checkpoints in its commit (rawsql.write_inline); a
# PASSIVE checkpoint runs in a worker thread after every this many commits of check-ins on the
# loop. A check-in alone writes about 18 WAL pages, ten committed together about 40 (the pages
# they share written once): 900 to 2,000 pages, about SQLite's own automatic checkpoint (1,000).
CHECKPOINT_EVERY = 50
_inline_commits = 0
_checkpoints: set[asyncio.Future[Any]] = set()


def _checkpoint_quietly(engine: Engine) -> None:
    try:
        rawsql.checkpoint(engine)
    except Exception as exc:  # noqa: BLE001 - the next one will try again; writes in threads checkpoint too
        log.warning("WAL checkpoint failed: %s", type(exc).__name__)


def _committed_on_loop(engine: Engine) -> None:
    """One more commit of check-ins on the running loop: a checkpoint in a thread when due."""
    global _inline_commits
    _inline_commits += 1
    if _inline_commits % CHECKPOINT_EVERY == 0:
        for finished in [f for f in _checkpoints if f.done()]:
            _checkpoints.discard(finished)
        try:
            _checkpoints.add(asyncio.get_running_loop().run_in_executor(None, _checkpoint_quietly, engine))
        except RuntimeError as exc:  # the executor is shut down (the app is stopping): never the write's error
            log.warning("WAL checkpoint not started: %s", exc)


def add_inline(engine: Engine, principal: Principal, plan_id: str, goal_id: str, based_on: int, rating: int,
               note: str | None) -> tuple[int, CheckInResult] | None:
    """`add_now` on the event loop itself (SQLite): no hop to the thread pool and back, which
    under load costs more CPU than the write. `rawsql.Busy` (nothing written) when SQLite's
    write lock is held elsewhere right now, or this is not a loop's thread: the caller runs
    `add_now` in a thread, which waits for the lock. None as for `add_now`."""
    policy.require(principal, "plans.write")
    job = _Job(engine, principal, parse_id(plan_id), goal_id, based_on, *new_check_in(), rating, note)
    done = _write_alone(job)
    if done is None:
        return None
    return done.version, check_in_result(done.changed_plan(), goal_id, job.check_in_id)


@dataclass
class _Job:
    """One check-in waiting for its loop's next group commit."""

    engine: Engine
    principal: Principal
    pid: uuid.UUID
    goal_id: str
    based_on: int
    check_in_id: str
    at: str
    rating: int
    note: str | None
    answer: asyncio.Future[Any] | None = None

    def write(self, cur: rawsql.Cursor) -> Written | None:
        return write(cur, self.principal, self.pid, self.goal_id, self.based_on, self.check_in_id, self.rating,
                     self.note, self.at)


def _write_alone(job: _Job) -> Written | None:
    """The check-in in an inline transaction of its own (rawsql.Busy if the lock is held)."""
    try:
        with rawsql.write_inline(job.engine) as cur:
            done = job.write(cur)
            if done is None:
                raise _NotOrdinary()
    except _NotOrdinary:
        return None
    _committed_on_loop(job.engine)
    return done


# --- group commit on the loop (SQLite) ---------------------------------------------------------
#
# The check-ins that reach `add_on_loop` during one turn of the event loop are written at the
# start of its next turn in ONE inline transaction: each its own statements and its own audit
# row, as alone, committed together (one BEGIN and one COMMIT, and the pages they share
# written once). Nobody is answered before that commit. If any of them raises, the transaction
# is rolled back and each is written again in a transaction of its own, so that one check-in's
# error is never another's. At most GROUP_MAX in one transaction.

GROUP_MAX = 64
_queued: dict[asyncio.AbstractEventLoop, list[_Job]] = {}


async def add_on_loop(engine: Engine, principal: Principal, plan_id: str, goal_id: str, based_on: int,
                      rating: int, note: str | None) -> tuple[int, CheckInResult] | None:
    """`add_inline`, committed with the other check-ins of this turn of the loop (SQLite).
    `rawsql.Busy` (nothing written) when the write lock is held elsewhere, or the database
    is not SQLite: the caller runs `add_now` in a thread. None as for `add_now`."""
    if engine.dialect.name != "sqlite":
        raise rawsql.Busy()
    policy.require(principal, "plans.write")
    loop = asyncio.get_running_loop()
    job = _Job(engine, principal, parse_id(plan_id), goal_id, based_on, *new_check_in(), rating, note,
               loop.create_future())
    queued = _queued.get(loop)
    if queued is None:
        queued = _queued[loop] = []
        loop.call_soon(_flush, loop)
    queued.append(job)
    return await job.answer  # type: ignore[misc]


def _flush(loop: asyncio.AbstractEventLoop) -> None:
    jobs = [job for job in _queued.pop(loop, []) if job.answer is not None and not job.answer.done()]
    by_engine: dict[int, list[_Job]] = {}
    for job in jobs:
        by_engine.setdefault(id(job.engine), []).append(job)
    for group in by_engine.values():
        for start in range(0, len(group), GROUP_MAX):
            _commit_group(group[start:start + GROUP_MAX])


def _commit_group(jobs: list[_Job]) -> None:
    if len(jobs) > 1:
        try:
            with rawsql.write_inline(jobs[0].engine) as cur:
                written = [job.write(cur) for job in jobs]
        except rawsql.Busy:
            for job in jobs:
                _answer(job, exc=rawsql.Busy())
            return
        except Exception:  # noqa: BLE001 - rolled back: each again alone, its error its own
            pass
        else:
            if any(done is not None for done in written):
                _committed_on_loop(jobs[0].engine)
            for job, done in zip(jobs, written):
                _answer(job, done)
            return
    for job in jobs:
        try:
            done = _write_alone(job)
        except Exception as exc:  # noqa: BLE001 - that request answers it (Busy: it waits in a thread)
            _answer(job, exc=exc)
        else:
            _answer(job, done)


def _answer(job: _Job, done: Written | None = None, *, exc: Exception | None = None) -> None:
    """Resolve a job's future: (version, the check-in as its writer sees it), None, or the error."""
    assert job.answer is not None
    if job.answer.done():  # the request was cancelled
        return
    if exc is None and done is not None:
        try:
            result: Any = (done.version, check_in_result(done.changed_plan(), job.goal_id, job.check_in_id))
        except Exception as error:  # noqa: BLE001 - that request answers it
            exc = error
    if exc is not None:
        job.answer.set_exception(exc)
    else:
        job.answer.set_result(None if done is None else result)


def in_session(db: Session, principal: Principal, plan_id: str, goal_id: str, based_on: int, check_in_id: str,
               rating: int, note: str | None, at: str) -> commands.ChangeResult | None:
    """`write` in the session's transaction (on its driver connection), as a ChangeResult."""
    policy.require(principal, "plans.write")
    pid = parse_id(plan_id)
    db.flush()  # what the session holds unwritten, first: these statements do not flush it
    conn = db.connection()
    cursor = conn.connection.driver_connection.cursor()
    try:
        done = write(rawsql.Cursor(conn.engine, cursor), principal, pid, goal_id, based_on, check_in_id, rating,
                     note, at)
    finally:
        cursor.close()
    if done is None:
        return None
    held = db.identity_map.get(db.identity_key(Plan, pid))
    if held is not None:  # the plan row as the session knew it is no longer current
        db.expire(held, ["version", "fingerprint", "updated_at", "next_review_date"])
    return commands.ChangeResult(done.version, True, done.after, lambda: commands.current_view(db, principal, pid),
                                 done.changed_plan, eager=False)
