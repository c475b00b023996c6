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

from careplans.audit_batch import GroupCommitter, Pending
from careplans.db import reads_inline
from careplans.reading import ViewCache

T = TypeVar("T")


def install(app: Litestar, engine: Engine) -> None:
    app.state.audit_committer = GroupCommitter(engine)
    app.state.view_cache = ViewCache()


async def start(app: Litestar) -> None:
    app.state.audit_committer.start()


async def stop(app: Litestar) -> None:
    """Commit what is queued and end the writer (before the engine is disposed)."""
    await to_thread.run_sync(app.state.audit_committer.stop)


async def read_only(engine: Engine, fn: Callable[..., T], *args: Any) -> T:
    """Run a short read-only database function: on the event loop where that is cheaper
    (careplans.db.reads_inline: SQLite), else in one hop to the thread pool."""
    if reads_inline(engine):
        return fn(*args)
    return await to_thread.run_sync(fn, *args)


async def audited(request: Request, event: Pending) -> int:
    """Wait until this read's audit row is committed (its sequence number)."""
    committer: GroupCommitter = request.app.state.audit_committer
    return await committer.submit_async(event)
