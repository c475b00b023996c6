"""Benchmarks as ratios to baselines measured in the same run (QUALITY.md).

    make bench      (needs `wrk`: apt-get install wrk)

1. Plan read throughput (JSON) against a route of the same app and server that does
   no work (/health/live), both driven by wrk with 32 connections for 10 s each,
   against one uvicorn worker on a fresh SQLite file with the demo data.
2. SQL statements per plan read, counted in-process, for a small plan and for the
   same plan grown to many goals, check-ins and versions: must be equal.
Absolute numbers are printed for context only; the ratios are the figures.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import httpx
from sqlalchemy import event, select
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CAREPLANS_ARGON2_PROFILE", "cheapest")

from careplans.db import make_engine, upgrade  # noqa: E402
from careplans.demo import DEMO_PASSWORD, load_demo  # noqa: E402
from careplans.models import Client, Plan, User  # noqa: E402
from careplans.policy import Principal  # noqa: E402
from careplans import queries  # noqa: E402
from careplans.services import goals  # noqa: E402
from tests.live_server import live_server  # noqa: E402

SECRET = "bench-secret-" + "b" * 40


def wrk(url: str, cookie: str | None = None, seconds: int = 10) -> float:
    cmd = ["wrk", "-t2", "-c32", f"-d{seconds}s", "--latency", url]
    if cookie:
        cmd[1:1] = ["-H", f"Cookie: {cookie}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit(f"{url}: {non2xx.group(1)} error responses during the run:\n{out}")
    return rps


def count_statements(engine, fn) -> int:
    n = 0

    def before(*_a, **_k):
        nonlocal n
        n += 1

    event.listen(engine, "before_cursor_execute", before)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return n


def statements_per_read(url: str) -> tuple[int, int, dict]:
    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as db:
        kw = db.execute(select(User).where(User.username == "demo-keyworker")).scalar_one()
        client = db.execute(select(User).where(User.username == "demo-client")).scalar_one()
        viewer = Principal(id=kw.id, role=kw.role, name=kw.display_name)
        cviewer = Principal(id=client.id, role=client.role, name=client.display_name)
        plan_id = db.execute(select(Plan.id).join(Client, Client.id == Plan.client_id)
                             .where(Client.user_id == client.id)).scalar_one()
        db.commit()

        def read():
            queries.read_plan(db, viewer, plan_id)
            db.rollback()

        small = count_statements(engine, read)
        version = queries.read_plan(db, viewer, plan_id, audited=False).version
        for i in range(30):
            result, goal = goals.add_goal(db, cviewer, str(plan_id), version, {"title": f"Goal {i}", "area": "health"})
            version = result.version
            result, _ = goals.add_check_in(db, cviewer, str(plan_id), goal.id, version, i % 11, "ok")
            version = result.version
        db.commit()
        large = count_statements(engine, read)
        size = {"goals": 32, "versions": version}
    engine.dispose()
    return small, large, size


def main() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("bench needs wrk: apt-get install wrk")
    tmp = Path(tempfile.mkdtemp(prefix="careplans-bench-"))
    url = f"sqlite:///{tmp / 'bench.db'}"
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as db:
        load_demo(db)
        db.commit()
    engine.dispose()
    small, large, size = statements_per_read(url)
    with live_server(url, SECRET, workers=1) as base:
        r = httpx.post(base + "/api/session", json={"username": "demo-client", "password": DEMO_PASSWORD})
        cookie = f"careplans_session={r.cookies['careplans_session']}"
        me = httpx.get(base + "/my-plan", headers={"Cookie": cookie}, follow_redirects=False)
        plan_id = re.search(r"/plans/([0-9a-f-]{36})", me.headers.get("location", "") + me.text).group(1)
        uuid.UUID(plan_id)
        hello = wrk(base + "/health/live")
        read = wrk(base + f"/api/plans/{plan_id}", cookie)
    rows = [
        ("plan read throughput (JSON) / hello-world", f"{read / hello:.2f}", ">= 0.25",
         f"{read:.0f} vs {hello:.0f} req/s"),
        ("SQL statements per plan read, large / small", f"{large / small:.2f}", "= 1.00",
         f"{large} vs {small} ({size['goals']} goals, {size['versions']} versions)"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'figure':<{width}}  ratio  goal     context")
    for name, ratio, goal, ctx in rows:
        print(f"{name:<{width}}  {ratio:<5}  {goal:<7}  {ctx}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
