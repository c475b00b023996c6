"""Operators: the audit head anchored outside the database; backup and restore (issue 10, items 5-6)."""

from __future__ import annotations

import json
import threading
import uuid

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session

from api.cli import main
from careplans import audit
from careplans.db import is_sqlite, make_engine
from careplans.models import AuditEvent, AuditHead, Plan, PlanVersion
from tests.conftest import PASSWORD, TEST_SECRET
from tests.live_server import live_server


@pytest.fixture()
def cli(settings, monkeypatch):
    monkeypatch.setenv("CAREPLANS_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CAREPLANS_SECRET_KEY", settings.secret_key)

    def run(*args: str, url: str | None = None):
        if url:
            monkeypatch.setenv("CAREPLANS_DATABASE_URL", url)
        result = CliRunner().invoke(main, list(args))
        monkeypatch.setenv("CAREPLANS_DATABASE_URL", settings.database_url)
        return result

    return run


def test_truncation_after_an_anchor_is_detected(engine, world, as_):
    kw = as_("keyworker_a")
    kw.patch(f"/api/plans/{world.plan_ids['a']}", {"about_me": {"strengths": "patient"}}, version=1)
    with Session(engine) as db:
        kept = audit.anchor(db)
        db.rollback()
        # Delete the newest events and rewind the head, as someone with database access could.
        cut = kept["seq"] - 3
        prev = db.execute(select(AuditEvent.hash).where(AuditEvent.seq == cut)).scalar_one()
        db.execute(delete(AuditEvent).where(AuditEvent.seq > cut))
        db.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=cut, hash=prev))
        db.flush()
        assert audit.verify_anchors(db, [kept]) is not None
        problem = audit.verify_anchors(db, [kept])
        assert not problem.ok and "rewound" in problem.problem
        db.rollback()
    with Session(engine) as db:
        assert audit.verify_anchors(db, [kept]) is None
        forged = dict(kept, hash="0" * 64)
        assert "different hash" in audit.verify_anchors(db, [forged]).problem
        db.rollback()


def test_anchor_and_verify_commands(cli, tmp_path, world):
    anchors = tmp_path / "anchors.jsonl"
    first = cli("audit", "anchor", "--file", str(anchors))
    assert first.exit_code == 0, first.output
    assert cli("audit", "anchor", "--file", str(anchors)).exit_code == 0
    lines = anchors.read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[0])["seq"] >= 1
    ok = cli("audit", "verify", "--anchor", str(anchors))
    assert ok.exit_code == 0, ok.output
    # An anchor from a head the database no longer reaches: the newest events were removed.
    item = json.loads(lines[-1])
    anchors.write_text(anchors.read_text() + json.dumps(dict(item, seq=item["seq"] + 10**6)) + "\n")
    bad = cli("audit", "verify", "--anchor", str(anchors))
    assert bad.exit_code == 1 and "rewound" in bad.output, bad.output


def _fresh_url(database_url: str, tmp_path) -> str:
    if is_sqlite(database_url):
        return f"sqlite:///{tmp_path / 'restored.db'}"
    name = f"restore_{uuid.uuid4().hex[:8]}"
    admin = make_engine(database_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return database_url.rsplit("/", 1)[0] + "/" + name


def _drop(url: str, database_url: str) -> None:
    if is_sqlite(url):
        return
    admin = make_engine(database_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


def _snapshot(url: str) -> dict:
    engine = make_engine(url, immediate=False)
    with Session(engine) as db:
        out = {
            "plans": sorted((str(p.id), p.version, p.fingerprint) for p in db.execute(select(Plan)).scalars()),
            "versions": sorted((str(v.plan_id), v.number, v.fingerprint, v.content)
                               for v in db.execute(select(PlanVersion)).scalars()),
            "events": [(e.seq, e.hash) for e in db.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars()],
            "verify": audit.verify(db).as_dict(),
        }
    engine.dispose()
    return out


def test_backup_of_a_running_service_under_writes_restores_whole(cli, database_url, tmp_path, world):
    written = 0
    stop = threading.Event()
    errors: list[BaseException] = []
    with live_server(database_url, TEST_SECRET) as base:
        client = httpx.Client(base_url=base, timeout=60)
        r = client.post("/api/session", json={"username": world.username("keyworker_a"), "password": PASSWORD})
        token = r.json()["csrf_token"]
        pid = world.plan_ids["a"]

        def writer() -> None:
            nonlocal written
            try:
                while not stop.is_set():
                    version = client.get(f"/api/plans/{pid}").json()["version"]
                    r = client.patch(f"/api/plans/{pid}", json={"about_me": {"strengths": f"edit {written}"}},
                                     headers={"If-Match": f'"{version}"', "X-CSRF-Token": token})
                    assert r.status_code == 200, r.text
                    written += 1
            except BaseException as exc:  # noqa: BLE001 - re-raised below
                errors.append(exc)

        thread = threading.Thread(target=writer)
        thread.start()
        while written < 3 and thread.is_alive():
            stop.wait(0.1)
        during = tmp_path / "during.backup"
        result = cli("backup", str(during))
        stop.set()
        thread.join()
        client.close()
    assert not errors, errors
    assert result.exit_code == 0, result.output
    assert written >= 3

    # The backup taken under writes restores into a fresh database, whole and verifying.
    fresh = _fresh_url(database_url, tmp_path)
    try:
        restored = cli("restore", str(during), url=fresh)
        assert restored.exit_code == 0, restored.output
        snap = _snapshot(fresh)
        assert snap["verify"]["ok"], snap["verify"]
        # A second restore into the same, now non-empty, database is refused without --force.
        again = cli("restore", str(during), url=fresh)
        assert again.exit_code != 0 and "already holds data" in again.output
        # A backup of the quiet service restores equal: every plan, version and audit event.
        after = tmp_path / "after.backup"
        assert cli("backup", str(after)).exit_code == 0
        forced = cli("restore", "--force", str(after), url=fresh)
        assert forced.exit_code == 0, forced.output
        source, copy = _snapshot(database_url), _snapshot(fresh)
        assert copy == source
        print(f"backup under {written} writes; restored {len(copy['plans'])} plans, {len(copy['versions'])} "
              f"versions, {len(copy['events'])} audit events; chain verifies")
    finally:
        _drop(fresh, database_url)
