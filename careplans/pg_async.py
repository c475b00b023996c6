"""PostgreSQL's hot statements on the event loop, with psycopg's async connections.

Every plan read runs three short statements (session row, user, plan revision) and one
audit batch. With the synchronous driver each is a hop to the thread pool and back, and
the threads then fight the event loop for the GIL while they wait on the network. With
psycopg's `AsyncConnection` the loop sends the statement and serves other requests until
the answer comes: no thread, no hop.

- One `psycopg_pool.AsyncConnectionPool` per engine, opened by `open_for` at start-up on the
  loop that serves requests (a pool belongs to one loop), closed by `close` at shut-down.
  `enabled(engine)` says whether the running loop has it; callers fall back to threads.
- Connections are autocommit (a statement is its own snapshot, as `rawsql.read_only` on
  PostgreSQL); `write` wraps its block in a transaction.
- Statements are `rawsql.Prepared`: compiled once by SQLAlchemy, bound by its types, and
  seen by the engine's `before_cursor_execute` listeners; the driver's errors are raised as
  SQLAlchemy's (a database that is away answers 503, as everywhere else).
- A connection idle longer than `careplans.db.PING_IDLE_SECONDS` is pinged before it is lent
  (as the synchronous pool does); after a failure every idle connection is checked, so a
  restarted server costs one failed request, not one per pooled connection.

- `first_batched`: the single-statement reads that reach the loop in one turn go down ONE
  connection in one pipeline (one wait for all of them, not one each: psycopg's wait per
  statement costs more CPU than the statement's own work). Each read still has its own
  statement, parameters and result; if the pipeline fails, each is run again on its own,
  so one read's error is its own.

Only for `engine.dialect.name == "postgresql"`; SQLite's reads run on the loop already.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

from sqlalchemy import Engine

from careplans.db import PING_IDLE_SECONDS
from careplans.prepared import Cursor, Prepared, notify, wrapped

_BOUND: dict[int, tuple[asyncio.AbstractEventLoop, Any]] = {}  # id(engine) -> (loop, pool)
# Reads waiting for the next pipeline, per engine (each engine's pool lives on one loop).
_WAITING: dict[int, list[tuple[Prepared, dict[str, Any], asyncio.Future[Any]]]] = {}
POOL_SIZE = (2, 10)  # min, max connections per process (the synchronous pool is 20 + 20)
CHECKOUT_TIMEOUT = 5.0  # seconds; then the request answers 503 rather than wait on


def enabled(engine: Engine) -> bool:
    """Whether the running event loop has this engine's async pool (`open_for` ran on it)."""
    bound = _BOUND.get(id(engine))
    return bound is not None and bound[0] is asyncio._get_running_loop()


