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
  then ROLLBACK. PostgreSQL: the driver opens the transaction itself (REPEATABLE READ when
  asked), and it is rolled back.
- Values go through the column types' bind and result processors, as SQLAlchemy does, so
  rows hold the same Python values (UUIDs, aware datetimes) as `conn.execute` returns.
- Listeners on the engine's `before_cursor_execute` still see every statement (the
  statement-count tests and the bench count them).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any, Iterator

from sqlalchemy import Engine


class Prepared:
    """A Core SELECT compiled once per dialect, run on a DB-API cursor."""

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
        results = [col.type._cached_result_processor(dialect, None) for col in self.statement.selected_columns]
        order = list(compiled.positiontup) if compiled.positional else None
        names = [col.key for col in self.statement.selected_columns]
        found = (compiled, binds, results, order, names)
        with self._lock:
            self._compiled[dialect.name] = found
        return found

    def first(self, cur: "Cursor", params: dict[str, Any]) -> tuple[Any, ...] | None:
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
        cur.cursor.execute(sql, args)
        row = cur.cursor.fetchone()
        if row is None:
            return None
        return tuple(value if process is None else process(value) for process, value in zip(results, row))


class Cursor:
    def __init__(self, engine: Engine, cursor: Any) -> None:
        self.engine = engine
        self.dialect = engine.dialect
        self.cursor = cursor


@contextmanager
def read_only(engine: Engine, *, repeatable: bool = False) -> Iterator[Cursor]:
    """One pooled DB-API connection in a read-only transaction, rolled back at the end."""
    raw = engine.raw_connection()
    try:
        driver = raw.driver_connection
        cursor = raw.cursor()
        try:
            if engine.dialect.name == "sqlite":
                cursor.execute("BEGIN")  # deferred: a read snapshot, no write lock
            elif repeatable:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            yield Cursor(engine, cursor)
        finally:
            cursor.close()
            driver.rollback()
    finally:
        raw.close()
