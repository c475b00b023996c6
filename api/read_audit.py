"""The edge side of group-committed read audit (careplans.audit_batch) and the view cache.

Each app process has one `GroupCommitter` (its writer thread starts with the app, or on
the first read when no lifespan ran) and one `ViewCache`. A handler awaits its read's
audit row with `await audited(request, event)` before it returns: the response is sent
only after the row has committed; if the batch failed, `AuditUnavailable` answers 503.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from anyio import to_thread
from litestar import Litestar, Request
from sqlalchemy import Engine

from careplans import pg_async, reading
from careplans.audit_batch import GroupCommitter, Pending
from careplans.db import reads_inline
from careplans.reading import Presented, ViewCache

T = TypeVar("T")


def install(app: Litestar, engine: Engine) -> None:
    app.state.audit_committer = GroupCommitter(engine)
    app.state.view_cache = ViewCache()


async def start(app: Litestar) -> None:
    app.state.audit_committer.start()
    await pg_async.open_for(app.state.engine)  # PostgreSQL: the hot statements on this loop


async def stop(app: Litestar) -> None:
    """Commit what is queued and end the writer, then close the async connections (before
    the engine is disposed)."""
    await app.state.audit_committer.drain()
    await to_thread.run_sync(app.state.audit_committer.stop)
    await pg_async.close(app.state.engine)


async def current_plan(request: Request, principal: Any, plan_id: str) -> tuple[Presented, Pending]:
    return await current_plan_in(request.app, principal, plan_id)


async def current_plan_in(app: Litestar, principal: Any, plan_id: str) -> tuple[Presented, Pending]:
    """careplans.reading's read of the current plan, the cheapest way for this database:
    SQLite on the loop; PostgreSQL's revision query on the loop (async driver), a view not
    yet cached read in a thread."""
    state = app.state
    if pg_async.enabled(state.engine):
        return await reading.read_current_async(state.engine, principal, plan_id, state.view_cache,
                                                to_thread.run_sync)
    return await read_only(state.engine, reading.read_current, state.engine, principal, plan_id, state.view_cache)


async def read_only(engine: Engine, fn: Callable[..., T], *args: Any) -> T:
    """Run a short read-only database function: on the event loop where that is cheaper
    (careplans.db.reads_inline: SQLite), else in one hop to the thread pool."""
    if reads_inline(engine):
        return fn(*args)
    return await to_thread.run_sync(fn, *args)


async def audited(request: Request, event: Pending) -> int:
    """Wait until this read's audit row is committed (its sequence number)."""
    return await audited_in(request.app, event)


async def audited_in(app: Litestar, event: Pending) -> int:
    committer: GroupCommitter = app.state.audit_committer
    return await committer.submit_async(event)
