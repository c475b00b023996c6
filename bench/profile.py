"""Profile the served app under load with py-spy (every thread, native frames off).

    .venv/bin/python -m bench.profile [seconds] [live,read,write]

Builds the bench data on a fresh SQLite file, serves the app like `make bench`,
drives /health/live, plan reads and then check-ins with wrk (or only the workloads named)
while py-spy samples every thread of the server, and prints the frames where the most
samples were spent, inclusive and self (the frame on top), per workload.
The collapsed stacks are kept in var/profile-{live,read,write}.txt for a flame graph
(e.g. speedscope or flamegraph.pl). Needs py-spy (pip) and wrk.
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

os.environ.setdefault("BENCH_CHECKINS", "0")  # no long-history plan: this profiles the request path
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.__main__ import build, login  # noqa: E402
from bench.harness import ROOT, serve, wrk  # noqa: E402
from careplans.db import upgrade  # noqa: E402


def record(pid: int, seconds: int, out: Path, load) -> None:
    spy = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid), "--duration",
                            str(seconds), "--rate", "400", "--format", "raw", "--threads", "--output", str(out), "--nonblocking"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t = threading.Thread(target=load)
    t.start()
    spy.wait()
    t.join()


def summary(path: Path, n: int = 30) -> str:
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        c = int(count)
        total += c
        frames = stack.split(";")
        for frame in set(frames):
            inclusive[frame] += c
        own[frames[-1]] += c

    def rows(counter: collections.Counter[str]) -> str:
        return "\n".join(f"{100 * c / total:5.1f}%  {frame}" for frame, c in counter.most_common(n))

    return f"{total} samples\n--- inclusive\n{rows(inclusive)}\n--- self\n{rows(own)}"


def main() -> None:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    only = set(sys.argv[2].split(",")) if len(sys.argv) > 2 else {"live", "read", "write"}
    url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'profile.db'}"
    upgrade(url)
    data = build(url)
    out_dir = ROOT / "var"
    out_dir.mkdir(exist_ok=True)
    with serve("api.asgi:app", url) as (base, proc):
        headers, csrf = login(base)
        workloads = {
            "live": ("/health/live", lambda: wrk(base + "/health/live", None, seconds)),
            "read": ("plan reads", lambda: wrk(base + f"/api/plans/{data.small_plan}", headers, seconds)),
            "write": ("check-ins", lambda: wrk(base + "/", None, seconds, script=str(ROOT / "bench" / "checkin.lua"),
                                               args=[headers["Cookie"], csrf, "2", *data.write_targets])),
        }
        done = []
        for name, (title, load) in workloads.items():
            if name in only:
                out = out_dir / f"profile-{name}.txt"
                record(proc.pid, seconds, out, load)
                done.append(f"=== {title} ===\n{summary(out)}")
    print("\n\n".join(done))

if __name__ == "__main__":
    main()
