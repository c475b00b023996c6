"""PDF and share-link benchmarks as ratios to baselines measured in the same run (QUALITY.md, issue 13).

    .venv/bin/python -m bench.pdf [--url postgresql://...]   (needs `wrk`: apt-get install wrk)

`make bench` measures the same figures with `measure` (BENCH_ONLY/BENCH_SKIP names `pdf`, `share`).

1. First render: GET /api/plans/{id}/pdf for copies not yet made (each a different set of
   sections, so none is cached), served by uvicorn with its PDF worker processes, against
   bare WeasyPrint (`HTML(string=...).write_pdf()`, default fetcher, no PDF/UA) rendering
   the same HTML in this process. Median of the runs. Goal ≤ 1.3×.
2. Cached download: wrk on the same copy once it is stored, against the app's trivial
   route (/health/live) in the same server. Goal ≥ 0.5×.
3. Share link open (`share`): wrk on GET /s/{token}, a live GP link without a passcode made by
   the client, once its copy is stored (no login; each open audited), against /health/live in
   the same server. Goal ≥ 0.5×, as for the cached download: a link serves the stored PDF.
4. JSON p99 (wrk, plan read) while 8 PDFs render all the time, against JSON p99 idle.
   Goal ≤ 3×.
"""

from __future__ import annotations

import argparse
import itertools
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

# bench.harness first: it sets the environment the app's modules read when imported.
from bench.harness import SECONDS, SECRET, Row, judged, print_table, wrk
from api.controllers.shares import copy_html
from careplans import pdf, policy, shares
from careplans.db import is_sqlite, make_engine, normalise_url, upgrade
from careplans.demo import DEMO_PASSWORD, load_demo
from careplans.models import Client, Plan, User
from careplans.policy import Principal
from tests.live_server import live_server
from tests.conftest import reset_postgres

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


def measure(url: str, figures: frozenset[str] = frozenset({"pdf", "share"}), seconds: int = SECONDS) -> list[Row]:
    """The figures named (`pdf`: first render, cached download, JSON p99 while rendering;
    `share`: a share link's open) on the database at `url`, which holds the demo (load_demo):
    the demo client's plan, read and copied as the demo client, served by one uvicorn worker."""
    engine = make_engine(url)
    with Session(engine) as db:
        user = db.execute(select(User).where(User.username == "demo-client")).scalar_one()
        viewer = Principal(id=user.id, role=user.role, name=user.display_name)
        plan_id = str(db.execute(select(Plan.id).join(Client, Client.id == Plan.client_id)
                                 .where(Client.user_id == user.id)).scalar_one())
    combos = section_sets()
    from weasyprint import HTML

    HTML(string="<p>warm</p>").write_pdf()  # import and font set-up outside the timings
    rows: list[Row] = []
    with live_server(url, SECRET, workers=1) as base:
        r = httpx.post(base + "/api/session", json={"username": "demo-client", "password": DEMO_PASSWORD})
        cookie = f"careplans_session={r.cookies['careplans_session']}"
        client = httpx.Client(base_url=base, headers={"Cookie": cookie}, timeout=120)
        client.get(f"/api/plans/{plan_id}/pdf?audience=client").raise_for_status()  # start the PDF workers

        if "pdf" in figures:
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
            rows.append(judged("PDF first render vs bare WeasyPrint, same HTML",
                               f"{first * 1000:,.0f} ms (median of {RUNS} copies)",
                               f"{bare * 1000:,.0f} ms bare WeasyPrint", first / bare, "<= 1.30"))

        hello = wrk(base + "/health/live", seconds=seconds).rps  # the baseline of 2 and 3
        if "pdf" in figures:
            # 2. cached download against the trivial route
            cached_url = base + f"/api/plans/{plan_id}/pdf?audience=gp"
            client.get(cached_url).raise_for_status()
            cached = wrk(cached_url, {"Cookie": cookie}, seconds=seconds).rps
            rows.append(judged("cached PDF download vs /health/live", f"{cached:,.0f} req/s",
                               f"{hello:,.0f} req/s /health/live", cached / hello, ">= 0.50"))

        if "share" in figures:
            # 3. a share link's open (its copy stored by the first open) against the trivial route
            made = httpx.post(f"{base}/api/plans/{plan_id}/shares", json={"audience": "gp"}, cookies=r.cookies,
                              headers={"X-CSRF-Token": r.json()["csrf_token"]})
            made.raise_for_status()
            link = base + "/s/" + made.json()["url"].rsplit("/s/", 1)[1]
            httpx.get(link, timeout=120).raise_for_status()
            opened = wrk(link, seconds=seconds).rps
            rows.append(judged("share link open (stored PDF) vs /health/live", f"{opened:,.0f} req/s",
                               f"{hello:,.0f} req/s /health/live", opened / hello, ">= 0.50"))

        if "pdf" in figures:
            # 4. JSON p99 idle, then while 8 PDFs render
            json_url = base + f"/api/plans/{plan_id}"
            idle_p99, idle_rps = wrk_p99(json_url, cookie, seconds)
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
            busy_p99, busy_rps = wrk_p99(json_url, cookie, seconds)
            stop.set()
            for th in threads:
                th.join()
            rows.append(judged("JSON p99 while 8 PDFs render vs idle",
                               f"{busy_p99:,.1f} ms ({busy_rps:,.0f} req/s; {len(rendered)} PDFs, "
                               f"statuses {', '.join(map(str, sorted(set(rendered))))})",
                               f"{idle_p99:,.1f} ms idle ({idle_rps:,.0f} req/s)", busy_p99 / idle_p99, "<= 3.00"))
        client.close()
    engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description="PDF and share-link figures, on a fresh database with the demo")
    parser.add_argument("--url", default=None, help="a PostgreSQL database (its public schema is dropped and "
                                                    "rebuilt); a fresh SQLite file if left out")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("bench needs wrk: apt-get install wrk")
    tmp = Path(tempfile.mkdtemp(prefix="careplans-bench-pdf-"))
    url = normalise_url(args.url) if args.url else f"sqlite:///{tmp / 'bench.db'}"
    try:
        if not is_sqlite(url):
            reset_postgres(url)
        upgrade(url)
        engine = make_engine(url)
        with Session(engine) as db:
            load_demo(db)
            db.commit()
        engine.dispose()
        rows = measure(url)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print_table([("SQLite" if is_sqlite(url) else "PostgreSQL", rows)])


if __name__ == "__main__":
    main()
