"""Kill -9 at random moments: nothing the client was told happened is lost.

A child process (uvicorn serving the app on a SQLite file) answers plan reads and
check-ins from several client threads and is killed with SIGKILL at a random moment,
CAREPLANS_CRASH_CYCLES times (default 50). Afterwards:
- every read answered 200 has its audit row (per plan version: rows >= answers);
- every check-in answered 201 is in the plan, as the version it was answered with, with its audit row;
- the audit chain verifies from the first event to the head.

SQLite only (it runs in the SQLite pass): the process and the file are the point here.
The next server starts while the current one is under load, so a cycle costs little
more than its random lifetime.
"""

from __future__ import annotations

import collections
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import suppress
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from careplans import audit, versions
from careplans.db import is_sqlite, make_engine, upgrade
from careplans.models import AuditEvent, PlanVersion
from tests.conftest import PASSWORD, TEST_SECRET, build_world
from tests.live_server import ROOT, free_port

pytestmark = pytest.mark.skipif(not is_sqlite(os.environ.get("CAREPLANS_DATABASE_URL") or "sqlite://"),
                                reason="the crash test runs in the SQLite pass (a SQLite file and its process)")
# The forked servers share one app built for one port; a Host without a port is allowed on any.
HOST = {"Host": "127.0.0.1"}
CYCLES = int(os.environ.get("CAREPLANS_CRASH_CYCLES", "50"))


class Servers:
    """tests/crash_server.py: forks a ready-built app server per port."""

    def __init__(self, url: str, errors, warm_up: list[str]) -> None:
        env = {**os.environ, "CAREPLANS_ENV": "test", "CAREPLANS_DATABASE_URL": url,
               "CAREPLANS_SECRET_KEY": TEST_SECRET, "CAREPLANS_ARGON2_PROFILE": "cheapest", "PYTHONPATH": str(ROOT)}
        self.parent = subprocess.Popen([sys.executable, str(ROOT / "tests" / "crash_server.py"), *warm_up], cwd=ROOT,
                                       env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors,
                                       text=True)

    def start(self, port: int) -> int:
        assert self.parent.stdin and self.parent.stdout
        self.parent.stdin.write(f"{port}\n")
        self.parent.stdin.flush()
        return int(self.parent.stdout.readline())

    def close(self) -> None:
        self.parent.kill()
        self.parent.wait()
        for stream in (self.parent.stdin, self.parent.stdout):
            if stream:
                stream.close()


def kill_9(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    while True:  # gone once the parent has reaped it
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.005)


