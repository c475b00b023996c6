"""Profile the served app under load with py-spy (every thread, native frames off).

    .venv/bin/python -m bench.profile [seconds]

Builds the bench data on a fresh SQLite file, serves the app like `make bench`,
drives /health/live, plan reads and then check-ins with wrk while py-spy samples the server, and
prints the frames where the most samples were spent (inclusive, and self time per function), per workload.
The collapsed stacks are kept in var/profile-{live,read,write}.txt for a flame graph
(e.g. speedscope or flamegraph.pl). Needs py-spy (pip) and wrk.
"""

from __future__ import annotations

import collections
import os
import re
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

os.environ.setdefault("BENCH_CHECKINS", "0")  # no long-history plan: this profiles the request path
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.__main__ import ROOT, build, login, serve, wrk  # noqa: E402
from careplans.db import upgrade  # noqa: E402


def record(pid: int, seconds: int, out: Path, load) -> None:
    spy = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid), "--duration",
                            str(seconds), "--rate", "400", "--format", "raw", "--output", str(out), "--nonblocking"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t = threading.Thread(target=load)
    t.start()
    spy.wait()
    t.join()


def summary(path: Path, n: int = 30) -> str:
    """The frames where the samples were spent: inclusive, and self time per function (the
    innermost frame, line numbers folded together: where the time goes, not what it is under)."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        c = int(count)
        total += c
        frames = [f for f in stack.split(";") if f]
        own[re.sub(r":\d+\)$", ")", frames[-1]) if frames else "(no Python frame)"] += c
        for frame in set(frames):
            inclusive[frame] += c
    rows = [f"{100 * c / total:5.1f}%  {frame}" for frame, c in inclusive.most_common(n)]
    own_rows = [f"{100 * c / total:5.1f}%  {frame}" for frame, c in own.most_common(n)]
    return f"{total} samples\n" + "\n".join(rows) + "\n--- self time ---\n" + "\n".join(own_rows)


def main() -> None:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'profile.db'}"
    upgrade(url)
    data = build(url)
    out_dir = ROOT / "var"
    out_dir.mkdir(exist_ok=True)
    with serve("api.asgi:app", url) as (base, proc):
        headers, csrf = login(base)
        read_out, write_out = out_dir / "profile-read.txt", out_dir / "profile-write.txt"
        live_out = out_dir / "profile-live.txt"
        record(proc.pid, seconds, live_out, lambda: wrk(base + "/health/live", None, seconds))
        record(proc.pid, seconds, read_out, lambda: wrk(base + f"/api/plans/{data.small_plan}", headers, seconds))
        record(proc.pid, seconds, write_out, lambda: wrk(
            base + "/", None, seconds, script=str(ROOT / "bench" / "checkin.lua"),
            args=[headers["Cookie"], csrf, "2", *data.write_targets]))
    print("=== /health/live ===\n" + summary(live_out) + "\n\n=== plan reads ===\n" + summary(read_out) + "\n\n=== check-ins ===\n" + summary(write_out))


if __name__ == "__main__":
    main()
