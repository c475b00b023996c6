"""Engines and migrations for SQLite (embedded default) and PostgreSQL (production).

SQLite gets WAL, foreign keys per connection, a busy timeout, and BEGIN IMMEDIATE
transactions: every request that touches plan content also appends to the audit
chain, so transactions take the write lock up front instead of failing to upgrade
a read lock half way (SQLITE_BUSY_SNAPSHOT), which would turn a busy moment into
an error for the person saving.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "var" / "careplans.db"
DEFAULT_DATABASE_URL = f"sqlite:///{DEFAULT_SQLITE_PATH}"


def normalise_url(url: str) -> str:
    """Accept the usual spellings and pick the drivers we ship."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def is_sqlite(url: str) -> bool:
    return make_url(normalise_url(url)).get_backend_name() == "sqlite"


BUSY_TIMEOUT_SECONDS = 30.0


def engine_options(url: str) -> dict[str, Any]:
    if is_sqlite(url):
        # A pool as big as the thread pool a busy process uses: connections beyond the pool are
        # closed on return and reopened (PRAGMAs and all) on the next request.
        return {"connect_args": {"timeout": BUSY_TIMEOUT_SECONDS, "check_same_thread": False,
                                 "factory": GatedConnection},
                "pool_size": 40, "max_overflow": 20}
    # No pool_pre_ping: it costs a round trip on every checkout, several per request.
    # configure_engine pings only a connection that sat idle (see PING_IDLE_SECONDS).
    # pool_size: a busy process runs up to 40 threads; overflow connections are closed
    # on return and opened again (a new PostgreSQL backend) on the next request.
    return {"pool_size": 20, "max_overflow": 20}


def prepare_sqlite_file(url: str) -> None:
    u = make_url(normalise_url(url))
    if u.get_backend_name() == "sqlite" and u.database and u.database != ":memory:":
        Path(u.database).parent.mkdir(parents=True, exist_ok=True)


# --- SQLite's write lock, taken in turn within the process -------------------------------------
#
# A writer that finds SQLite's write lock taken does not queue for it: SQLite's busy handler
# sleeps and tries again (1, 2, 5, 10 ... up to 100 ms between tries). With many threads
# writing at once they mostly sleep while the lock is free: throughput falls to a fraction
# of what one writer alone does, and latency grows with every writer waiting. So the threads
# of one process take turns on a lock of their own first (a waiter wakes the moment the
# holder commits), and only one of them at a time asks SQLite. Other processes still meet
# at SQLite's lock, as before. A turn that cannot be had within the busy timeout (a
# transaction left open) is not waited for longer: the writer goes on to SQLite's own
# lock and its timeout, exactly as without the turn.

_turns: dict[str, threading.Lock] = {}
_turns_lock = threading.Lock()


def _turn_for(database: str) -> threading.Lock | None:
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    key = os.path.realpath(database)
    with _turns_lock:
        return _turns.setdefault(key, threading.Lock())


class GatedConnection(sqlite3.Connection):
    """A sqlite3 connection that takes the process's turn for its database file before
    BEGIN IMMEDIATE and gives it back when the transaction ends (commit, rollback, close)."""

    def __init__(self, database: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        self._turn = _turn_for(os.fsdecode(database))
        self._holding = False

    def take_turn(self) -> None:
        """Wait for the process's turn (at most the busy timeout; then SQLite's own lock decides)."""
        turn = self._turn
        if turn is not None and not self._holding:
            self._holding = turn.acquire(timeout=BUSY_TIMEOUT_SECONDS)

    def give_back(self) -> None:
        if self._holding:
            self._holding = False
            assert self._turn is not None
            self._turn.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.give_back()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.give_back()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.give_back()


# Execution option for connections that only read: on SQLite they begin deferred
# (no write lock). `engine.connect().execution_options(**READ_ONLY_OPTIONS)`.
READ_ONLY_OPTION = "careplans_read_only"
READ_ONLY_OPTIONS = {READ_ONLY_OPTION: True}


def reads_inline(engine: Engine) -> bool:
    """Whether a short read-only transaction is cheaper run on the event loop than in a thread.

    SQLite in WAL mode: a deferred read transaction never waits for a lock, and its
    statements take microseconds, while a hop to the thread pool and back costs a
    millisecond or more under load. Writes always take the thread pool (they may wait
    for the write lock); so do reads from a server over the network (PostgreSQL)."""
    return engine.dialect.name == "sqlite"


# A pooled PostgreSQL connection idle longer than this is pinged before it is lent out (a
# restarted server or a dropped connection is found then, and replaced); one in steady use is not.
PING_IDLE_SECONDS = 10.0


def _ping_when_idle(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["careplans_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("careplans_idle_since")
        if since is None or time.monotonic() - since < PING_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # noqa: BLE001 - any failure: let the pool replace the connection
            raise DisconnectionError() from exc


def configure_engine(engine: Engine, *, immediate: bool = True) -> Engine:
    """Attach per-connection settings. Idempotent per engine.

    `immediate=False` leaves SQLite transactions deferred: for tools and tests that
    mostly read and must not hold the write lock while the app works."""
    if getattr(engine, "_careplans_configured", False):
        return engine
    if engine.dialect.name != "sqlite":
        _ping_when_idle(engine)
        engine._careplans_configured = True  # type: ignore[attr-defined]
        return engine

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so BEGIN is ours.
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A connection opened with READ_ONLY_OPTIONS only reads: it must not take the
        # write lock (the session lookup at the start of every request, for one).
        deferred = not immediate or conn.get_execution_options().get(READ_ONLY_OPTION, False)
        if deferred:
            conn.exec_driver_sql("BEGIN")
            return
        dbapi = conn.connection.dbapi_connection
        gated = isinstance(dbapi, GatedConnection)
        if gated:
            dbapi.take_turn()  # the process's turn first, then SQLite's lock
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if gated:
                dbapi.give_back()
            raise

    engine._careplans_configured = True  # type: ignore[attr-defined]
    return engine


def make_engine(url: str, *, immediate: bool = True, **kwargs: Any) -> Engine:
    url = normalise_url(url)
    prepare_sqlite_file(url)
    options = engine_options(url)
    options.update(kwargs)
    return configure_engine(create_engine(url, **options), immediate=immediate)


def alembic_config(url: str):  # -> alembic.config.Config
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    from alembic import command

    prepare_sqlite_file(url)
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(alembic_config(url), revision)


def compare_type(context, inspected_column, metadata_column, inspected_type, metadata_type):  # noqa: ANN001
    """Alembic type comparison that understands advanced-alchemy's portable types.

    GUID and DateTimeUTC map to different column types per engine (SQLite reports a
    GUID as NUMERIC); comparing those spellings would make autogenerate propose
    changes that are not changes. Everything else uses Alembic's own comparison.
    """
    from advanced_alchemy.types import GUID, DateTimeUTC

    if isinstance(metadata_type, (GUID, DateTimeUTC)):
        return False
    return None
