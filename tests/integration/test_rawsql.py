"""careplans.rawsql (the hot read statements on the driver's connection) and the pool's idle ping."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading

import pytest
from sqlalchemy import bindparam, select, text

from careplans import db as careplans_db, rawsql
from careplans.db import make_engine
from careplans.models import User


STATEMENT = rawsql.Prepared(select(User.id, User.role, User.display_name, User.updated_at, User.is_active)
                            .where(User.username == bindparam("username")))


def test_prepared_rows_equal_sqlalchemy_rows(database_url, world):
    engine = make_engine(database_url)
    try:
        username = world.username("keyworker_a")
        with engine.connect() as conn:
            expected = tuple(conn.execute(STATEMENT.statement, {"username": username}).one())
        with rawsql.read_only(engine) as cur:
            got = STATEMENT.first(cur, {"username": username})
            missing = STATEMENT.first(cur, {"username": "nobody-at-all"})
        assert got == expected  # same Python values: UUID, aware datetime, bool
        assert isinstance(got[3], dt.datetime) and got[3].tzinfo is not None
        assert missing is None
        # A value is bound, never spliced into the SQL.
        with rawsql.read_only(engine) as cur:
            assert STATEMENT.first(cur, {"username": "x' OR '1'='1"}) is None
    finally:
        engine.dispose()


def _in_a_fresh_thread(fn) -> None:
    """Run fn in a thread of its own, re-raising what it raised. The browser tests' sync
    Playwright leaves an event loop marked running in the main thread, and this test must
    know whether it is on a loop or not."""
    failure: list[BaseException] = []

    def target() -> None:
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test's thread
            failure.append(exc)

    worker = threading.Thread(target=target)
    worker.start()
    worker.join()
    if failure:
        raise failure[0]


def test_event_loop_connection_is_held_and_given_back_on_dispose(tmp_path):
    url = f"sqlite:///{tmp_path / 'held.db'}"
    careplans_db.upgrade(url)
    engine = make_engine(url)

    async def two_reads() -> None:
        for _ in range(2):
            with rawsql.read_only(engine) as cur:
                cur.cursor.execute("SELECT 1")
        assert engine.pool.checkedout() == 1  # one connection, kept for the loop's reads

    def body() -> None:
        asyncio.run(two_reads())
        with rawsql.read_only(engine) as cur:  # off the loop: borrowed and returned
            cur.cursor.execute("SELECT 1")
        assert engine.pool.checkedout() == 1
        engine.dispose()
        assert engine.pool.checkedout() == 0

    _in_a_fresh_thread(body)


def test_postgres_connection_dropped_while_idle_is_replaced(database_url, monkeypatch):
    if careplans_db.is_sqlite(database_url):
        pytest.skip("PostgreSQL only: pinging idle pooled connections")
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            first_pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        # The pool's only connection is back in the pool: end it on the server.
        killer = make_engine(database_url)
        with killer.begin() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first_pid})
        killer.dispose()
        monkeypatch.setattr(careplans_db, "PING_IDLE_SECONDS", 0.0)  # it has been idle "long enough"
        with engine.connect() as conn:
            second_pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert second_pid != first_pid
    finally:
        engine.dispose()


def test_driver_errors_are_sqlalchemy_errors(tmp_path):
    """A database that is away or busy must reach the app's 503 handler, as through SQLAlchemy."""
    from sqlalchemy import Column, Integer, MetaData, Table
    from sqlalchemy.exc import OperationalError

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    engine = make_engine(url)
    missing = Table("not_there", MetaData(), Column("id", Integer))
    statement = rawsql.Prepared(select(missing.c.id).where(missing.c.id == bindparam("id")))
    try:
        with pytest.raises(OperationalError):
            with rawsql.read_only(engine) as cur:
                statement.first(cur, {"id": 1})
    finally:
        engine.dispose()


