"""Short write transactions on the driver's connection (careplans.rawsql, for writes).

    result = rawwrite.run(engine, work)            # work(cursor) -> a result, or None

`work` runs in one write transaction: committed when it returns a result, rolled back
when it returns None (it wrote nothing: the caller takes another path) or raises. Its
statements are `rawsql.Prepared` ones, built once, without SQLAlchemy's per-statement
work (see rawsql for why that matters on a hot path).

SQLite: the process's turn for the write lock, then BEGIN IMMEDIATE, as every other
write here (careplans.db). PostgreSQL: the driver's own transaction (READ COMMITTED), as
the ORM's. Run it in a worker thread, not on the event loop: it may wait for the write
lock, and SQLite's commit writes to (and now and then checkpoints) the WAL.
"""

from __future__ import annotations

from typing import Callable, TypeVar

from sqlalchemy import Engine, text

from careplans import rawsql
from careplans.db import GatedConnection
from careplans.rawsql import _connect, _wrapped  # the driver connection and its errors, as rawsql.read_only takes them

T = TypeVar("T")
_BEGIN = rawsql.Prepared(text("BEGIN IMMEDIATE"))


def run(engine: Engine, work: Callable[[rawsql.Cursor], T | None]) -> T | None:
    """`work`'s result, committed; None (rolled back) when it had nothing to write."""
    raw = _connect(engine)
    driver = raw.driver_connection
    try:
        cur = rawsql.Cursor(engine, driver.cursor())
        if isinstance(driver, GatedConnection):
            driver.take_turn()  # the process's turn first, then SQLite's lock
            try:
                _BEGIN.execute(cur, {})
            except BaseException:
                driver.give_back()
                raise
        try:
            result = work(cur)
        except BaseException:
            driver.rollback()
            raise
        if result is None:
            driver.rollback()
            return None
        try:
            driver.commit()
        except engine.dialect.loaded_dbapi.Error as exc:
            driver.rollback()
            raise _wrapped(engine, "COMMIT", None, exc) from exc
        return result
    finally:
        raw.close()
