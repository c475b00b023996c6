"""The baseline: a bare Litestar hello-world app, served exactly like the real app.

`make bench` runs it under the same uvicorn settings (one worker, same host and
flags) in the same run, and every throughput figure is a ratio to it.
"""

from __future__ import annotations

from litestar import Litestar, get


@get("/")
async def hello() -> dict[str, str]:
    return {"status": "ok"}


app = Litestar(route_handlers=[hello], debug=False)
