"""Bench: the choice report at 100,000 plans against 10,000, in the same run.

    .venv/bin/python -m bench.reports [--small 10000] [--large 100000] [--url URL]

Generates plans with `careplans.demo_bulk` into a fresh SQLite database (or the
PostgreSQL/SQLite database given with --url, which is emptied first), times the report
at the small size, tops up to the large size and times it again. Goal: large/small
≤ 12× (linear or better). Timed: GET /api/audit/choice-report's work (the service totals
and the first page of 500 checklists) and the whole CSV (one row per plan).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("CAREPLANS_ARGON2_PROFILE", "cheapest")

from sqlalchemy import select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from careplans import reports  # noqa: E402
from careplans.db import is_sqlite, make_engine, normalise_url, upgrade  # noqa: E402
from careplans.demo_bulk import generate  # noqa: E402
from careplans.models import User  # noqa: E402
from careplans.policy import Principal  # noqa: E402
from careplans.services import accounts  # noqa: E402

SECRET = "bench-secret-" + "b" * 32


def _auditor(db: Session) -> Principal:
    user = db.execute(select(User).where(User.username == "bench-auditor")).scalar_one_or_none()
    if user is None:
        user = accounts.create_user(db, "bench-auditor", "bench-password", "auditor", "Bench auditor")
        db.commit()
    return Principal(id=user.id, role=user.role, name=user.display_name)


def _time(db: Session, auditor: Principal, repeats: int = 3) -> tuple[float, float]:
    best_json = best_csv = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        reports.choice_report(db, auditor, SECRET)
        best_json = min(best_json, time.perf_counter() - t)
        db.rollback()
        t = time.perf_counter()
        reports.choice_report_csv(db, auditor, SECRET)
        best_csv = min(best_csv, time.perf_counter() - t)
        db.rollback()
    return best_json, best_csv


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--url", default=None)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    tmp = None
    if args.url and not is_sqlite(args.url):
        from tests.conftest import reset_postgres

        url = normalise_url(args.url)
        reset_postgres(url)
    else:
        tmp = Path(tempfile.mkdtemp(prefix="careplans-bench-reports-"))
        url = f"sqlite:///{tmp / 'bench.db'}"
    upgrade(url)
    engine = make_engine(url)
    rows = []
    with Session(engine, expire_on_commit=False) as db:
        auditor = _auditor(db)
        made = 0
        for size in (args.small, args.large):
            t = time.perf_counter()
            made += generate(db, size - made, seed=size)
            print(f"generated {size:,} plans ({time.perf_counter() - t:.0f} s for this step)", flush=True)
            rows.append((size, *_time(db, auditor, args.repeats)))
    engine.dispose()
    (small, sj, sc), (large, lj, lc) = rows
    print(f"{'figure':<44} {'small':>8} {'large':>8} {'ratio':>6}  goal")
    print(f"{'choice report (totals + 500 checklists), s':<44} {sj:>8.2f} {lj:>8.2f} {lj / sj:>6.1f}  <= 12x")
    print(f"{'choice report CSV (every plan), s':<44} {sc:>8.2f} {lc:>8.2f} {lc / sc:>6.1f}  <= 12x")
    print(f"plans: {small:,} and {large:,} ({large / small:.0f}x)")
    if tmp:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
