"""Back up and restore the whole database, for `careplans backup` and `careplans restore`.

- SQLite: Python's sqlite3 online backup API. The copy is one consistent moment even while
  the service writes (pages are copied in steps; a write in between restarts the copy).
- PostgreSQL: `pg_dump --format=custom` (one snapshot) and `pg_restore`. The client tools
  must be installed and match the server's major version or be newer.

Restore refuses to overwrite a database that already holds data unless told to (force).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Callable

from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from careplans.db import is_sqlite, make_engine, normalise_url

Progress = Callable[[int, int], None]
PAGES_PER_STEP = 256
COUNTED = ("users", "clients", "plans", "plan_versions", "audit_events")


class RestoreRefused(RuntimeError):
    pass


def _sqlite_path(url: str) -> str:
    database = make_url(normalise_url(url)).database
    if not database or database == ":memory:":
        raise ValueError("Backup needs a SQLite database file.")
    return database


def _libpq_args(url: str) -> tuple[list[str], dict[str, str]]:
    """pg_dump/pg_restore arguments and environment (the password never on the command line)."""
    u = make_url(normalise_url(url))
    args = []
    if u.host:
        args += ["--host", u.host]
    if u.port:
        args += ["--port", str(u.port)]
    if u.username:
        args += ["--username", u.username]
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = u.password
    args += ["--dbname", u.database or "postgres"]
    return args, env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} is not installed: install the PostgreSQL client tools (apt-get install "
                           "postgresql-client).")
    return found


def counts(url: str) -> dict[str, int]:
    engine = make_engine(url, immediate=False)
    try:
        with engine.connect() as conn:
            present = set(inspect(conn).get_table_names())
            return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in COUNTED if t in present}
    finally:
        engine.dispose()


def holds_data(url: str) -> bool:
    if is_sqlite(url) and not Path(_sqlite_path(url)).exists():
        return False
    return any(counts(url).values())


def summary_words(found: dict[str, int]) -> str:
    return ", ".join(f"{n} {t.replace('_', ' ')}" for t, n in found.items())


def backup(url: str, path: str, progress: Progress | None = None) -> str:
    target = Path(path)
    if target.exists():
        raise FileExistsError(f"{path} exists already: choose a new file for each backup.")
    if is_sqlite(url):
        source = sqlite3.connect(_sqlite_path(url), timeout=30)
        dest = sqlite3.connect(str(target))
        try:
            with dest:
                source.backup(dest, pages=PAGES_PER_STEP,
                              progress=(lambda _status, remaining, total: progress(total - remaining, total))
                              if progress else None)
        finally:
            dest.close()
            source.close()
        os.chmod(target, 0o600)
        return summary_words(counts(f"sqlite:///{target}"))
    args, env = _libpq_args(url)
    subprocess.run([_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(target), *args],
                   env=env, check=True)
    os.chmod(target, 0o600)
    if progress:
        progress(1, 1)
    return summary_words(counts(url))


def restore(url: str, path: str, *, force: bool = False, progress: Progress | None = None) -> str:
    if holds_data(url) and not force:
        raise RestoreRefused("The database already holds data. Restore into an empty database, or add --force "
                             "to replace what is there.")
    if is_sqlite(url):
        target = Path(_sqlite_path(url))
        target.parent.mkdir(parents=True, exist_ok=True)
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        dest = sqlite3.connect(str(target), timeout=30)
        try:
            with dest:
                source.backup(dest, pages=PAGES_PER_STEP,
                              progress=(lambda _status, remaining, total: progress(total - remaining, total))
                              if progress else None)
        finally:
            dest.close()
            source.close()
        return summary_words(counts(url))
    args, env = _libpq_args(url)
    subprocess.run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--exit-on-error",
                    "--single-transaction", *args, str(path)], env=env, check=True)
    if progress:
        progress(1, 1)
    return summary_words(counts(url))
