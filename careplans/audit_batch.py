"""Group commit for the audit rows of reads.

A read must leave a durable, hash-chained audit row before its answer is sent, but
taking the chain's lock once per read makes every read queue behind every other one
(on SQLite, BEGIN IMMEDIATE per read). Instead a read hands its event to this
process's one `GroupCommitter`, which appends whatever has queued up (at most
`max_batch` events; `linger` > 0 waits that long for company, by default it takes
only what queued while the previous batch committed) in ONE
transaction: it locks the chain head exactly like `audit.record` does (SELECT ... FOR
UPDATE on PostgreSQL, BEGIN IMMEDIATE on SQLite), extends the chain in queue order and
commits. Only then is each event's future resolved; the caller answers after that.
If the batch fails, every future in it fails with `AuditUnavailable` and nothing of
the batch is acknowledged.

Writes keep `audit.record` in their own transaction; the head lock orders them with
the batches, and several processes each with their own committer likewise.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, bindparam, insert, select, update

from careplans import pg_async, rawsql
from careplans.audit import Actor, event_hash
from careplans.errors import AuditUnavailable
from careplans.models import AuditEvent, AuditHead, utcnow
from careplans.plan_document import canonical_json

log = logging.getLogger("careplans")


@dataclass(frozen=True)
class Pending:
    """One audit event waiting for its batch (identifiers only, as `audit.record` takes them)."""

    actor: Actor
    action: str
    plan_id: str | None
    client_id: str | None
    detail: str  # canonical JSON


def pending(actor: Actor, action: str, *, plan_id: Any = None, client_id: Any = None,
            detail: dict[str, Any] | None = None) -> Pending:
    return Pending(actor, action, str(plan_id) if plan_id is not None else None,
                   str(client_id) if client_id is not None else None, _detail(detail))


def _detail(detail: dict[str, Any] | None) -> str:
    # A read's detail is its version alone: spelled here as canonical_json spells it (the
    # chain hashes this text), without a JSON encoder per read.
    if detail is not None and len(detail) == 1 and type(detail.get("version")) is int:
        return '{"version":%d}' % detail["version"]
    return canonical_json(detail or {})


_STOP = object()


class GroupCommitter:
    """One writer thread per process appending queued audit events in batches."""

    def __init__(self, engine: Engine, *, max_batch: int = 256, linger: float = 0.0,
                 inline: bool | None = None) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self.linger = linger
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self.batches = 0  # committed batches, for tests and the bench
        # SQLite: reads' events are committed on their event loop (see submit_async);
        # `inline=False` sends every batch through the writer thread.
        self.inline = engine.dialect.name == "sqlite" if inline is None else inline
        self._inline: dict[asyncio.AbstractEventLoop, list[tuple[Pending, asyncio.Future[int]]]] = {}
        self._writers: dict[asyncio.AbstractEventLoop, asyncio.Task[None]] = {}
        self._checkpoints: set[asyncio.Future[None]] = set()  # SQLite: WAL checkpoints running in threads

    # --- the callers' side -------------------------------------------------------------------

    def submit(self, event: Pending) -> Future[int]:
        """Queue one event; the future resolves to its sequence number once committed."""
        fut: Future[int] = Future()
        self._ensure_running()
        self._queue.put((event, fut))
        return fut

    def submit_async(self, event: Pending) -> asyncio.Future[int]:
        """Queue one event from a coroutine; await the result for its sequence number.

        SQLite: the events queued during one turn of the event loop are committed in one
        batch on the loop itself, at the start of its next turn (`_flush_inline`): no
        thread, no hand-over of the GIL per statement. If a write holds SQLite's lock
        then, that batch goes to the writer thread, which waits for it.
        Elsewhere (PostgreSQL, over the network): the writer thread, which resolves a
        whole batch's futures with ONE call into the event loop, not one wake-up per event."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[int] = loop.create_future()
        on_loop = not self.inline and pg_async.enabled(self.engine)
        if self.inline or on_loop:
            waiting = self._inline.get(loop)
            if waiting is None:
                waiting = self._inline[loop] = []
                if self.inline:
                    loop.call_soon(self._flush_inline, loop)
            waiting.append((event, fut))
            if on_loop and loop not in self._writers:
                self._writers[loop] = loop.create_task(self._write_on_loop(loop))
            return fut
        self._ensure_running()
        self._queue.put((event, (loop, fut)))
        return fut

    async def _write_on_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """PostgreSQL: this loop's writer task. It commits whatever queued while the previous
        batch was on the wire, until nothing is left (one task per loop at a time)."""
        try:
            while True:
                waiting = self._inline.pop(loop, None)
                if not waiting:
                    return
                try:
                    seqs: list[int] | None = await append_events_async(self.engine, [ev for ev, _ in waiting])
                except Exception as exc:  # noqa: BLE001 - every waiting request must hear of it
                    _failed(len(waiting), exc)
                    seqs = None
                self._answer(waiting, seqs)
        finally:
            self._writers.pop(loop, None)

    async def drain(self) -> None:
        """Commit what this loop has queued (at shut-down, before the writer thread stops)."""
        loop = asyncio.get_running_loop()
        if self.inline:
            self._flush_inline(loop)
        task = self._writers.get(loop)
        if task is not None:
            await task

    def _flush_inline(self, loop: asyncio.AbstractEventLoop) -> None:
        waiting = self._inline.pop(loop, [])
        if not waiting:
            return
        try:
            seqs = append_events_inline(self.engine, [ev for ev, _ in waiting])
        except rawsql.Busy:
            self._ensure_running()
            for ev, fut in waiting:
                self._queue.put((ev, (loop, fut)))
            return
        except Exception as exc:  # noqa: BLE001 - every waiting request must hear of it
            _failed(len(waiting), exc)
            seqs = None
        self._answer(waiting, seqs)
        if seqs is not None and self.batches % CHECKPOINT_EVERY == 0:
            # The loop's writer connection never checkpoints in its commit (rawsql.write_inline):
            # the WAL is copied into the database here, in a thread, off the loop.
            self._checkpoints.add(loop.run_in_executor(None, _checkpoint_quietly, self.engine))
            for done in [f for f in self._checkpoints if f.done()]:
                self._checkpoints.discard(done)

    def _answer(self, waiting: list[tuple[Pending, asyncio.Future[int]]], seqs: list[int] | None) -> None:
        """Resolve a batch's futures on their loop: each its seq, or all AuditUnavailable."""
        if seqs is not None:
            self.batches += 1
        _settle([(fut, seqs[i] if seqs is not None else None) for i, (_, fut) in enumerate(waiting)])

    def record(self, event: Pending, timeout: float | None = 60) -> int:
        """Queue one event and wait for its commit (for synchronous callers)."""
        return self.submit(event).result(timeout)

    def start(self) -> None:
        self._ensure_running()

    def stop(self, timeout: float = 30) -> None:
        """Commit what is queued, then end the writer thread."""
        with self._lock:
            thread = self._thread
            if thread is None or not thread.is_alive() or self._pid != os.getpid():
                self._thread = None
                return
            self._queue.put(_STOP)
        thread.join(timeout)
        with self._lock:
            self._thread = None

    def _ensure_running(self) -> None:
        thread = self._thread
        if thread is not None and thread.is_alive() and self._pid == os.getpid():
            return
        with self._lock:
            if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
                return
            if self._pid != os.getpid():  # a forked child: the parent's queue and thread are not ours
                self._queue = queue.SimpleQueue()
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="careplans-audit-writer", daemon=True)
            self._thread.start()

    # --- the writer thread --------------------------------------------------------------------

    def _run(self) -> None:
        q = self._queue
        while True:
            item = q.get()
            if item is _STOP:
                return
            batch = [item]
            stop = False
            deadline = time.monotonic() + self.linger
            while len(batch) < self.max_batch:
                try:
                    wait = deadline - time.monotonic()
                    nxt = q.get(timeout=wait) if wait > 0 else q.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                batch.append(nxt)
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[tuple[Pending, Any]]) -> None:
        live = [(ev, w) for ev, w in batch if not isinstance(w, Future) or w.set_running_or_notify_cancel()]
        if not live:
            return
        try:
            seqs: list[int] | None = append_events(self.engine, [ev for ev, _ in live])
        except Exception as exc:  # noqa: BLE001 - every waiting request must hear of it
            _failed(len(live), exc)
            seqs = None
        else:
            self.batches += 1
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[int], int | None]]] = {}
        for i, (_, waiter) in enumerate(live):
            seq = seqs[i] if seqs is not None else None
            if isinstance(waiter, Future):
                if seq is None:
                    waiter.set_exception(AuditUnavailable())
                else:
                    waiter.set_result(seq)
            else:
                by_loop.setdefault(waiter[0], []).append((waiter[1], seq))
        for loop, items in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle, items)
            except RuntimeError:  # that loop has closed: nobody is waiting any more
                pass


