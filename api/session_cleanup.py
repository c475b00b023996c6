"""The periodic tidy-up every app process runs: expired sessions and spent login delays."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from advanced_alchemy.extensions.litestar import SQLAlchemySyncConfig
from advanced_alchemy.utils.sync_tools import async_

from api.security import DatabaseSessionConfig
from careplans.services import throttle

log = logging.getLogger("careplans")


def start_cleanup(session_config: DatabaseSessionConfig, alchemy: SQLAlchemySyncConfig, minutes: int):
    """on_startup: every `minutes`, delete expired sessions and spent login delays.

    Runs in every app process without an operator; each delete is idempotent, so several
    processes doing it at once is harmless."""

    def delete_spent_throttles() -> int:
        with alchemy.get_session() as db:
            count = throttle.delete_expired(db)
            db.commit()
            return count

    async def start(app: Any) -> None:
        backend = session_config._backend_class(config=session_config)

        async def loop() -> None:
            while True:
                # Wait first: start-up is busy enough (and tests set up data then).
                await asyncio.sleep(max(minutes * 60, 1))
                try:
                    await backend.delete_expired()
                    await async_(delete_spent_throttles)()
                except Exception as exc:  # noqa: BLE001 - the database may be away; try next time
                    log.warning("session cleanup failed: %s", type(exc).__name__)

        app.state.cleanup_task = asyncio.create_task(loop())

    return start


async def stop_cleanup(app: Any) -> None:
    task = getattr(app.state, "cleanup_task", None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
