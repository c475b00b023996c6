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
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import httpx
from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CAREPLANS_ARGON2_PROFILE", "cheapest")

from careplans import audit_batch, commands, queries, reading  # noqa: E402
from careplans.db import is_sqlite, make_engine, normalise_url, upgrade  # noqa: E402
from careplans.demo import DEMO_PASSWORD, load_demo  # noqa: E402
from careplans.models import Client, Plan, PlanVersion, User  # noqa: E402
from careplans.policy import Principal  # noqa: E402
from careplans.services import clients, goals  # noqa: E402

SECRET = "bench-secret-" + "b" * 40
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
CHECKINS = int(os.environ.get("BENCH_CHECKINS", "2000"))
MEMORY_REQUESTS = int(os.environ.get("BENCH_MEMORY_REQUESTS", "1000"))  # RSS after this many, then after 10x
# Only some figures, e.g. BENCH_ONLY=latency,size (live, read, write, latency, size, statements, memory).
ONLY = {w.strip() for w in os.environ.get("BENCH_ONLY", "").split(",") if w.strip()}
WRITE_PLANS = 96  # more plans than wrk connections: a plan is in one request at a time, writes never conflict
# Built, but measured by their own modules with their own baselines (not yet folded into
# this table): the row says where to look.
SEPARATE = (("PDF of a plan", "python -m bench.pdf"), ("share link read", "python -m bench.pdf"),
            ("audit report", "python -m bench.reports"))


# --- servers and load --------------------------------------------------------------------------

def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(app: str, database_url: str | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """One uvicorn worker, the same command line for the app and the baseline."""
    port = free_port()
    env = {**os.environ, "CAREPLANS_ENV": "test", "CAREPLANS_SECRET_KEY": SECRET, "PYTHONPATH": str(ROOT),
           "CAREPLANS_PORT": str(port), "CAREPLANS_ARGON2_PROFILE": "cheapest"}
    if database_url:
        env["CAREPLANS_DATABASE_URL"] = database_url
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
                             "--workers", "1", "--log-level", "warning"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(base + "/", timeout=2)
                break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{app} did not start: {proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.2)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Load:
    rps: float
    requests: int
    p50_ms: float


def wrk(url: str, headers: dict[str, str] | None = None, seconds: int = SECONDS, script: str | None = None,
        args: list[str] | None = None) -> Load:
    cmd = ["wrk", "-t2", "-c32", f"-d{seconds}s", "--timeout", "10s", "--latency"]
    for k, v in (headers or {}).items():
        cmd += ["-H", f"{k}: {v}"]
    if script:
        cmd += ["-s", script]
    cmd.append(url)
    if args:
        cmd += ["--", *args]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"wrk failed: {done.stdout}{done.stderr}")
    out = done.stdout
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: .*", out)
    if bad or (errors and re.search(r"(read|write|timeout) [1-9]", errors.group(0))):
        raise SystemExit(f"{url}: errors during the run:\n{out}")
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p50.group(2)] if p50 else 0.0
    return Load(rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
                requests=int(re.search(r"(\d+) requests in", out).group(1)),
                p50_ms=float(p50.group(1)) * scale if p50 else 0.0)


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
        measure("version_first", lambda: queries.get_version(db, kw, data.big_plan, 1))
        measure("version_last", lambda: queries.get_version(db, kw, data.big_plan, data.big_versions))
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


def reset_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


# --- one database ---------------------------------------------------------------------------------------

@dataclass
class Row:
    figure: str
    value: str
    baseline: str
    ratio: float | None
    goal: str
    ok: bool | None
    elsewhere: str = ""  # measured by another bench module: its command

    def result(self) -> str:
        if self.elsewhere:
            return f"see {self.elsewhere}"
        return "-" if self.ok is None and self.ratio is None else ("pass" if self.ok else "FAIL")


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


def run_database(label: str, url: str, goals_for: dict[str, str]) -> list[Row]:
    print(f"[{label}] building data: demo, {WRITE_PLANS} plans for writes, one plan with {CHECKINS} check-ins",
          file=sys.stderr)

    def wanted(*figures: str) -> bool:
        return not ONLY or bool(ONLY.intersection(figures))

    upgrade(url)
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
    if ONLY:
        rows = [row for row, figure in zip(rows, figures) if figure in ONLY]
    rows += [Row(name, "-", "-", None, "-", None, where) for name, where in SEPARATE]
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
                                               {"read": ">= 0.35", "write": ">= 0.10"})))
        pg = os.environ.get("CAREPLANS_BENCH_PG_URL", "").strip()
        if pg:
            pg = normalise_url(pg)
            reset_postgres(pg)
            results.append(("PostgreSQL", run_database("PostgreSQL", pg, {"read": ">= 0.20", "write": ">= 0.10"})))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n{started}, commit {commit}, {os.cpu_count()} cores, load average at start "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, wrk -t2 -c32 -d{SECONDS}s, one uvicorn worker\n")
    header = ("figure", "db", "measured", "baseline", "ratio", "goal", "result")
    table = [header]
    for db_label, rows in results:
        for r in rows:
            table.append((r.figure, db_label, r.value, r.baseline, "-" if r.ratio is None else f"{r.ratio:.3f}",
                          r.goal, r.result()))
    if len(results) == 1:
        table.append(("(every figure)", "PostgreSQL", "-", "-", "-", "-", "not run: set CAREPLANS_BENCH_PG_URL"))
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for i, row in enumerate(table):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |")
        if i == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


if __name__ == "__main__":
    main()