def wait_ready(base: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with suppress(httpx.HTTPError):
            if httpx.get(base + "/health/live", timeout=2, headers=HOST).status_code == 200:
                return
        time.sleep(0.02)
    raise RuntimeError("the server did not start")


class Ledger:
    """What the client was told: reads answered per (plan, version), check-ins answered."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reads: collections.Counter[tuple[str, int]] = collections.Counter()
        self.check_ins: list[tuple[str, str, int]] = []  # (plan, check-in id, version answered)
        self.errors: list[str] = []  # answers that were not what a working server gives

    def read(self, plan_id: str, version: int) -> None:
        with self.lock:
            self.reads[(plan_id, version)] += 1

    def wrote(self, plan_id: str, check_in_id: str, version: int) -> None:
        with self.lock:
            self.check_ins.append((plan_id, check_in_id, version))


def reader(http: httpx.Client, base: str, plan_id: str, ledger: Ledger, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            r = http.get(f"{base}/api/plans/{plan_id}")
        except httpx.HTTPError:
            return  # the server is gone: this answer never arrived
        if r.status_code != 200:
            ledger.errors.append(f"read: {r.status_code} {r.text[:200]}")
            return
        ledger.read(plan_id, int(r.headers["etag"].strip('"')))


def writer(http: httpx.Client, base: str, csrf: str, plan_id: str, goal_id: str, ledger: Ledger,
           stop: threading.Event) -> None:
    try:
        r = http.get(f"{base}/api/plans/{plan_id}")
        if r.status_code == 200:
            ledger.read(plan_id, int(r.headers["etag"].strip('"')))
        version = int(r.headers["etag"].strip('"'))
        while not stop.is_set():
            r = http.post(f"{base}/api/plans/{plan_id}/goals/{goal_id}/check-ins", json={"rating": 5, "note": "ok"},
                          headers={"X-CSRF-Token": csrf, "If-Match": f'"{version}"'})
            if r.status_code != 201:
                ledger.errors.append(f"check-in: {r.status_code} {r.text[:200]}")
                return
            version = int(r.headers["etag"].strip('"'))
            ledger.wrote(plan_id, r.json()["id"], version)
    except httpx.HTTPError:
        return


def test_kill_9_loses_no_acknowledged_read_or_write(tmp_path):
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    upgrade(url)
    engine = make_engine(url, immediate=False)
    with Session(engine, expire_on_commit=False) as db:
        world = build_world(db)
        from careplans.services import goals

        plans = {}
        for side in ("a", "b"):
            kw = world.viewer(f"keyworker_{side}")
            result, goal = goals.add_goal(db, kw, world.plan_ids[side], 1, {"title": "Steady days", "area": "health"})
            plans[side] = (world.plan_ids[side], goal.id)
        db.commit()
    with tempfile.TemporaryFile() as errors:
        _crash_cycles(url, world, plans, errors, engine)


def _crash_cycles(url, world, plans, errors, engine) -> None:
    ledger = Ledger()
    servers = Servers(url, errors, [world.username("keyworker_a"), PASSWORD, plans["a"][0]])
    rng = random.Random(os.environ.get("CAREPLANS_CRASH_SEED"))
    served_cycles = 0
    logins: dict[str, tuple[dict, str]] = {}
    clients: dict[str, list[httpx.Client]] = {}
    try:
        for cycle in range(CYCLES):
            port = free_port()
            pid = servers.start(port)
            base = f"http://127.0.0.1:{port}"
            wait_ready(base)
            if not logins:  # the sessions live in the database: one login serves every server
                for side in ("a", "b"):
                    r = httpx.post(base + "/api/session", headers=HOST,
                                   json={"username": world.username(f"keyworker_{side}"), "password": PASSWORD})
                    assert r.status_code == 200, r.text
                    logins[side] = (dict(r.cookies), r.json()["csrf_token"])
                    # Clients made once (making one costs more than a cycle's requests).
                    clients[side] = [httpx.Client(cookies=dict(r.cookies), timeout=10, headers=HOST)
                                     for _ in range(4)]
            # A fresh process compiles its statements on its first requests: warm it up (each
            # answer counts), then kill it at a random moment under load.
            for side in ("a", "b"):
                r = clients[side][0].get(f"{base}/api/plans/{plans[side][0]}")
                assert r.status_code == 200, r.text
                ledger.read(plans[side][0], int(r.headers["etag"].strip('"')))
            stop = threading.Event()
            threads = []
            for side in ("a", "b"):
                cookies, csrf = logins[side]
                plan_id, goal_id = plans[side]
                threads += [threading.Thread(target=reader, args=(clients[side][i], base, plan_id, ledger, stop))
                            for i in range(3)]
                threads.append(threading.Thread(target=writer, args=(clients[side][3], base, csrf, plan_id, goal_id,
                                                                     ledger, stop)))
            before = sum(ledger.reads.values())
            for t in threads:
                t.start()
            time.sleep(rng.uniform(0.02, 0.4))
            kill_9(pid)
            stop.set()
            for t in threads:
                t.join(30)
            served_cycles += sum(ledger.reads.values()) > before
    finally:
        servers.close()
        for http in (c for side in clients.values() for c in side):
            http.close()

    assert not ledger.errors, ledger.errors[:5]
    # Each cycle answers its warm-up reads; on a busy machine an early kill may come before
    # any answer under load, but some kills must come while the server answers.
    assert served_cycles >= 1, "no kill came while the server was answering"
    assert sum(ledger.reads.values()) > 0 and ledger.check_ins
    with Session(engine) as db:
        rows = db.execute(select(AuditEvent.plan_id, AuditEvent.action, AuditEvent.detail)).all()
        recorded: collections.Counter[tuple[str, int]] = collections.Counter()
        written: set[str] = set()
        for plan_id, action, detail in rows:
            d = json.loads(detail)
            if action == "plan.read":
                recorded[(plan_id, int(d["version"]))] += 1
            elif action == "checkin.create":
                written.add(d["check_in_id"])
        missing = {k: (n, recorded[k]) for k, n in ledger.reads.items() if recorded[k] < n}
        assert not missing, f"answered reads without their audit row (answered, recorded): {missing}"
        for plan_id, check_in_id, version in ledger.check_ins:
            assert check_in_id in written, f"check-in {check_in_id} was answered but has no audit row"
            pv = db.execute(select(PlanVersion).where(PlanVersion.plan_id == uuid.UUID(plan_id),
                                                      PlanVersion.number == version)).scalar_one_or_none()
            assert pv is not None, f"version {version} was answered but is not stored"
            content = versions.document_of(db, pv)  # check-ins are records since migration 0011
            assert any(ci["id"] == check_in_id for g in content["goals"] for ci in g.get("check_ins", [])), \
                f"check-in {check_in_id} is not in the version it was answered with"
        result = audit.verify(db)
        assert result.ok, result.as_dict()
    engine.dispose()
