"""`make bench`: every figure as a ratio to a baseline measured in the same run.

    make bench                                   SQLite only
    CAREPLANS_BENCH_PG_URL=postgresql://postgres@127.0.0.1:5432/bench make bench
                                                 SQLite and PostgreSQL (that database's
                                                 `public` schema is dropped and rebuilt)

Needs `wrk` (apt-get install wrk). Each server is one uvicorn worker started with the
same command line; wrk drives it with 2 threads and 32 connections for BENCH_SECONDS
(default 10) per figure. The bare Litestar hello-world app (bench/hello.py) is
measured before and after the app's figures and the mean is the baseline, so a
machine that gets busier during the run moves both sides. Absolute numbers are
printed for context; the ratios are the figures.

The PDF and share-link figures (bench.pdf) and the assurance reports' (bench.reports) are
measured in the same run, by the same functions as `python -m bench.pdf` and
`python -m bench.reports`, against their own baselines. BENCH_ONLY=pdf,share runs only the
figures named, BENCH_SKIP=reports all but those (names in bench.harness.FIGURES).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

# bench.harness first: it sets the environment the app's modules read when imported.
from bench.harness import ROOT, SECONDS, Load, Row, print_table, serve, wanted, wrk
import httpx
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from bench import pdf as pdf_bench
from bench import reports as reports_bench
from careplans import audit_batch, commands, plan_history, reading
from careplans.db import is_sqlite, make_engine, normalise_url, upgrade
from careplans.demo import DEMO_PASSWORD, load_demo
from careplans.models import Client, Plan, User
from careplans.policy import Principal
from careplans.services import clients, goals
from tests.conftest import reset_postgres

CHECKINS = int(os.environ.get("BENCH_CHECKINS", "2000"))
MEMORY_REQUESTS = int(os.environ.get("BENCH_MEMORY_REQUESTS", "1000"))  # RSS after this many, then after 10x
# The assurance reports' figures: plans generated for the baseline and for the figure, and best of how many.
REPORT_PLANS = tuple(int(n) for n in os.environ.get("BENCH_REPORT_PLANS", "10000,100000").split(","))
REPORT_REPEATS = int(os.environ.get("BENCH_REPORT_REPEATS", "2"))
APP_FIGURES = ("live", "read", "write", "latency", "size", "statements", "memory")
WRITE_PLANS = 96  # more plans than wrk connections: a plan is in one request at a time, writes never conflict


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


# --- data -------------------------------------------------------------------------------------------

def count_statements(engine, fn: Callable[[], object]) -> int:
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


def principal(db: Session, username: str) -> Principal:
    u = db.execute(select(User).where(User.username == username)).scalar_one()
    return Principal(id=u.id, role=u.role, name=u.display_name)


@dataclass
class Data:
    small_plan: str          # the demo client's plan
    big_plan: str            # 30 goals, CHECKINS check-ins, CHECKINS + 30-ish versions
    big_goal: str
    big_versions: int
    small_goal: str          # a plan with 10 check-ins, for the write latency
    small_goal_plan: str
    write_targets: list[str]  # "plan:goal:version", one per wrk connection


def build(url: str) -> Data:
    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as db:
        load_demo(db)
        db.commit()
        kw = principal(db, "demo-keyworker")
        client_user = db.execute(select(User).where(User.username == "demo-client")).scalar_one()
        small_plan = str(db.execute(select(Plan.id).join(Client, Client.id == Plan.client_id)
                                    .where(Client.user_id == client_user.id)).scalar_one())

        def new_plan(name: str, n_goals: int) -> tuple[str, list[str], int]:
            c = clients.create_client(db, kw, preferred_name=name, date_of_birth=__import__("datetime").date(1990, 1, 1))
            plan = commands.create_plan(db, kw, c["id"])
            v, gids = plan.version, []
            for i in range(n_goals):
                r, g = goals.add_goal(db, kw, plan.id, v, {"title": f"Goal {i}", "area": "health",
                                                           "why": "Feeling stronger day to day."})
                v, gids = r.version, gids + [g.id]
            db.commit()
            return plan.id, gids, v

        targets = []
        for i in range(WRITE_PLANS):
            pid, gids, v = new_plan(f"Writer {i}", 1)
            targets.append(f"{pid}:{gids[0]}:{v}")
        small_goal_plan, sg, v = new_plan("Ten check-ins", 1)
        for i in range(10):
            v = goals.add_check_in(db, kw, small_goal_plan, sg[0], v, i % 11, "A steady week.")[0].version
        db.commit()
        big_plan, bg, v = new_plan("Long history", 30)
        started = time.monotonic()
        for i in range(CHECKINS):
            v = goals.add_check_in(db, kw, big_plan, bg[i % len(bg)], v, i % 11, f"Week {i}: a steady week.")[0].version
            if i % 100 == 99:
                db.commit()
                print(f"  ... {i + 1} check-ins ({time.monotonic() - started:.0f} s)", file=sys.stderr)
        db.commit()
    engine.dispose()
    return Data(small_plan, big_plan, bg[0], v, sg[0], small_goal_plan, targets)


def statements(url: str, data: Data) -> dict[str, int]:
    engine = make_engine(url)
    out = {}
    with Session(engine, expire_on_commit=False) as db:
        kw = principal(db, "demo-keyworker")
        db.commit()

        def measure(name: str, fn: Callable[[], object]) -> None:
            def run():
                fn()
                db.commit()
            out[name] = count_statements(engine, run)

        def served_read(plan_id: str) -> None:
            # What GET /api/plans/{id} runs: the read (no cached view) and its audit row.
            _read, event = reading.read_current(engine, kw, plan_id, None)
            audit_batch.append_events(engine, [event])

        measure("read_small", lambda: served_read(data.small_plan))
        measure("read_big", lambda: served_read(data.big_plan))
        measure("version_first", lambda: plan_history.get_version(db, kw, data.big_plan, 1))
        measure("version_last", lambda: plan_history.get_version(db, kw, data.big_plan, data.big_versions))
    engine.dispose()
    return out


def storage(url: str, data: Data) -> tuple[int, int, int]:
    """(bytes stored for the big plan's versions, bytes if each were a full copy, table size)."""
    from careplans import versions as version_store  # the version store (deltas, snapshots)

    engine = make_engine(url, immediate=False)
    with Session(engine) as db:
        pid = uuid.UUID(data.big_plan)
        stored = version_store.stored_bytes(db, pid)
        full = sum(len(version_store.content_of(db, pid, n).encode()) for n in range(1, data.big_versions + 1))
        if is_sqlite(url):
            table = Path(make_engine_url_path(url)).stat().st_size
        else:
            table = db.execute(text("SELECT pg_total_relation_size('plan_versions')"
                                    " + pg_total_relation_size('check_in_records')")).scalar_one()
    engine.dispose()
    return stored, full, table


def make_engine_url_path(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(normalise_url(url)).database or ""


# --- one database ---------------------------------------------------------------------------------------

def login(base: str) -> tuple[dict[str, str], str]:
    r = httpx.post(base + "/api/session", json={"username": "demo-keyworker", "password": DEMO_PASSWORD})
    r.raise_for_status()
    cookie = "; ".join(f"{k}={v}" for k, v in r.cookies.items())
    return {"Cookie": cookie}, r.json()["csrf_token"]


def check_in_latency(base: str, headers: dict[str, str], csrf: str, plan: str, goal: str, n: int = 40) -> float:
    with httpx.Client(base_url=base, headers=headers) as http:
        v = int(http.get(f"/api/plans/{plan}").headers["etag"].strip('"'))
        times = []
        for i in range(n + 5):  # the first five warm the server up and are not counted
            t = time.perf_counter()
            r = http.post(f"/api/plans/{plan}/goals/{goal}/check-ins", json={"rating": i % 11, "note": "ok"},
                          headers={"If-Match": f'"{v}"', "X-CSRF-Token": csrf})
            if i >= 5:
                times.append(time.perf_counter() - t)
            r.raise_for_status()
            v = int(r.headers["etag"].strip('"'))
    return statistics.median(times) * 1000


def app_rows(label: str, url: str, goals_for: dict[str, str]) -> list[Row]:
    """The read, write, history, storage and memory figures (APP_FIGURES) on the upgraded database at `url`."""
    print(f"[{label}] building data: demo, {WRITE_PLANS} plans for writes, one plan with {CHECKINS} check-ins",
          file=sys.stderr)
    data = build(url)
    counts = statements(url, data) if wanted("statements") else dict.fromkeys(
        ("read_small", "read_big", "version_first", "version_last"), 1)
    stored, full, table = storage(url, data) if wanted("size") else (0, 1, 0)
    print(f"[{label}] serving", file=sys.stderr)
    nothing = Load(rps=0.0, requests=1, p50_ms=0.0)
    live = read = write = hello_before = hello_after = nothing
    rss_1k = rss_10k = done = 1
    lat_small = lat_big = 1.0
    if wanted("live", "read", "write"):
        with serve("bench.hello:app") as (base, _):
            hello_before = wrk(base + "/")
    if wanted("live", "read", "write", "latency", "memory"):
        with serve("api.asgi:app", url) as (base, proc):
            headers, csrf = login(base)
            if wanted("memory"):
                with httpx.Client(base_url=base, headers=headers) as http:  # 1,000 reads, then the memory mark
                    for _ in range(MEMORY_REQUESTS):
                        http.get(f"/api/plans/{data.small_plan}").raise_for_status()
                rss_1k = rss_kib(proc.pid)
            if wanted("live"):
                live = wrk(base + "/health/live")
            if wanted("read", "memory"):
                read = wrk(base + f"/api/plans/{data.small_plan}", headers)
            if wanted("memory"):
                done = MEMORY_REQUESTS + read.requests
                while done < 10 * MEMORY_REQUESTS:
                    done += wrk(base + f"/api/plans/{data.small_plan}", headers, seconds=5).requests
                rss_10k = rss_kib(proc.pid)
            if wanted("write"):
                write = wrk(base + "/", None, script=str(ROOT / "bench" / "checkin.lua"),
                            args=[headers["Cookie"], csrf, "2", *data.write_targets])
            if wanted("latency"):
                lat_small = check_in_latency(base, headers, csrf, data.small_goal_plan, data.small_goal)
                lat_big = check_in_latency(base, headers, csrf, data.big_plan, data.big_goal)
    if wanted("live", "read", "write"):
        with serve("bench.hello:app") as (base, _):
            hello_after = wrk(base + "/")
    hello = (hello_before.rps + hello_after.rps) / 2 or 1.0
    hello_txt = f"{hello:,.0f} req/s hello-world ({hello_before.rps:,.0f} before, {hello_after.rps:,.0f} after)"

    def ratio_row(figure: str, value: float, unit: str, base_value: float, base_txt: str, goal: str,
                  ok: Callable[[float], bool]) -> Row:
        r = value / base_value
        return Row(figure, f"{value:,.1f} {unit}" if value < 100 else f"{value:,.0f} {unit}", base_txt, r, goal,
                   ok(r))

    mib = 1024 * 1024
    figures = ["live", "read", "write", "latency", "size", "statements", "statements", "memory"]
    rows = [
        ratio_row("/health/live vs hello-world", live.rps, "req/s", hello, hello_txt, ">= 0.80", lambda r: r >= 0.8),
        ratio_row("plan read (JSON, audited) vs hello-world", read.rps, "req/s", hello, hello_txt,
                  goals_for["read"], lambda r: r >= float(goals_for["read"][3:])),
        ratio_row("plan write (check-in, If-Match) vs hello-world", write.rps, "req/s", hello, hello_txt,
                  goals_for["write"], lambda r: r >= float(goals_for["write"][3:])),
        ratio_row(f"check-in latency, {CHECKINS:,} vs 10 check-ins", lat_big, "ms", lat_small,
                  f"{lat_small:.1f} ms", "<= 1.50", lambda r: r <= 1.5),
        ratio_row(f"stored size, one plan with {data.big_versions:,} versions", stored / mib, "MiB", full / mib,
                  f"{full / mib:,.1f} MiB as full copies (database {table / mib:,.1f} MiB)", "<= 0.10",
                  lambda r: r <= 0.10),
        ratio_row("SQL statements per plan read, large vs small", counts["read_big"], "statements",
                  counts["read_small"], f"{counts['read_small']} statements", "= 1.00", lambda r: r == 1.0),
        ratio_row(f"SQL statements to read version {data.big_versions} vs version 1", counts["version_last"],
                  "statements", counts["version_first"], f"{counts['version_first']} statements", "= 1.00",
                  lambda r: r == 1.0),
        ratio_row(f"memory after {done:,} vs {MEMORY_REQUESTS:,} requests", rss_10k / 1024, "MiB", rss_1k / 1024,
                  f"{rss_1k / 1024:,.1f} MiB", "<= 1.10", lambda r: r <= 1.1),
    ]
    return [row for row, figure in zip(rows, figures) if wanted(figure)]


def run_database(label: str, url: str, goals_for: dict[str, str], reports_url: str) -> list[Row]:
    """Every figure wanted on one database: the app's own (APP_FIGURES), then the PDF and share-link
    figures (bench.pdf) on the same data, then the reports' (bench.reports) on plans generated in
    the database at `reports_url` (a PostgreSQL one is emptied first, so it may be `url`)."""
    upgrade(url)
    rows = []
    if wanted(*APP_FIGURES):
        rows += app_rows(label, url, goals_for)
    elif wanted("pdf", "share"):
        engine = make_engine(url)
        with Session(engine) as db:
            load_demo(db)
            db.commit()
        engine.dispose()
    if wanted("pdf", "share"):
        print(f"[{label}] PDF copies and share links", file=sys.stderr)
        rows += pdf_bench.measure(url, frozenset(f for f in ("pdf", "share") if wanted(f)))
    if wanted("reports"):
        small, large = REPORT_PLANS
        print(f"[{label}] reports: generating {small:,} then {large:,} plans", file=sys.stderr)
        rows += reports_bench.measure(reports_url, small, large, REPORT_REPEATS)
    return rows


def main() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("bench needs wrk: apt-get install wrk")
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    load = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="careplans-bench-"))
    results: list[tuple[str, list[Row]]] = []
    try:
        results.append(("SQLite", run_database("SQLite", f"sqlite:///{tmp / 'bench.db'}",
                                               {"read": ">= 0.35", "write": ">= 0.10"},
                                               f"sqlite:///{tmp / 'reports.db'}")))
        pg = os.environ.get("CAREPLANS_BENCH_PG_URL", "").strip()
        if pg:
            pg = normalise_url(pg)
            reset_postgres(pg)
            results.append(("PostgreSQL", run_database("PostgreSQL", pg, {"read": ">= 0.20", "write": ">= 0.10"},
                                                       pg)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n{started} to {time.strftime('%H:%M UTC', time.gmtime())}, commit {commit}, {os.cpu_count()} cores, "
          f"load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, wrk -t2 -c32 -d{SECONDS}s, "
          f"one uvicorn worker\n")
    footer = [] if len(results) > 1 else [
        ("(every figure)", "PostgreSQL", "-", "-", "-", "-", "not run: set CAREPLANS_BENCH_PG_URL")]
    print_table(results, footer)


if __name__ == "__main__":
    main()
