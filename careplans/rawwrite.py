"""Short write transactions on the driver's connection (careplans.rawsql, for writes).

    outcome = rawwrite.run(engine, work)            # work(cursor) -> a result, or None

`work` runs in one write transaction: committed when it returns a result, rolled back
when it returns None (it wrote nothing: the caller takes another path) or raises. Its
statements are `rawsql.Prepared` ones, built once, without SQLAlchemy's per-statement
work (see rawsql for why that matters on a hot path).

SQLite: the process's turn for the write lock, then BEGIN IMMEDIATE, as every other
write here (careplans.db). With `wait=False` nothing waits: when another writer has the
turn, or another process holds SQLite's lock, `run` returns NOT_NOW at once, having done
nothing. That is for a write tried on the event loop, which must never wait for a lock
(the caller then goes to the thread pool and waits there).
PostgreSQL: the driver's own transaction (READ COMMITTED), as the ORM's.
"""

from __future__ import annotations

from typing import Any, Callable, Final, TypeVar

from sqlalchemy import Engine, text

from careplans import rawsql
from careplans.rawsql import _connect, _wrapped  # the driver connection and its errors, as rawsql.read_only takes them
from careplans.db import BUSY_TIMEOUT_SECONDS, GatedConnection

T = TypeVar("T")
NOT_NOW: Final = object()  # the write lock was not free and the caller asked not to wait
_BEGIN = rawsql.Prepared(text("BEGIN IMMEDIATE"))


def run(engine: Engine, work: Callable[[rawsql.Cursor], T | None], *, wait: bool = True) -> T | None | object:
    """`work`'s result, committed; None (rolled back) when it had nothing to write; NOT_NOW
    (SQLite, `wait=False`) when the write lock was taken."""
    raw = _connect(engine)
    driver = raw.driver_connection
    try:
        cursor = driver.cursor()
        cur = rawsql.Cursor(engine, cursor)
        if isinstance(driver, GatedConnection) and not _begin_sqlite(driver, cur, wait):
            return NOT_NOW
        try:
            result = work(cur)
        except BaseException:
            driver.rollback()
            raise
        if result is None:
            driver.rollback()
        else:
            try:
                driver.commit()
            except engine.dialect.loaded_dbapi.Error as exc:
                driver.rollback()
                raise _wrapped(engine, "COMMIT", None, exc) from exc
        return result
    finally:
        raw.close()


def _begin_sqlite(driver: GatedConnection, cur: rawsql.Cursor, wait: bool) -> bool:
    if not driver.take_turn(wait):
        return False
    if wait:
        try:
            _BEGIN.run(cur, {})
        except BaseException:
            driver.give_back()
            raise
        return True
    # Not waiting for another process either: SQLite answers "busy" at once instead.
    cursor: Any = cur.cursor
    cursor.execute("PRAGMA busy_timeout=0")
    try:
        _BEGIN.run(cur, {})
    except Exception as exc:
        driver.give_back()
        if getattr(getattr(exc, "orig", None), "sqlite_errorname", "") == "SQLITE_BUSY":
            return False
        raise
    finally:
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_SECONDS * 1000)}")
    return True