def _conninfo(engine: Engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


async def _check_if_idle(conn: Any) -> None:
    used = getattr(conn, "careplans_used", None)
    if used is None or time.monotonic() - used >= PING_IDLE_SECONDS:
        await conn.execute("SELECT 1")


async def _mark_used(conn: Any) -> None:
    conn.careplans_used = time.monotonic()  # type: ignore[attr-defined]


async def open_for(engine: Engine) -> None:
    """At start-up, on the loop that will serve requests: open the engine's async pool there.
    (A pool belongs to one loop; requests on any other loop, such as a test client's own,
    take the synchronous path.)"""
    if engine.dialect.name != "postgresql" or enabled(engine):
        return
    from psycopg_pool import AsyncConnectionPool

    pool = AsyncConnectionPool(_conninfo(engine), min_size=POOL_SIZE[0], max_size=POOL_SIZE[1],
                               kwargs={"autocommit": True}, check=_check_if_idle, reset=_mark_used,
                               timeout=CHECKOUT_TIMEOUT, open=False, name="careplans-hot")
    await pool.open(wait=False)  # a database that is away now is no reason not to start
    _BOUND[id(engine)] = (asyncio.get_running_loop(), pool)


async def close(engine: Engine) -> None:
    """At shut-down, on the same loop: close the pool."""
    bound = _BOUND.get(id(engine))
    if bound is not None and bound[0] is asyncio.get_running_loop():
        del _BOUND[id(engine)]
        await bound[1].close()


class AsyncCursor(Cursor):
    """A psycopg AsyncCursor with the engine it belongs to (for listeners and error wrapping)."""

    async def first(self, statement: Prepared, params: dict[str, Any], *, raw: bool = False) -> tuple[Any, ...] | None:
        sql, args = statement.driver_call(self.dialect, params)
        await self._run(sql, args)
        row = await self.cursor.fetchone()
        if row is None or raw:
            return row
        return statement.processed(self.dialect, row)

    async def execute(self, statement: Prepared, params: dict[str, Any]) -> None:
        await self._run(*statement.driver_call(self.dialect, params))

    async def executemany(self, statement: Prepared, rows: list[dict[str, Any]]) -> None:
        sql, _ = statement.driver_call(self.dialect, rows[0])
        args = [statement.driver_call(self.dialect, row)[1] for row in rows]
        notify(self, sql, args, many=True)
        try:
            await self.cursor.executemany(sql, args)
        except self.dialect.loaded_dbapi.Error as exc:
            raise wrapped(self.engine, sql, args, exc) from exc

    async def _run(self, sql: str, args: Any) -> None:
        notify(self, sql, args)
        try:
            await self.cursor.execute(sql, args)
        except self.dialect.loaded_dbapi.Error as exc:
            raise wrapped(self.engine, sql, args, exc) from exc


@asynccontextmanager
async def _lent(engine: Engine, *, transaction: bool) -> AsyncIterator[AsyncCursor]:
    import psycopg

    pool = _BOUND[id(engine)][1]
    try:
        async with pool.connection() as conn:
            if transaction:
                # Pipeline mode: BEGIN goes out with the first statement, and what follows the
                # last read (the inserts, the head's move, COMMIT) in one go: two round trips
                # for the audit batch instead of five. (Reading a result syncs the pipeline.)
                async with conn.pipeline(), conn.transaction():
                    async with conn.cursor() as cur:
                        yield AsyncCursor(engine, cur)
            else:
                async with conn.cursor() as cur:
                    yield AsyncCursor(engine, cur)
    except psycopg.OperationalError as exc:
        # The server went away or was restarted: find the other dead connections now.
        _check_soon(pool)
        raise wrapped(engine, "", None, exc) from exc
    except Exception as exc:
        if isinstance(getattr(exc, "orig", None), psycopg.OperationalError):
            _check_soon(pool)
        raise


_CHECKS: set[asyncio.Task[None]] = set()  # referenced until done (the loop keeps only weak ones)


def _check_soon(pool: Any) -> None:
    task = asyncio.get_running_loop().create_task(_check_quietly(pool))
    _CHECKS.add(task)
    task.add_done_callback(_CHECKS.discard)


async def _check_quietly(pool: Any) -> None:
    try:
        await pool.check()
    except Exception:  # noqa: BLE001 - the pool replaces what fails; nothing to report here
        pass


async def first_batched(engine: Engine, statement: Prepared, params: dict[str, Any]) -> tuple[Any, ...] | None:
    """`statement`'s first row as the driver returns it (raw), sent with the other reads queued
    in this turn of the loop in one pipeline on one connection (each its own snapshot)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()
    waiting = _WAITING.get(id(engine))
    if waiting is None:
        waiting = _WAITING[id(engine)] = []
        loop.call_soon(_start_batch, engine)
    waiting.append((statement, params, future))
    return await future


_BATCHES: set[asyncio.Task[None]] = set()  # referenced until done


def _start_batch(engine: Engine) -> None:
    batch = _WAITING.pop(id(engine), [])
    if batch:
        task = asyncio.get_running_loop().create_task(_run_batch(engine, batch))
        _BATCHES.add(task)
        task.add_done_callback(_BATCHES.discard)


async def _run_batch(engine: Engine, batch: list[tuple[Prepared, dict[str, Any], asyncio.Future[Any]]]) -> None:
    rows: list[Any] = []
    try:
        if len(batch) > 1:
            async with _lent(engine, transaction=False) as cur, cur.cursor.connection.pipeline() as pipeline:
                cursors = []
                for statement, params, _ in batch:
                    one = AsyncCursor(engine, cur.cursor.connection.cursor())
                    sql, args = statement.driver_call(one.dialect, params)
                    notify(one, sql, args)
                    await one.cursor.execute(sql, args)
                    cursors.append(one.cursor)
                await pipeline.sync()
                rows = [await c.fetchone() for c in cursors]
    except Exception:  # noqa: BLE001 - each read is run again alone below, its error its own
        rows = []
    if len(rows) != len(batch):
        for statement, params, future in batch:  # alone: one read, or the pipeline failed
            try:
                async with _lent(engine, transaction=False) as cur:
                    row = await cur.first(statement, params, raw=True)
            except Exception as exc:  # noqa: BLE001 - handed to the read that asked
                if not future.done():
                    future.set_exception(exc)
            else:
                if not future.done():
                    future.set_result(row)
        return
    for (_, _, future), row in zip(batch, rows):
        if not future.done():
            future.set_result(row)


def read_only(engine: Engine):
    """`async with pg_async.read_only(engine) as cur:` each statement its own snapshot."""
    return _lent(engine, transaction=False)


def write(engine: Engine):
    """`async with pg_async.write(engine) as cur:` one transaction, committed at the end,
    its statements pipelined (errors may surface at the next read or at COMMIT)."""
    return _lent(engine, transaction=True)