@pytest.mark.parametrize("dialect_name", ["sqlite", "postgresql"])
@pytest.mark.parametrize("role", ["client", "keyworker", "clinician"])
def test_arguments_from_the_kept_shape_equal_sqlalchemys(dialect_name, role):
    """Prepared binds a statement's fixed values once (the reader's id in the policy's
    scope) and only the given ones per run: the driver receives exactly what SQLAlchemy's
    own construct_params would give, for every reader and both dialects."""
    import uuid

    from sqlalchemy.dialects import sqlite
    from sqlalchemy.dialects.postgresql import psycopg

    from careplans import reading
    from careplans.policy import Principal

    dialect = sqlite.dialect() if dialect_name == "sqlite" else psycopg.dialect()
    who = Principal(id=uuid.uuid4(), role=role, name="Someone")
    revision = rawsql.Prepared(reading.revision_statement(who, "read"))
    found = revision._for(dialect)
    for _ in range(3):
        params = {"plan_id": uuid.uuid4()}
        assert revision._args(found, params) == revision._general_args(found, params)
    assert revision._shapes[(dialect_name, ("plan_id",))] is not False  # the kept shape was used
    found = STATEMENT._for(dialect)
    assert STATEMENT._args(found, {"username": "a"}) == STATEMENT._general_args(found, {"username": "a"})


def test_statements_sqlalchemy_rewrites_per_run_take_the_general_path():
    from sqlalchemy.dialects import sqlite
    from sqlalchemy.exc import ArgumentError, InvalidRequestError, StatementError

    expanding = rawsql.Prepared(select(User.id).where(User.username.in_(bindparam("names", expanding=True))))
    found = expanding._for(sqlite.dialect())
    assert expanding._args(found, {"names": ["a", "b"]}) == expanding._general_args(found, {"names": ["a", "b"]})
    assert expanding._shapes[("sqlite", ("names",))] is False
    # A required value left out is an error, as with SQLAlchemy, never a silent NULL.
    found = STATEMENT._for(sqlite.dialect())
    with pytest.raises((ArgumentError, InvalidRequestError, StatementError)):
        STATEMENT._args(found, {})


def test_postgres_reads_of_one_turn_share_one_pipeline_and_keep_their_own_results(database_url, world):
    """pg_async.first_batched: the reads queued in one turn go down one connection in one
    pipeline (one checkout), each with its own result; a read that fails fails alone."""
    if database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL only")
    from careplans import pg_async

    engine = make_engine(database_url)
    failing = rawsql.Prepared(select(text("1 / 0")))
    names = [world.username(k) for k in ("keyworker_a", "keyworker_b", "client_a", "auditor")]

    async def main() -> None:
        await pg_async.open_for(engine)
        try:
            pool = pg_async._BOUND[id(engine)][1]
            await asyncio.sleep(0.2)
            before = pool.get_stats().get("requests_num", 0)
            rows = await asyncio.gather(*(pg_async.first_batched(engine, STATEMENT, {"username": n}) for n in names))
            assert pool.get_stats().get("requests_num", 0) - before == 1
            assert [STATEMENT.value(engine, r, 2) for r in rows] == [world.users[k].display_name for k in
                                                                     ("keyworker_a", "keyworker_b", "client_a", "auditor")]
            mixed = await asyncio.gather(pg_async.first_batched(engine, STATEMENT, {"username": names[0]}),
                                         pg_async.first_batched(engine, failing, {}),
                                         pg_async.first_batched(engine, STATEMENT, {"username": "nobody"}),
                                         return_exceptions=True)
            assert STATEMENT.value(engine, mixed[0], 2) == world.users["keyworker_a"].display_name
            assert isinstance(mixed[1], Exception) and "division by zero" in str(mixed[1])
            assert mixed[2] is None
        finally:
            await pg_async.close(engine)

    try:
        _in_a_fresh_thread(lambda: asyncio.run(main()))
    finally:
        engine.dispose()
