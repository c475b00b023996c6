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

import logging
import os
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, bindparam, insert, select, update

from careplans import rawsql
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
                   str(client_id) if client_id is not None else None, canonical_json(detail or {}))


_STOP = object()


class GroupCommitter:
    """One writer thread per process appending queued audit events in batches."""

    def __init__(self, engine: Engine, *, max_batch: int = 256, linger: float = 0.0) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self.linger = linger
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self.batches = 0  # committed batches, for tests and the bench

    # --- the callers' side -------------------------------------------------------------------

    def submit(self, event: Pending) -> Future[int]:
        """Queue one event; the future resolves to its sequence number once committed."""
        fut: Future[int] = Future()
        self._ensure_running()
        self._queue.put((event, fut))
        return fut

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

    def _commit(self, batch: list[tuple[Pending, Future[int]]]) -> None:
        live = [(ev, fut) for ev, fut in batch if fut.set_running_or_notify_cancel()]
        if not live:
            return
        try:
            seqs = append_events(self.engine, [ev for ev, _ in live])
        except Exception as exc:  # noqa: BLE001 - every waiting request must hear of it
            log.warning("audit batch of %d not recorded: %s", len(live), type(exc).__name__)
            for _, fut in live:
                fut.set_exception(AuditUnavailable())
            return
        self.batches += 1
        for (_, fut), seq in zip(live, seqs):
            fut.set_result(seq)


# Built once: constructing a statement costs more than running it.
_LOCK_HEAD = select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1).with_for_update()
_INSERT = insert(AuditEvent)
_MOVE_HEAD = update(AuditHead).where(AuditHead.id == 1).values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))


def append_events(engine: Engine, events: list[Pending]) -> list[int]:
    """Append events to the chain in order, in one transaction holding the head lock."""
    with engine.begin() as conn:
        seq, prev = conn.execute(_LOCK_HEAD).one()
        rows = _linked(seq, prev, events)
        conn.execute(_INSERT, rows)
        conn.execute(_MOVE_HEAD, {"new_seq": rows[-1]["seq"], "new_hash": rows[-1]["hash"]})
    return [row["seq"] for row in rows]


def append_on(cur: rawsql.Cursor, event: Pending) -> int:
    """Append one event in the caller's write transaction on the driver's connection (a
    write's own audit row, committed with the change it records: careplans.checkin_write)."""
    seq, prev = _RAW_LOCK_HEAD.first(cur, {})
    row = _linked(seq, prev, [event])[0]
    _RAW_INSERT.execute(cur, row)
    _RAW_MOVE_HEAD.execute(cur, {"new_seq": row["seq"], "new_hash": row["hash"]})
    return row["seq"]


def _linked(seq: int, prev: str, events: list[Pending]) -> list[dict[str, Any]]:
    """The rows that extend the chain after (seq, prev) with `events`, in order."""
    rows = []
    for ev in events:
        seq += 1
        at = utcnow()
        digest = event_hash(prev, seq, at, ev.actor.id, ev.actor.role, ev.action, ev.plan_id, ev.client_id,
                            ev.detail)
        rows.append({"seq": seq, "at": at, "actor_id": ev.actor.id, "actor_role": ev.actor.role,
                     "action": ev.action, "plan_id": ev.plan_id, "client_id": ev.client_id,
                     "detail": ev.detail, "prev_hash": prev, "hash": digest})
        prev = digest
    return rows


_RAW_LOCK_HEAD, _RAW_INSERT, _RAW_MOVE_HEAD = (rawsql.Prepared(s) for s in (_LOCK_HEAD, _INSERT, _MOVE_HEAD))
