"""Bench: the assurance reports at 100,000 plans against 10,000, in the same run.

    .venv/bin/python -m bench.reports [--small 10000] [--large 100000] [--url URL] [--repeats 3]
    .venv/bin/python -m bench.reports --existing sqlite:////tmp/plans.db   # time only, as it is

`make bench` measures the same figures with `measure` (BENCH_ONLY/BENCH_SKIP name `reports`;
BENCH_REPORT_PLANS and BENCH_REPORT_REPEATS set the sizes and repeats there).

Generates plans with `careplans.demo_bulk` into a fresh SQLite database (or the
PostgreSQL/SQLite database given with --url, a PostgreSQL one emptied first), times the report
at the small size, tops up to the large size and times it again. Goal: large/small
≤ 12× for 10× the plans (linear or better; 1.2 × the ratio of the sizes for other sizes).
Timed (best of --repeats): GET /api/audit/choice-report's work
(the service totals and the first page of 500 checklists), the whole CSV (one row per
plan), the checklists page (50 plans), one plan's checklist found by its reference, and
the auditor home page's figures (this quarter).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
import time
from pathlib import Path

# bench.harness first: it sets the environment the app's modules read when imported.
from bench.harness import Row, judged, print_table
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careplans import policy, references, reports
from careplans.db import is_sqlite, make_engine, normalise_url, upgrade
from careplans.demo_bulk import generate
from careplans.models import Plan, User
from careplans.policy import Principal
from careplans.services import accounts
from tests.conftest import reset_postgres

SECRET = "bench-secret-" + "b" * 32


def _auditor(db: Session) -> Principal:
    user = db.execute(select(User).where(User.username == "bench-auditor")).scalar_one_or_none()
    if user is None:
        user = accounts.create_user(db, "bench-auditor", "bench-password", "auditor", "Bench auditor")
        db.commit()
    return Principal(id=user.id, role=user.role, name=user.display_name)


FIGURES = (
    ("json", "choice report JSON (totals + 500 checklists)"),
    ("csv", "choice report CSV (every plan)"),
    ("plans_page", "checklists page (/audit/plans, 50 plans)"),
    ("checklist", "one plan's checklist by reference"),
    ("home", "auditor home (/audit: this quarter's figures)"),
)


def _time(db: Session, auditor: Principal, repeats: int = 3) -> dict[str, float]:
    """Best of `repeats` for each figure (each call is its own transaction, rolled back)."""
    today = dt.date.today()
    start, end = reports.quarter_range(today)
    quarter = reports.ReportFilter(date_from=start, date_to=end)
    some_plan = db.execute(select(Plan.id).order_by(Plan.created_at.desc()).limit(1)).scalar_one()
    ref = policy.pseudonym(SECRET, "plan", some_plan)
    work = {
        "json": lambda: reports.choice_report(db, auditor, SECRET),
        "csv": lambda: reports.choice_report_csv(db, auditor, SECRET),
        "plans_page": lambda: reports.checklists(db, auditor, SECRET, limit=50),
        "checklist": lambda: reports.plan_checklist(db, auditor, SECRET, ref),
        "home": lambda: reports.at_a_glance(db, auditor, SECRET, quarter),
    }
    best = {k: float("inf") for k in work}
    for _ in range(repeats):
        for key, fn in work.items():
            t = time.perf_counter()
            fn()
            best[key] = min(best[key], time.perf_counter() - t)
            db.commit()  # keep what the reads record (plan references) as a running service would
    return best


def _existing(url: str, repeats: int) -> None:
    """Time the figures on a database that already has plans (see --existing)."""
    upgrade(url)
    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as db:
        auditor = _auditor(db)
        plans = db.execute(select(func.count()).select_from(Plan)).scalar_one()
        t = time.perf_counter()
        filled = references.fill(db, SECRET)
        db.commit()
        fill_s = time.perf_counter() - t
        best = _time(db, auditor, repeats)
    engine.dispose()
    print(f"plans: {plans:,}; plan references added first: {filled:,} in {fill_s:.2f} s (once per plan)")
    for key, words in FIGURES:
        print(f"{words + ', s':<52} {best[key]:>8.2f}")


def measure(url: str, small: int = 10_000, large: int = 100_000, repeats: int = 3) -> list[Row]:
    """Each figure at `large` plans against `small` plans, generated in the database at `url`
    (a PostgreSQL one is emptied first; give a fresh SQLite file)."""
    if not is_sqlite(url):
        reset_postgres(url)
    upgrade(url)
    engine = make_engine(url)
    timed = []
    with Session(engine, expire_on_commit=False) as db:
        auditor = _auditor(db)
        made = 0
        for size in (small, large):
            t = time.perf_counter()
            made += generate(db, size - made, seed=size)
            print(f"generated {size:,} plans ({time.perf_counter() - t:.0f} s for this step)", file=sys.stderr,
                  flush=True)
            timed.append(_time(db, auditor, repeats))
    engine.dispose()
    (s_best, l_best), goal = timed, f"<= {1.2 * large / small:.2f}"
    return [judged(f"{words}, {large:,} vs {small:,} plans", f"{l_best[key]:.3f} s", f"{s_best[key]:.3f} s",
                   l_best[key] / s_best[key], goal) for key, words in FIGURES]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--url", default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--existing", default=None, metavar="URL",
                        help="only time the figures on this database as it is (no generating, nothing emptied)")
    args = parser.parse_args()
    if args.existing:
        _existing(normalise_url(args.existing), args.repeats)
        return
    tmp = Path(tempfile.mkdtemp(prefix="careplans-bench-reports-"))
    url = normalise_url(args.url) if args.url else f"sqlite:///{tmp / 'bench.db'}"
    try:
        rows = measure(url, args.small, args.large, args.repeats)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print_table([("SQLite" if is_sqlite(url) else "PostgreSQL", rows)])


if __name__ == "__main__":
    main()
