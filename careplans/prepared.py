"""A Core statement compiled once per dialect and run on a DB-API cursor (careplans.rawsql
lends the connections).

`Prepared` compiles a SQLAlchemy Core statement once per dialect (still parameterised: the
driver binds every value, nothing is built from strings). Values go through the column
types' bind and result processors, as SQLAlchemy does, so rows hold the same Python values
(UUIDs, aware datetimes) as `conn.execute` returns; listeners on the engine's
`before_cursor_execute` still see every statement (`notify`: the statement-count tests and
the bench count them); the driver's errors are raised as SQLAlchemy's (`wrapped`).
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError


class Prepared:
    """A Core statement compiled once per dialect, run on a DB-API cursor: `first` for a
    SELECT's first row, `execute` and `executemany` for writes (inside `write`)."""

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        self._compiled: dict[str, tuple[Any, ...]] = {}
        self._lock = threading.Lock()
        # Per dialect and set of parameter names: the driver's arguments with every value
        # fixed in the statement already bound and processed, and where the named ones go.
        self._shapes: dict[tuple[str, tuple[str, ...]], Any] = {}

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

    def _args(self, found: tuple[Any, ...], params: dict[str, Any]) -> Any:
        """The driver's arguments for these parameters. The statement's other values (the
        policy's scope binds the reader's id, for one) are the same on every run: they are
        bound and processed once per set of parameter names (`_shape`), so a run only
        processes the values it was given. Statements SQLAlchemy would rewrite per run
        (expanding IN, escaped names, callables) take the general path every time."""
        shape = self._shapes.get((found[0].dialect.name, tuple(params)))
        if shape is None:
            shape = self._shape(found, tuple(params))
        if shape is False:
            return self._general_args(found, params)
        template, slots = shape
        args = template.copy()
        for index, name, process in slots:
            value = params[name]
            args[index] = value if process is None else process(value)
        return tuple(args) if found[3] is not None else args

    def _shape(self, found: tuple[Any, ...], names: tuple[str, ...]) -> Any:
        compiled, binds, _, order, _ = found
        if (getattr(compiled, "escaped_bind_names", None) or compiled.literal_execute_params
                or compiled.post_compile_params or any(b.callable is not None for b in compiled.binds.values())
                or any(name not in binds for name in names)
                or any(b.required and name not in names for name, b in compiled.binds.items())):
            shape: Any = False
        else:
            values = compiled.construct_params(dict.fromkeys(names), _check=False)
            for name, process in binds.items():
                if process is not None and name in values and name not in names:
                    values[name] = process(values[name])  # fixed values: processed once, here
            if order is not None:
                template: Any = [values[n] for n in order]
                slots = [(i, n, binds[n]) for i, n in enumerate(order) if n in names]
            else:
                template = dict(values)
                slots = [(n, n, binds[n]) for n in names if n in template]
            shape = (template, slots)
        with self._lock:
            self._shapes[(compiled.dialect.name, names)] = shape
        return shape

    @staticmethod
    def _general_args(found: tuple[Any, ...], params: dict[str, Any]) -> Any:
        compiled, binds, _, order, _ = found
        values = compiled.construct_params(params)
        for name, process in binds.items():
            if process is not None and name in values:
                values[name] = process(values[name])
        return tuple(values[n] for n in order) if order is not None else values

    def first(self, cur: "Cursor", params: dict[str, Any], *, raw: bool = False) -> tuple[Any, ...] | None:
        """The first row, its values as SQLAlchemy would return them; `raw=True`: as the
        driver returned them (enough to compare two reads; `value` converts one column)."""
        found = self._for(cur.dialect)
        row = _run(cur, found[0].string, self._args(found, params), fetch=True)
        if row is None or raw:
            return row
        return self.processed(cur.dialect, row)

    def processed(self, dialect: Any, row: tuple[Any, ...]) -> tuple[Any, ...]:
        """A raw row's values converted by the columns' types."""
        return tuple(value if process is None else process(value)
                     for process, value in zip(self._for(dialect)[2], row))

    def driver_call(self, dialect: Any, params: dict[str, Any]) -> tuple[str, Any]:
        """(SQL, parameters) as the driver takes them: for `Connection.exec_driver_sql`, which
        returns raw values as `first(raw=True)` does."""
        found = self._for(dialect)
        return found[0].string, self._args(found, params)

    def value(self, cur: "Cursor | Engine", row: tuple[Any, ...], index: int) -> Any:
        """One column of a raw row, converted as `first` would (for the dialect of the cursor or
        engine given)."""
        process = self._for(cur.dialect)[2][index]
        return row[index] if process is None else process(row[index])

    def execute(self, cur: "Cursor", params: dict[str, Any]) -> None:
        found = self._for(cur.dialect)
        _run(cur, found[0].string, self._args(found, params))

    def executemany(self, cur: "Cursor", rows: list[dict[str, Any]]) -> None:
        found = self._for(cur.dialect)
        _run(cur, found[0].string, [self._args(found, row) for row in rows], many=True)


def _run(cur: "Cursor", sql: str, args: Any, *, fetch: bool = False, many: bool = False) -> Any:
    """Run one statement, telling the engine's `before_cursor_execute` listeners first and
    raising the driver's errors as SQLAlchemy's."""
    notify(cur, sql, args, many=many)
    try:
        if many:
            cur.cursor.executemany(sql, args)
            return None
        cur.cursor.execute(sql, args)
        return cur.cursor.fetchone() if fetch else None
    except cur.dialect.loaded_dbapi.Error as exc:
        raise wrapped(cur.engine, sql, args, exc) from exc


def notify(cur: "Cursor", sql: str, args: Any, *, many: bool = False) -> None:
    """Tell the engine's `before_cursor_execute` listeners (statement counts, the bench)."""
    if cur.engine.dispatch.before_cursor_execute:
        for listener in cur.engine.dispatch.before_cursor_execute:
            listener(None, cur.cursor, sql, args, None, many)


def wrapped(engine: Engine, sql: str, args: Any, exc: Exception) -> Exception:
    """The driver's error as SQLAlchemy's (OperationalError and so on), as `conn.execute` raises
    it: the app's handlers answer a database that is away or busy with 503, not 500."""
    return DBAPIError.instance(sql, args, exc, engine.dialect.loaded_dbapi.Error, dialect=engine.dialect)


class Cursor:
    def __init__(self, engine: Engine, cursor: Any) -> None:
        self.engine = engine
        self.dialect = engine.dialect
        self.cursor = cursor
