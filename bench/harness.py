"""What every bench module shares: the settings from the environment, a server and wrk,
a figure's row and the table they are printed in.

`make bench` (bench/__main__.py) prints every figure in one table; `python -m bench.pdf`
and `python -m bench.reports` measure their own figures with the same functions and
print them the same way.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CAREPLANS_ARGON2_PROFILE", "cheapest")

from tests.live_server import stop  # noqa: E402  (the test suite's: stops a server as its live server does)

SECRET = "bench-secret-" + "b" * 40
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))


def _names(variable: str) -> set[str]:
    return {w.strip() for w in os.environ.get(variable, "").split(",") if w.strip()}


# Which figures to measure, by name: BENCH_ONLY=latency,size runs those alone; BENCH_SKIP=reports,pdf
# runs all but those. Names: live, read, write, latency, size, statements, memory, pdf, share, reports.
FIGURES = ("live", "read", "write", "latency", "size", "statements", "memory", "pdf", "share", "reports")
ONLY = _names("BENCH_ONLY")
SKIP = _names("BENCH_SKIP")
if ONLY - set(FIGURES) or SKIP - set(FIGURES):
    raise SystemExit(f"BENCH_ONLY and BENCH_SKIP take figure names: {', '.join(FIGURES)}")


def wanted(*figures: str) -> bool:
    """Whether any of these figures is to be measured in this run."""
    return any((not ONLY or f in ONLY) and f not in SKIP for f in figures)


# --- servers and load --------------------------------------------------------------------------

def free_port() -> int:
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
        stop(proc)


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


# --- the table ----------------------------------------------------------------------------------

@dataclass
class Row:
    figure: str
    value: str
    baseline: str
    ratio: float | None
    goal: str
    ok: bool | None

    def result(self) -> str:
        return "-" if self.ok is None and self.ratio is None else ("pass" if self.ok else "FAIL")


def meets(ratio: float, goal: str) -> bool:
    """Whether a ratio meets a goal written as ">= 0.50", "<= 12.00" or "= 1.00"."""
    op, _, bound = goal.partition(" ")
    return {">=": ratio >= float(bound), "<=": ratio <= float(bound), "=": ratio == float(bound)}[op]


def judged(figure: str, value: str, baseline: str, ratio: float, goal: str) -> Row:
    """A row whose result is read from its goal."""
    return Row(figure, value, baseline, ratio, goal, meets(ratio, goal))


def print_table(results: list[tuple[str, list[Row]]], footer: list[tuple[str, ...]] = ()) -> None:
    """One Markdown table: each figure with its database, measured value, baseline, ratio, goal and result."""
    header = ("figure", "db", "measured", "baseline", "ratio", "goal", "result")
    table = [header]
    for db_label, rows in results:
        for r in rows:
            table.append((r.figure, db_label, r.value, r.baseline, "-" if r.ratio is None else f"{r.ratio:.3f}",
                          r.goal, r.result()))
    table += list(footer)
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for i, row in enumerate(table):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |")
        if i == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