# SQLite: a WAL checkpoint in a thread after this many batches committed on the loop (the
# default automatic checkpoint comes at 1,000 WAL pages; a batch writes a few).
CHECKPOINT_EVERY = 200


def _failed(count: int, exc: Exception) -> None:
    log.warning("audit batch of %d not recorded: %s", count, type(exc).__name__)


def _checkpoint_quietly(engine: Engine) -> None:
    try:
        rawsql.checkpoint(engine)
    except Exception as exc:  # noqa: BLE001 - the next one will try again; writes in threads checkpoint too
        log.warning("WAL checkpoint failed: %s", type(exc).__name__)


def _settle(items: list[tuple[asyncio.Future[int], int | None]]) -> None:
    """On the waiters' event loop: resolve a batch's futures (None: the batch failed)."""
    for fut, seq in items:
        if fut.done():  # the request was cancelled (client went away)
            continue
        if seq is None:
            fut.set_exception(AuditUnavailable())
        else:
            fut.set_result(seq)


# Built and compiled once; run on the driver's connection (careplans.rawsql): this writer
# runs for every read, and SQLAlchemy's per-statement work would cost more than SQLite's.
_LOCK_HEAD = rawsql.Prepared(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1).with_for_update())
_COLUMNS = ("seq", "at", "actor_id", "actor_role", "action", "plan_id", "client_id", "detail", "prev_hash", "hash")
_INSERT = rawsql.Prepared(insert(AuditEvent).values({c: bindparam(c) for c in _COLUMNS}))
_MOVE_HEAD = rawsql.Prepared(update(AuditHead).where(AuditHead.id == 1)
                             .values(seq=bindparam("new_seq"), hash=bindparam("new_hash")))


