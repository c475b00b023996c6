"""Servers for the crash test, started in milliseconds: a parent that has imported and built
the app forks one uvicorn server per request (a port on stdin → the child's pid on stdout).

`python tests/crash_server.py [username password plan_id]`: with a login and a plan, the
parent serves them once in-process before forking (warm compiled-statement caches).
Each child is a real server process with its own event loop, connections and audit
writer (the parent opens no connection and starts no thread before forking), serving
the database named by CAREPLANS_DATABASE_URL. The test kills children with SIGKILL.
"""

from __future__ import annotations

import os
import signal
import sys


def warm_up(app, username: str, password: str, plan_id: str) -> None:
    """Serve a login and a plan read in-process once, so each forked server starts with its
    statements compiled; then close every connection (children open their own)."""
    from litestar.testing import TestClient

    with TestClient(app) as client:
        client.post("/api/session", json={"username": username, "password": password}).raise_for_status()
        client.get(f"/api/plans/{plan_id}").raise_for_status()
    app.state.engine.dispose()


def main() -> None:
    from api.app import create_app

    app = create_app()
    import uvicorn

    if len(sys.argv) == 4:
        warm_up(app, *sys.argv[1:4])

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # killed children are reaped at once
    for line in sys.stdin:
        port = int(line)
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            try:
                uvicorn.run(app, host="127.0.0.1", port=port, log_level="critical")
            finally:
                os._exit(0)
        print(pid, flush=True)


if __name__ == "__main__":
    main()
