"""Server CPU per request, per workload: what an optimisation changed, less blurred by a busy
machine than requests per second are.

    .venv/bin/python -m bench.cpu [seconds] [live,read,write] [--url DATABASE_URL]

Builds the bench data (as `make bench`, without the long-history plan) on a fresh SQLite
file or the database named, serves the app like `make bench` (one uvicorn worker) and runs
wrk on each workload named. Prints requests per second and, from /proc, the server
process's CPU time (user + system) per request, its user time alone, and the CPU time of
all PostgreSQL server processes per request (0 on SQLite). A server at 1.00 CPU/s is
CPU-bound: then µs per request is what its throughput follows. Run before and after a
change in alternation; a single run says little on a shared machine.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("BENCH_CHECKINS", "0")  # no long-history plan: this measures the request path
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.__main__ import build, login  # noqa: E402
from bench.harness import ROOT, serve, wrk  # noqa: E402
from careplans.db import upgrade  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> tuple[float, float]:
    """(user, user + system) CPU seconds of one process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICK, (int(fields[11]) + int(fields[12])) / TICK


def postgres_cpu() -> float:
    """CPU seconds of every PostgreSQL server process on this machine (those alive now)."""
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        if "(postgres)" in stat:
            fields = stat.rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / TICK


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--url")]
    url = next((a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--url=")), None)
    seconds = int(args[0]) if args else 5
    only = args[1].split(",") if len(args) > 1 else ["live", "read", "write"]
    url = url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'cpu.db'}"
    upgrade(url)
    data = build(url)
    with serve("api.asgi:app", url) as (base, proc):
        headers, csrf = login(base)
        loads = {
            "live": lambda: wrk(base + "/health/live", None, seconds),
            "read": lambda: wrk(base + f"/api/plans/{data.small_plan}", headers, seconds),
            "write": lambda: wrk(base + "/", None, seconds, script=str(ROOT / "bench" / "checkin.lua"),
                                 args=[headers["Cookie"], csrf, "2", *data.write_targets]),
        }
        for name in only:
            if name != "write":  # check-ins follow the plans' versions from the start: no warm-up run
                loads[name]()
            (user0, cpu0), pg0 = process_cpu(proc.pid), postgres_cpu()
            load = loads[name]()
            (user1, cpu1), pg1 = process_cpu(proc.pid), postgres_cpu()
            n = load.requests
            print(f"{name}: {load.rps:,.0f} req/s, server {(cpu1 - cpu0) / seconds:.2f} CPU/s, "
                  f"{1e6 * (cpu1 - cpu0) / n:.0f} µs CPU per request ({1e6 * (user1 - user0) / n:.0f} user), "
                  f"PostgreSQL {1e6 * max(pg1 - pg0, 0) / n:.0f} µs per request, p50 {load.p50_ms:.2f} ms")


if __name__ == "__main__":
    main()
