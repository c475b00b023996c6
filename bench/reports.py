"""Bench: the choice report at 100,000 plans against 10,000, in the same run.

    .venv/bin/python -m bench.reports [--small 10000] [--large 100000] [--url URL] [--repeats 3]
    .venv/bin/python -m bench.reports --existing sqlite:////tmp/plans.db   # time only, as it is

Generates plans with `careplans.demo_bulk` into a fresh SQLite database (or the
PostgreSQL/SQLite database given with --url, which is emptied first), times the report
at the small size, tops up to the large size and times it again. Goal: large/small
≤ 12× (linear or better). Timed (best of --repeats): GET /api/audit/choice-report's work
(the service totals and the first page of 500 checklists), the whole CSV (one row per
plan), the checklists page (50 plans), one plan's checklist found by its reference, and
the auditor home page's figures (this quarter).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("CAREPLANS_ARGON2_PROFILE", "cheapest")

from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from careplans import policy, references, reports  # noqa: E402
from careplans.db import is_sqlite, make_engine, normalise_url, upgrade  # noqa: E402
from careplans.demo_bulk import generate  # noqa: E402
from careplans.models import Plan, User  # noqa: E402
from careplans.policy import Principal  # noqa: E402
from careplans.services import accounts  # noqa: E402

SECRET = "bench-secret-" + "b" * 32


def _auditor(db: Session) -> Principal:
    user = db.execute(select(User).where(User.username == "bench-auditor")).scalar_one_or_none()
    if user is None:
        user = accounts.create_user(db, "bench-auditor", "bench-password", "auditor", "Bench auditor")
        db.commit()
    return Principal(id=user.id, role=user.role, name=user.display_name)


FIGURES = (
    ("json", "choice report JSON (totals + 500 checklists), s"),
    ("csv", "choice report CSV (every plan), s"),
    ("plans_page", "checklists page (/audit/plans, 50 plans), s"),
    ("checklist", "one plan's checklist by reference, s"),
    ("home", "auditor home (/audit: this quarter's figures), s"),
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
        print(f"{words:<52} {best[key]:>8.2f}")


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
            rows.append((size, _time(db, auditor, args.repeats)))
    engine.dispose()
    (small, s_best), (large, l_best) = rows
    print(f"{'figure':<52} {'small':>8} {'large':>8} {'ratio':>6}  goal")
    for key, words in FIGURES:
        print(f"{words:<52} {s_best[key]:>8.2f} {l_best[key]:>8.2f} {l_best[key] / s_best[key]:>6.1f}  <= 12x")
    print(f"plans: {small:,} and {large:,} ({large / small:.0f}x)")
    if tmp:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