def append_events(engine: Engine, events: list[Pending]) -> list[int]:
    """Append events to the chain in order, in one transaction holding the head lock
    (BEGIN IMMEDIATE on SQLite, SELECT ... FOR UPDATE on PostgreSQL, as `audit.record`)."""
    with rawsql.write(engine) as cur:
        return _append(cur, events)


def append_events_inline(engine: Engine, events: list[Pending]) -> list[int]:
    """As append_events, on an event loop without waiting: `rawsql.Busy` if SQLite's write
    lock is held elsewhere (nothing written then)."""
    with rawsql.write_inline(engine) as cur:
        return _append(cur, events)


async def append_events_async(engine: Engine, events: list[Pending]) -> list[int]:
    """As append_events, on the event loop with the async driver (PostgreSQL)."""
    async with pg_async.write(engine) as cur:
        rows, seqs = _chained(await cur.first(_LOCK_HEAD, {}), events)
        await cur.executemany(_INSERT, rows)
        await cur.execute(_MOVE_HEAD, {"new_seq": seqs[-1], "new_hash": rows[-1]["hash"]})
    return seqs


def append_on(cur: rawsql.Cursor, event: Pending) -> int:
    """Append one event in the caller's write transaction on the driver's connection (a
    write's own audit row, committed with the change it records: careplans.checkin_write)."""
    return _append(cur, [event])[0]


def _append(cur: rawsql.Cursor, events: list[Pending]) -> list[int]:
    rows, seqs = _chained(_LOCK_HEAD.first(cur, {}), events)
    _INSERT.executemany(cur, rows)
    _MOVE_HEAD.execute(cur, {"new_seq": seqs[-1], "new_hash": rows[-1]["hash"]})
    return seqs


def _chained(head: Any, events: list[Pending]) -> tuple[list[dict[str, Any]], list[int]]:
    """The audit rows extending the chain from its head (seq, hash), in order, and their seqs."""
    seq, prev = head
    rows, seqs = [], []
    for ev in events:
        seq += 1
        at = utcnow()
        digest = event_hash(prev, seq, at, ev.actor.id, ev.actor.role, ev.action, ev.plan_id, ev.client_id,
                            ev.detail)
        rows.append({"seq": seq, "at": at, "actor_id": ev.actor.id, "actor_role": ev.actor.role,
                     "action": ev.action, "plan_id": ev.plan_id, "client_id": ev.client_id,
                     "detail": ev.detail, "prev_hash": prev, "hash": digest})
        seqs.append(seq)
        prev = digest
    return rows, seqs
