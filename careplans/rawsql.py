"""Hot read statements run on the driver's connection, skipping SQLAlchemy's per-statement work.

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
from typing import Any, Iterator

from sqlalchemy import Engine, event
from sqlalchemy.exc import DBAPIError


class Prepared:
    """A Core statement compiled once per dialect, run on a DB-API cursor: `first` for a
    SELECT's first row, `execute` for an INSERT or UPDATE given every column it sets
    (column defaults are not applied here)."""

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        self._compiled: dict[str, tuple[Any, ...]] = {}
        self._lock = threading.Lock()

    def _for(self, dialect: Any) -> tuple[Any, ...]:
        found = self._compiled.get(dialect.name)
        if found is not None:
            return found
        compiled = self.statement.compile(dialect=dialect)
        binds = {name: b.type._cached_bind_processor(dialect) for name, b in compiled.binds.items()}
        selected = list(self.statement.selected_columns) if getattr(self.statement, "is_select", False) else []
        results = [col.type._cached_result_processor(dialect, None) for col in selected]
        order = list(compiled.positiontup) if compiled.positional else None
        names = [col.key for col in selected]
        found = (compiled, binds, results, order, names)
        with self._lock:
            self._compiled[dialect.name] = found
        return found

    def first(self, cur: "Cursor", params: dict[str, Any]) -> tuple[Any, ...] | None:
        results = self._execute(cur, params)
        try:
            row = cur.cursor.fetchone()
        except cur.dialect.loaded_dbapi.Error as exc:
            raise _wrapped(cur.engine, self._for(cur.dialect)[0].string, None, exc) from exc
        if row is None:
            return None
        return tuple(value if process is None else process(value) for process, value in zip(results, row))

    def execute(self, cur: "Cursor", params: dict[str, Any]) -> None:
        """Run an INSERT or UPDATE (`cur.cursor.rowcount`: the rows it changed)."""
        self._execute(cur, params)

    def _execute(self, cur: "Cursor", params: dict[str, Any]) -> list[Any]:
        compiled, binds, results, order, _ = self._for(cur.dialect)
        values = compiled.construct_params(params)
        for name, process in binds.items():
            if process is not None and name in values:
                values[name] = process(values[name])
        args: Any = tuple(values[n] for n in order) if order is not None else values
        sql = compiled.string
        if cur.engine.dispatch.before_cursor_execute:
            for listener in cur.engine.dispatch.before_cursor_execute:
                listener(None, cur.cursor, sql, args, None, False)
        try:
            cur.cursor.execute(sql, args)
        except cur.dialect.loaded_dbapi.Error as exc:
            raise _wrapped(cur.engine, sql, args, exc) from exc
        return results


def _wrapped(engine: Engine, sql: str, args: Any, exc: Exception) -> Exception:
    """The driver's error as SQLAlchemy's (OperationalError and so on), as `conn.execute` raises
    it: the app's handlers answer a database that is away or busy with 503, not 500."""
    return DBAPIError.instance(sql, args, exc, engine.dialect.loaded_dbapi.Error, dialect=engine.dialect)


def _connect(engine: Engine) -> Any:
    try:
        return engine.raw_connection()
    except engine.dialect.loaded_dbapi.Error as exc:  # the database refused or is away
        raise _wrapped(engine, "", None, exc) from exc


class Cursor:
    def __init__(self, engine: Engine, cursor: Any) -> None:
        self.engine = engine
        self.dialect = engine.dialect
        self.cursor = cursor


class _Held(threading.local):
    """Per thread: a pooled SQLite connection kept checked out for inline reads (see read_only)."""

    def __init__(self) -> None:
        self.raw: Any = None
        self.pid = 0


_HELD: dict[tuple[int, int], tuple[Engine, _Held, list[Any]]] = {}
_HELD_LOCK = threading.Lock()
MAX_HELD = 4  # event loop threads holding one each (a test client's loop runs in its own thread)


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
            raw.close()
    found[2].clear()


@contextmanager
def read_only(engine: Engine) -> Iterator[Cursor]:
    """One DB-API connection in a read-only transaction, rolled back at the end.

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
                cursor.execute("BEGIN")  # deferred: a read snapshot, no write lock
                yield Cursor(engine, cursor)
            finally:
                cursor.close()
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
        cursor.execute("BEGIN")  # deferred: a read snapshot, no write lock
    except Exception as exc:
        _drop(held, registry, raw)
        if isinstance(exc, engine.dialect.loaded_dbapi.Error):
            raise _wrapped(engine, "BEGIN", (), exc) from exc
        raise
    try:
        yield Cursor(engine, cursor)
    finally:
        try:
            cursor.close()
            driver.rollback()
        except Exception:
            _drop(held, registry, raw)
            raise


def _drop(held: _Held, registry: list[Any], raw: Any) -> None:
    """A held connection that failed: never reused, its pool slot freed."""
    held.raw = None
    with _HELD_LOCK:
        if raw in registry:
            registry.remove(raw)
    with contextlib.suppress(Exception):
        raw.invalidate()
