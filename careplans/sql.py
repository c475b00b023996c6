"""Small SQL expressions that SQLite and PostgreSQL spell differently.

The reports aggregate in the database; these let one query run on both:
- `json_text(col, "a", "b")`: the value at a path of a JSON document kept as text,
  as text ('true'/'false' for booleans on both).
- `jsonb_text(col, "a", "b")`: the same on an already parsed JSONB value (PostgreSQL).
- `days_between(a, b)`: whole days from date/timestamp a to b.
- `quarter_of(ts)`: "2026-Q3".
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement


class json_text(FunctionElement):  # noqa: N801 - reads like a SQL function
    type = String()
    inherit_cache = True

    def __init__(self, column: Any, *path: str) -> None:
        self.path = tuple(path)
        super().__init__(column)


@compiles(json_text, "sqlite")
def _json_text_sqlite(element: json_text, compiler, **kw) -> str:
    col = compiler.process(list(element.clauses)[0], **kw)
    path = "$." + ".".join(element.path)
    # json_extract gives 1/0 for JSON booleans; report them as PostgreSQL does.
    return (f"(CASE json_type({col}, '{path}') WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' "
            f"ELSE CAST(json_extract({col}, '{path}') AS TEXT) END)")


@compiles(json_text, "postgresql")
def _json_text_pg(element: json_text, compiler, **kw) -> str:
    col = compiler.process(list(element.clauses)[0], **kw)
    path = "{" + ",".join(element.path) + "}"
    return f"(CAST({col} AS JSONB) #>> '{path}')"


class jsonb_text(FunctionElement):  # noqa: N801
    """`json_text` on a PostgreSQL JSONB value already parsed (see `report_checklist`: a
    document cast once per row in a LATERAL subquery, then read at several paths; casting
    it for every path parses it again each time)."""

    type = String()
    inherit_cache = True

    def __init__(self, column: Any, *path: str) -> None:
        self.path = tuple(path)
        super().__init__(column)


@compiles(jsonb_text, "postgresql")
def _jsonb_text_pg(element: jsonb_text, compiler, **kw) -> str:
    col = compiler.process(list(element.clauses)[0], **kw)
    return f"({col} #>> '{{{','.join(element.path)}}}')"


class days_between(FunctionElement):  # noqa: N801
    type = Integer()
    inherit_cache = True


@compiles(days_between, "sqlite")
def _days_sqlite(element: days_between, compiler, **kw) -> str:
    a, b = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(julianday(date({b})) - julianday(date({a})) AS INTEGER)"


@compiles(days_between, "postgresql")
def _days_pg(element: days_between, compiler, **kw) -> str:
    a, b = (compiler.process(c, **kw) for c in element.clauses)
    return f"(CAST({b} AS DATE) - CAST({a} AS DATE))"


class quarter_of(FunctionElement):  # noqa: N801
    type = String()
    inherit_cache = True


@compiles(quarter_of, "sqlite")
def _quarter_sqlite(element: quarter_of, compiler, **kw) -> str:
    ts = compiler.process(list(element.clauses)[0], **kw)
    return f"(strftime('%Y', {ts}) || '-Q' || ((CAST(strftime('%m', {ts}) AS INTEGER) + 2) / 3))"


@compiles(quarter_of, "postgresql")
def _quarter_pg(element: quarter_of, compiler, **kw) -> str:
    ts = compiler.process(list(element.clauses)[0], **kw)
    return f"to_char({ts} AT TIME ZONE 'UTC', 'YYYY-\"Q\"Q')"
