"""Run a test in a thread of its own.

The browser tests' sync Playwright leaves an event loop marked running in the main thread,
so in the full suite `asyncio.run` there fails, and code that asks "am I on a loop?" is
told yes. A test that runs its own loop, or must be off one, runs in a fresh thread.
"""

from __future__ import annotations

import functools
import threading
from typing import Any, Callable


def in_a_fresh_thread(fn: Callable[[], Any]) -> Any:
    """Call fn in a new thread and wait: its result, or what it raised, re-raised here."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test's thread
            outcome["error"] = exc

    worker = threading.Thread(target=target)
    worker.start()
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def off_the_main_thread(test: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: the whole test (fixtures still given by pytest) runs in a fresh thread."""

    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return in_a_fresh_thread(lambda: test(*args, **kwargs))

    return wrapper


async def wait_until(done: Callable[[], bool], seconds: float = 10.0) -> None:
    """On a test's own loop: let it turn (work handed to threads finishing) until done() or
    the time is up; the test's assertions then say what was missing."""
    import asyncio

    for _ in range(int(seconds / 0.05)):
        if done():
            return
        await asyncio.sleep(0.05)
