"""Group-committed read audit (careplans.audit_batch): every answered read has its row,
committed before the answer, in a chain that still verifies with writes in between."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careplans import audit
from careplans.audit import Actor
from careplans.audit_batch import GroupCommitter, append_events, pending
from careplans.db import make_engine, upgrade
from careplans.errors import AuditUnavailable
from careplans.models import AuditEvent
from careplans.services import goals
from tests.fresh_thread import in_a_fresh_thread, wait_until


def reads_of(db, plan_id: str) -> int:
    db.rollback()
    return db.execute(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.plan_id == str(plan_id), AuditEvent.action == "plan.read")).scalar_one()


def test_each_answered_read_has_its_row_before_the_answer(app, world, as_, db):
    kw = as_("keyworker_a")
    plan_id = world.plan_ids["a"]
    before = reads_of(db, plan_id)
    for n in range(1, 4):
        assert kw.get(f"/api/plans/{plan_id}").status_code == 200
        # No waiting: the row committed before the answer was sent.
        assert reads_of(db, plan_id) == before + n
    row = db.execute(select(AuditEvent).where(AuditEvent.plan_id == str(plan_id), AuditEvent.action == "plan.read")
                     .order_by(AuditEvent.seq.desc()).limit(1)).scalar_one()
    assert row.actor_id == str(world.users["keyworker_a"].id) and row.actor_role == "keyworker"
    assert row.client_id == world.client_ids["a"] and '"version":1' in row.detail


def test_concurrent_reads_and_writes_keep_one_verified_chain(app, world, as_, db):
    kw = as_("keyworker_a")
    plan_id = world.plan_ids["a"]
    version = kw.plan(plan_id)["version"]
    before = reads_of(db, plan_id)
    batches_before = app.state.audit_committer.batches
    lock = threading.Lock()

    def read(_: int) -> int:
        return kw.get(f"/api/plans/{plan_id}").status_code

    def write(i: int) -> int:
        nonlocal version
        with lock:  # one writer at a time, each based on the latest version
            r = kw.post(f"/api/plans/{plan_id}/goals", json={"title": f"Goal {i}", "area": "health"},
                        version=version)
            version = int(r.headers["etag"].strip('"'))
            return r.status_code

    with ThreadPoolExecutor(8) as pool:
        reads = [pool.submit(read, i) for i in range(60)]
        writes = [pool.submit(write, i) for i in range(5)]
        assert [f.result() for f in reads] == [200] * 60
        assert [f.result() for f in writes] == [201] * 5
    assert reads_of(db, plan_id) == before + 60
    assert app.state.audit_committer.batches > batches_before
    result = audit.verify(db)
    assert result.ok, result.as_dict()


def test_sqlite_read_waits_for_a_held_write_lock_then_answers_with_its_row(app, world, as_, db, database_url):
    """On SQLite the batch is committed on the event loop without waiting for the lock; when a
    write holds it, the batch goes to the writer thread, and the answer waits for its row."""
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite only: on PostgreSQL a batch waits for the head's row lock on the wire")
    kw = as_("keyworker_a")
    plan_id = world.plan_ids["a"]
    assert kw.get(f"/api/plans/{plan_id}").status_code == 200
    before = reads_of(db, plan_id)
    blocker = make_engine(database_url)
    raw = blocker.raw_connection()
    result: dict = {}
    try:
        raw.driver_connection.execute("BEGIN IMMEDIATE")  # as a write in progress elsewhere
        reader = threading.Thread(target=lambda: result.update(r=kw.get(f"/api/plans/{plan_id}")))
        reader.start()
        reader.join(1.0)
        assert reader.is_alive(), "answered before its audit row could be written"
        assert reads_of(db, plan_id) == before
        raw.driver_connection.rollback()
        reader.join(30)
    finally:
        raw.close()
        blocker.dispose()
    assert result["r"].status_code == 200
    assert reads_of(db, plan_id) == before + 1
    # And the loop's own path works again once the lock is free.
    assert kw.get(f"/api/plans/{plan_id}").status_code == 200
    assert reads_of(db, plan_id) == before + 2
    assert audit.verify(db).ok


def test_sqlite_checkpoints_run_in_a_thread_not_in_the_loops_commit(database_url, world, monkeypatch,
                                                                     checkpoint_threads):
    """The loop's audit commits never checkpoint the WAL themselves (an fsync on the event
    loop); every CHECKPOINT_EVERY batches a checkpoint runs in a worker thread instead.
    (A committer of its own, on a loop of its own: no other test's connections in the way.)"""
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite only")
    import asyncio

    from careplans import audit_batch

    ran = checkpoint_threads
    monkeypatch.setattr(audit_batch, "CHECKPOINT_EVERY", 1)
    engine = make_engine(database_url)
    committer = GroupCommitter(engine)
    actor = Actor(id=str(world.users["keyworker_a"].id), role="keyworker")
    seen: dict = {}

    async def reads() -> None:
        seen["loop"] = threading.current_thread().name
        for i in range(3):  # one batch each: each awaited before the next is queued
            await committer.submit_async(pending(actor, "plan.read", plan_id=world.plan_ids["a"], detail={"n": i}))
        await wait_until(lambda: len(ran) >= 3)

    try:
        in_a_fresh_thread(lambda: asyncio.run(reads()))  # its own loop; what fails there fails the test
    finally:
        committer.stop()
        engine.dispose()
    assert committer.batches == 3 and committer._thread is None  # all three on the loop, no writer thread
    assert len(ran) >= 3, ran
    assert seen["loop"] not in ran, (seen, ran)


def test_postgres_reads_take_the_async_driver_on_the_apps_loop(app, world, as_, db, database_url):
    """On PostgreSQL the session, the revision and the audit batch go through the async pool
    (careplans.pg_async) on the loop the app started on, no thread: once the session has been
    read here (api/fast_read), two checkouts: session, user and revision in one statement,
    then the audit batch."""
    if database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL only")
    from careplans import pg_async

    kw = as_("keyworker_a")
    plan_id = world.plan_ids["a"]
    assert kw.get(f"/api/plans/{plan_id}").status_code == 200  # the view is cached now
    pool = pg_async._BOUND[id(app.state.engine)][1]
    before = pool.get_stats().get("requests_num", 0)
    reads = reads_of(db, plan_id)
    assert kw.get(f"/api/plans/{plan_id}").status_code == 200
    assert pool.get_stats().get("requests_num", 0) - before == 2
    assert reads_of(db, plan_id) == reads + 1


def test_a_failed_batch_answers_503_and_records_nothing(app, world, as_, db, tmp_path):
    kw = as_("keyworker_a")
    plan_id = world.plan_ids["a"]
    assert kw.get(f"/api/plans/{plan_id}").status_code == 200
    before = reads_of(db, plan_id)
    # A real database error: the committer writes to a database that has no audit tables.
    broken = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    real = app.state.audit_committer
    app.state.audit_committer = GroupCommitter(broken)
    try:
        r = kw.get(f"/api/plans/{plan_id}")
    finally:
        app.state.audit_committer.stop()
        app.state.audit_committer = real
        broken.dispose()
    assert r.status_code == 503, r.text
    assert r.headers.get("retry-after") == "5"
    assert "goals" not in r.text
    assert reads_of(db, plan_id) == before
    assert kw.get(f"/api/plans/{plan_id}").status_code == 200


def test_two_committers_and_direct_writes_share_the_chain(database_url, db, world):
    """Two processes' committers (two engines) and writes in their own transactions, at once."""
    engines = [make_engine(database_url) for _ in range(3)]
    committers = [GroupCommitter(e) for e in engines[:2]]
    actor = Actor(id=str(world.users["keyworker_b"].id), role="keyworker")
    plan_id = world.plan_ids["b"]
    kw_b = world.viewer("keyworker_b")
    try:
        futures = []
        for i in range(200):
            futures.append(committers[i % 2].submit(pending(actor, "plan.read", plan_id=plan_id,
                                                            detail={"version": 1})))
            if i % 50 == 0:  # a write in its own transaction, as the app makes them
                with Session(engines[2], expire_on_commit=False) as writer:
                    goals.add_goal(writer, kw_b, plan_id, _version(writer, plan_id),
                                   {"title": f"G{i}", "area": "health"})
                    writer.commit()
        seqs = [f.result(30) for f in futures]
        assert len(set(seqs)) == 200
        assert sum(c.batches for c in committers) < 200  # grouped, not one transaction per read
    finally:
        for c in committers:
            c.stop()
        for e in engines:
            e.dispose()
    result = audit.verify(db)
    assert result.ok, result.as_dict()


def _version(db, plan_id: str) -> int:
    from careplans.models import Plan

    return db.execute(select(Plan.version).where(Plan.id == uuid.UUID(plan_id))).scalar_one()


def test_stop_commits_what_is_queued(database_url, db):
    engine = make_engine(database_url)
    committer = GroupCommitter(engine, linger=0.05)
    try:
        futures = [committer.submit(pending(Actor(id=None, role="system"), "test.queued", detail={"n": i}))
                   for i in range(20)]
        committer.stop()
        assert all(f.done() and f.exception() is None for f in futures)
    finally:
        engine.dispose()
    assert audit.verify(db).ok


def test_append_events_fails_whole_on_error(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        committer = GroupCommitter(make_engine(f"sqlite:///{tmp_path / 'none.db'}"))
        fut = committer.submit(pending(Actor(id=None, role="system"), "test.fail"))
        with pytest.raises(AuditUnavailable):
            fut.result(10)
        committer.stop()
        assert append_events(engine, [pending(Actor(id=None, role="system"), "test.ok")]) == [1]
    finally:
        engine.dispose()


def test_two_worker_processes_each_with_its_writer(database_url, world, db):
    """A real server with two worker processes: each process's writer appends reads' rows,
    writes append theirs in their own transactions, and the chain stays one verified chain."""
    import httpx

    from tests.conftest import PASSWORD, TEST_SECRET
    from tests.live_server import live_server

    pid = world.plan_ids["a"]
    answered = 0
    lock = threading.Lock()
    with live_server(database_url, TEST_SECRET, workers=2) as base:
        def session() -> tuple[httpx.Client, str]:
            client = httpx.Client(base_url=base, timeout=60)
            r = client.post("/api/session", json={"username": world.username("keyworker_a"), "password": PASSWORD})
            assert r.status_code == 200, r.text
            return client, r.json()["csrf_token"]

        before = reads_of(db, pid)

        def read(_: int) -> None:
            nonlocal answered
            client, _token = session()
            try:
                for _ in range(15):
                    r = client.get(f"/api/plans/{pid}")
                    assert r.status_code == 200, r.text
                    with lock:
                        answered += 1
            finally:
                client.close()

        client, token = session()
        with ThreadPoolExecutor(6) as pool:
            reads = [pool.submit(read, i) for i in range(6)]
            version = int(client.get(f"/api/plans/{pid}").headers["etag"].strip('"'))
            with lock:
                answered += 1
            for i in range(4):
                r = client.post(f"/api/plans/{pid}/goals", json={"title": f"Goal {i}", "area": "health"},
                                headers={"If-Match": f'"{version}"', "X-CSRF-Token": token})
                assert r.status_code == 201, r.text
                version = int(r.headers["etag"].strip('"'))
            for f in reads:
                f.result()
        client.close()
    assert reads_of(db, pid) == before + answered
    db.rollback()
    result = audit.verify(db)
    assert result.ok, result.as_dict()


def test_a_reads_detail_is_spelled_as_canonical_json_spells_it():
    """The read's detail skips the JSON encoder; the chain hashes that text, so it must be
    byte for byte what canonical_json gives, and anything else still goes through it."""
    from careplans.audit_batch import _detail
    from careplans.plan_document import canonical_json

    for detail in ({"version": 1}, {"version": 0}, {"version": -3}, {"version": 2**40}, {"version": True},
                   {"version": 1.5}, {"version": "7"}, {"version": 2, "goal": "x"}, {}, None):
        assert _detail(detail) == canonical_json(detail or {})
