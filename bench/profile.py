"""Profile plan reads and check-in writes in-process (cProfile), through the whole app.

    .venv/bin/python -m bench.profile [N]

Prints the functions with the most cumulative time for N reads and N writes, served by
the real app (middleware, session, policy, audit) through Litestar's TestClient.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("CAREPLANS_ARGON2_PROFILE", "cheapest")
os.environ.setdefault("CAREPLANS_ENV", "test")
os.environ.setdefault("BENCH_CHECKINS", "0")  # no long-history plan: this profiles the request path
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from litestar.testing import TestClient  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from api.app import create_app  # noqa: E402
from api.settings import Settings  # noqa: E402
from bench.__main__ import SECRET, build  # noqa: E402
from careplans.db import make_engine, upgrade  # noqa: E402
from careplans.demo import DEMO_PASSWORD  # noqa: E402


def top(profile: cProfile.Profile, n: int = 25) -> str:
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(n)
    return out.getvalue()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'profile.db'}"
    upgrade(url)
    data = build(url)
    app = create_app(Settings(env="test", database_url=url, secret_key=SECRET))
    with TestClient(app) as http:
        r = http.post("/api/session", json={"username": "demo-keyworker", "password": DEMO_PASSWORD})
        csrf = r.json()["csrf_token"]
        plan, goal, version = data.write_targets[0].split(":")
        version = int(version)
        http.get(f"/api/plans/{data.small_plan}")
        reads = cProfile.Profile()
        reads.enable()
        for _ in range(n):
            http.get(f"/api/plans/{data.small_plan}")
        reads.disable()
        writes = cProfile.Profile()
        writes.enable()
        for i in range(n):
            r = http.post(f"/api/plans/{plan}/goals/{goal}/check-ins", json={"rating": i % 11, "note": "ok"},
                          headers={"If-Match": f'"{version}"', "X-CSRF-Token": csrf})
            version = int(r.headers["etag"].strip('"'))
        writes.disable()
    print(f"=== {n} plan reads ===\n{top(reads)}\n=== {n} check-ins ===\n{top(writes)}")


if __name__ == "__main__":
    main()
