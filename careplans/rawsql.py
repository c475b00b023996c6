"""Hot statements run on the driver's connection, skipping SQLAlchemy's per-statement work:
the connections they run on (the statements themselves are careplans.prepared).

A cached plan read runs three short statements (session row, user, plan revision). Through
SQLAlchemy's Connection each costs far more CPU than the database does: the Connection and
its transaction objects, the `begin` event, the compiled-cache lookup, the execution context
and the result object. `Prepared` compiles a Core statement once per dialect (still
parameterised: the driver binds every value, nothing is built from strings), and `read_only`
lends one pooled DB-API connection for a short read-only transaction:

    with rawsql.read_only(engine) as cur:
        row = STATEMENT.first(cur, {"name": value})

- SQLite: an explicit deferred `BEGIN` (no write lock; one snapshot for every statement),
  then ROLLBACK. PostgreSQL: autocommit, each statement its own snapshot (one round trip
  each, no BEGIN/ROLLBACK); use it for single statements or ones that need no common snapshot.
- Values go through the column types' bind and result processors, as SQLAlchemy does, so
  rows hold the same Python values (UUIDs, aware datetimes) as `conn.execute` returns.
- Listeners on the engine's `before_cursor_execute` still see every statement (the
  statement-count tests and the bench count them).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator, TypeVar

from sqlalchemy import Engine, event
from sqlalchemy.exc import DBAPIError

# The statements themselves, re-exported: callers write rawsql.Prepared, rawsql.Cursor.
from careplans.prepared import Cursor, Prepared, _run, notify, wrapped  # noqa: F401

T = TypeVar("T")


def _connect(engine: Engine) -> Any:
    try:
        return engine.raw_connection()
    except engine.dialect.loaded_dbapi.Error as exc:  # the database refused or is away
        raise wrapped(engine, "", None, exc) from exc


class _Held(threading.local):
    """Per thread: a pooled SQLite connection kept checked out for inline reads (see read_only)."""

    def __init__(self) -> None:
        self.raw: Any = None
        self.pid = 0
        self.writer: Any = None  # for write_inline: busy_timeout 0
        self.writer_pid = 0


_HELD: dict[tuple[int, int], tuple[Engine, _Held, list[Any]]] = {}
_HELD_LOCK = threading.Lock()
# Event loop threads holding a reader and a writer each (a test client's loop runs in its own thread).
MAX_HELD = 8


def _held_for(engine: Engine) -> tuple[_Held, list[Any]]:
    key = (id(engine), os.getpid())  # a forked child never touches its parent's connections
    found = _HELD.get(key)
    if found is not None and found[0] is engine:
        return found[1], found[2]
    with _HELD_LOCK:
        found = _HELD.get(key)
        if found is None or found[0] is not engine:
            found = (engine, _Held(), [])
            _HELD[key] = found
            if not event.contains(engine, "engine_disposed", _release):
                event.listen(engine, "engine_disposed", _release)
    return found[1], found[2]


def _release(engine: Engine) -> None:
    """engine_disposed: give every held connection back (and forget the engine)."""
    with _HELD_LOCK:
        found = _HELD.pop((id(engine), os.getpid()), None)
    if found is None:
        return
    for raw in found[2]:
        with contextlib.suppress(Exception):
            raw.invalidate()  # closed for good: a writer's busy_timeout must not reach the pool
    found[2].clear()


@contextmanager
def read_only(engine: Engine, *, snapshot: bool = True) -> Iterator[Cursor]:
    """One DB-API connection in a read-only transaction, rolled back at the end.

    `snapshot=False`: each statement is its own transaction (SQLite's autocommit, as
    PostgreSQL's here always is), saving BEGIN and ROLLBACK where a block runs a single
    statement or needs no common snapshot.

    On SQLite the event loop's thread keeps one pooled connection checked out for these
    reads (they run there one at a time, never awaiting inside), saving the pool's checkout and
    reset on every request; it goes back when the engine is disposed, and a connection
    that fails is closed and replaced. Elsewhere a connection is borrowed from the pool."""
    held, registry = _held_for(engine) if engine.dialect.name == "sqlite" else (None, [])
    if engine.dialect.name != "sqlite":
        raw = _connect(engine)
        driver = raw.driver_connection
        try:
            # Each statement its own snapshot: a BEGIN, a SET TRANSACTION and a ROLLBACK
            # are three round trips more than the statement itself.
            driver.autocommit = True
            cursor = driver.cursor()
            try:
                yield Cursor(engine, cursor)
            finally:
                cursor.close()
        finally:
            try:
                driver.autocommit = False
            except engine.dialect.loaded_dbapi.Error:
                raw.invalidate()  # the connection is lost: never back to the pool
            else:
                raw.close()
        return
    if asyncio._get_running_loop() is None or (held.raw is None and len(registry) >= MAX_HELD):
        raw = _connect(engine)
        try:
            cursor = raw.cursor()
            try:
                if snapshot:
                    cursor.execute("BEGIN")  # deferred: a read snapshot, no write lock
                yield Cursor(engine, cursor)
            finally:
                cursor.close()
                if snapshot:
                    raw.driver_connection.rollback()
        finally:
            raw.close()
        return
    raw = held.raw if held.pid == os.getpid() else None
    if raw is None:
        raw = _connect(engine)
        with _HELD_LOCK:
            registry.append(raw)
        held.raw, held.pid = raw, os.getpid()
    driver = raw.driver_connection
    try:
        cursor = driver.cursor()
        if snapshot:
            cursor.execute("BEGIN")  # deferred: a read snapshot, no write lock
    except Exception as exc:
        _drop(held, registry, raw)
        if isinstance(exc, engine.dialect.loaded_dbapi.Error):
            raise wrapped(engine, "BEGIN", (), exc) from exc
        raise
    try:
        yield Cursor(engine, cursor)
    finally:
        try:
            cursor.close()  # resets its statement: no read stays open
            if snapshot:
                driver.rollback()
        except Exception:
            _drop(held, registry, raw)
            raise


def checkpoint(engine: Engine) -> tuple[int, int]:
    """A PASSIVE WAL checkpoint (SQLite), in the caller's thread: copies what it can of the
    WAL into the database without waiting for readers or writers. (frames in the WAL,
    frames copied)."""
    raw = _connect(engine)
    try:
        _busy, frames, copied = raw.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return frames, copied
    finally:
        raw.close()


class Busy(Exception):
    """SQLite's write lock is held by another connection right now (write_inline does not wait)."""


@contextmanager
def write_inline(engine: Engine) -> Iterator[Cursor]:
    """A write transaction that never waits, for a short write on an event loop (SQLite only).

    The loop's thread keeps its own writer connection (busy_timeout 0, checked out like the
    inline reader's). If the write lock is free, BEGIN IMMEDIATE takes it at once and the
    block runs and commits: in WAL mode with synchronous=NORMAL a small commit is a short
    write(2), no fsync, so the loop is blocked for well under a millisecond. If another
    connection holds the lock (a write in a thread), `Busy` is raised before anything
    ran: the caller does it the waiting way, in a thread."""
    if engine.dialect.name != "sqlite" or asyncio._get_running_loop() is None:
        raise Busy()
    held, registry = _held_for(engine)
    raw = held.writer if held.writer_pid == os.getpid() else None
    if raw is None:
        if len(registry) >= MAX_HELD:
            raise Busy()
        raw = _connect(engine)
        raw.driver_connection.execute("PRAGMA busy_timeout=0")
        # No automatic checkpoint in a commit on the loop (it copies the WAL into the database
        # and fsyncs: milliseconds): the caller runs `checkpoint` in a thread now and then.
        raw.driver_connection.execute("PRAGMA wal_autocheckpoint=0")
        with _HELD_LOCK:
            registry.append(raw)
        held.writer, held.writer_pid = raw, os.getpid()
    driver = raw.driver_connection
    cursor = driver.cursor()
    try:
        _run(Cursor(engine, cursor), "BEGIN IMMEDIATE", ())
    except DBAPIError as exc:
        cursor.close()
        if getattr(exc.orig, "sqlite_errorcode", None) == 5:  # SQLITE_BUSY
            raise Busy() from exc
        _drop_writer(held, registry, raw)
        raise
    with _committed(engine, driver, cursor, lambda: _drop_writer(held, registry, raw)) as cur:
        yield cur


@contextmanager
def _committed(engine: Engine, driver: Any, cursor: Any, broken: Any) -> Iterator[Cursor]:
    """Run the block on `cursor`, then commit; roll back if it raises (`broken()` if even
    that fails: the connection must not be used again). The cursor is closed either way."""
    try:
        yield Cursor(engine, cursor)
        try:
            driver.commit()
        except engine.dialect.loaded_dbapi.Error as exc:
            raise wrapped(engine, "COMMIT", (), exc) from exc
    except BaseException:
        try:
            driver.rollback()
        except Exception:  # noqa: BLE001 - the connection is broken
            broken()
        raise
    finally:
        with contextlib.suppress(Exception):
            cursor.close()


def _drop_writer(held: _Held, registry: list[Any], raw: Any) -> None:
    held.writer = None
    _forget(registry, raw)


def _forget(registry: list[Any], raw: Any) -> None:
    with _HELD_LOCK:
        if raw in registry:
            registry.remove(raw)
    with contextlib.suppress(Exception):
        raw.invalidate()


def _drop(held: _Held, registry: list[Any], raw: Any) -> None:
    """A held connection that failed: never reused, its pool slot freed."""
    held.raw = None
    _forget(registry, raw)


@contextmanager
def write(engine: Engine) -> Iterator[Cursor]:
    """One pooled DB-API connection in a write transaction, committed at the end (rolled back
    if the block raises). SQLite: BEGIN IMMEDIATE (the write lock first, as every write here
    takes it); PostgreSQL: the driver's own transaction."""
    raw = _connect(engine)
    lost: list[bool] = []

    def broken() -> None:  # never back to the pool
        raw.invalidate()
        lost.append(True)

    driver = raw.driver_connection
    try:
        with _committed(engine, driver, driver.cursor(), broken) as cur:
            if engine.dialect.name == "sqlite":
                take_turn = getattr(driver, "take_turn", None)  # careplans.db.GatedConnection
                if take_turn is not None:
                    take_turn()  # the process's turn first, then SQLite's lock (given back at commit/rollback)
                _run(cur, "BEGIN IMMEDIATE", ())
            yield cur
    finally:
        if not lost:
            raw.close()


class _NothingWritten(Exception):
    pass


def write_if(engine: Engine, work: Callable[[Cursor], T | None]) -> T | None:
    """`work(cursor)` in a `write` transaction: committed when it returns a result, rolled
    back when it returns None (it wrote nothing: the caller takes another path) or raises."""
    try:
        with write(engine) as cur:
            result = work(cur)
            if result is None:
                raise _NothingWritten()
            return result
    except _NothingWritten:
        return None
