"""PDF benchmarks as ratios to baselines measured in the same run (QUALITY.md, issue 13).

    .venv/bin/python -m bench.pdf      (needs `wrk`: apt-get install wrk)

1. First render: GET /api/plans/{id}/pdf for copies not yet made (each a different set of
   sections, so none is cached), served by uvicorn with its PDF worker processes, against
   bare WeasyPrint (`HTML(string=...).write_pdf()`, default fetcher, no PDF/UA) rendering
   the same HTML in this process. Median of the runs. Goal ≤ 1.3×.
2. Cached download: wrk on the same copy once it is stored, against the app's trivial
   route (/health/live) in the same server. Goal ≥ 0.5×.
3. JSON p99 (wrk, plan read) while 8 PDFs render all the time, against JSON p99 idle.
   Goal ≤ 3×.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CAREPLANS_ARGON2_PROFILE", "cheapest")

from api.controllers.shares import copy_html  # noqa: E402
from bench.__main__ import SECRET, wrk  # noqa: E402
from careplans import pdf, policy, shares  # noqa: E402
from careplans.db import make_engine, upgrade  # noqa: E402
from careplans.demo import DEMO_PASSWORD, load_demo  # noqa: E402
from careplans.models import Client, Plan, User  # noqa: E402
from careplans.policy import Principal  # noqa: E402
from tests.live_server import live_server  # noqa: E402

RUNS = 5


def wrk_p99(url: str, cookie: str, seconds: int = 10) -> tuple[float, float]:
    """(p99 latency in ms, requests/s) of a wrk run with 8 connections."""
    cmd = ["wrk", "-H", f"Cookie: {cookie}", "-t2", "-c8", f"-d{seconds}s", "--timeout", "60s", "--latency", url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    value, unit = float(m.group(1)), m.group(2)
    ms = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit(f"{url}: {non2xx.group(1)} error responses during the run:\n{out}")
    return ms, float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def section_sets():
    """Every non-empty set of GP sections, then the same in large print: each a distinct copy."""
    gp = [s for s in policy.SECTIONS if s in policy.AUDIENCES["gp"].sections]
    combos = [c for n in range(1, len(gp) + 1) for c in itertools.combinations(gp, n)]
    for large in (0, 1):
        for combo in combos:
            yield ",".join(combo), large


def main() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("bench needs wrk: apt-get install wrk")
    tmp = Path(tempfile.mkdtemp(prefix="careplans-bench-pdf-"))
    url = f"sqlite:///{tmp / 'bench.db'}"
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as db:
        load_demo(db)
        db.commit()
        user = db.execute(select(User).where(User.username == "demo-client")).scalar_one()
        viewer = Principal(id=user.id, role=user.role, name=user.display_name)
        plan_id = str(db.execute(select(Plan.id).join(Client, Client.id == Plan.client_id)
                                 .where(Client.user_id == user.id)).scalar_one())
    combos = section_sets()
    from weasyprint import HTML

    HTML(string="<p>warm</p>").write_pdf()  # import and font set-up outside the timings
    with live_server(url, SECRET, workers=1) as base:
        r = httpx.post(base + "/api/session", json={"username": "demo-client", "password": DEMO_PASSWORD})
        cookie = f"careplans_session={r.cookies['careplans_session']}"
        client = httpx.Client(base_url=base, headers={"Cookie": cookie}, timeout=120)
        client.get(f"/api/plans/{plan_id}/pdf?audience=client").raise_for_status()  # start the PDF workers

        # 1. first render against bare WeasyPrint on the same HTML
        app_times, bare_times = [], []
        for _ in range(RUNS):
            sections, large = next(combos)
            t = time.perf_counter()
            client.get(f"/api/plans/{plan_id}/pdf?audience=gp&sections={sections}&large_print={large}"
                       ).raise_for_status()
            app_times.append(time.perf_counter() - t)
            with Session(engine) as db:
                view = shares.build_copy(db, viewer, plan_id, "gp", frozenset(sections.split(",")), bool(large))
                db.rollback()
            html = copy_html(view)
            t = time.perf_counter()
            HTML(string=html, base_url=pdf.base_url()).write_pdf()
            bare_times.append(time.perf_counter() - t)
        first, bare = statistics.median(app_times), statistics.median(bare_times)

        # 2. cached download against the trivial route
        cached_url = base + f"/api/plans/{plan_id}/pdf?audience=gp"
        client.get(cached_url).raise_for_status()
        hello = wrk(base + "/health/live").rps
        cached = wrk(cached_url, {"Cookie": cookie}).rps

        # 3. JSON p99 idle, then while 8 PDFs render
        json_url = base + f"/api/plans/{plan_id}"
        idle_p99, idle_rps = wrk_p99(json_url, cookie)
        stop = threading.Event()
        rendered = []
        lock = threading.Lock()

        def render_loop() -> None:
            with httpx.Client(base_url=base, headers={"Cookie": cookie}, timeout=300) as c:
                while not stop.is_set():
                    with lock:
                        try:
                            sections, large = next(combos)
                        except StopIteration:
                            return
                    r = c.get(f"/api/plans/{plan_id}/pdf?audience=gp&sections={sections}&large_print={large}")
                    rendered.append(r.status_code)

        threads = [threading.Thread(target=render_loop) for _ in range(8)]
        for th in threads:
            th.start()
        time.sleep(1)
        busy_p99, busy_rps = wrk_p99(json_url, cookie)
        stop.set()
        for th in threads:
            th.join()
    engine.dispose()
    rows = [
        ("PDF first render / bare WeasyPrint, same HTML", f"{first / bare:.2f}", "<= 1.3",
         f"median {first * 1000:.0f} ms vs {bare * 1000:.0f} ms over {RUNS} copies"),
        ("cached PDF download / hello-world (/health/live)", f"{cached / hello:.2f}", ">= 0.5",
         f"{cached:.0f} vs {hello:.0f} req/s"),
        ("JSON p99 while 8 PDFs render / JSON p99 idle", f"{busy_p99 / idle_p99:.2f}", "<= 3",
         f"{busy_p99:.1f} ms vs {idle_p99:.1f} ms ({busy_rps:.0f} vs {idle_rps:.0f} req/s); "
         f"{len(rendered)} PDFs, statuses {sorted(set(rendered))}"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'figure':<{width}}  ratio  goal     context")
    for name, ratio, goal, ctx in rows:
        print(f"{name:<{width}}  {ratio:<5}  {goal:<7}  {ctx}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
