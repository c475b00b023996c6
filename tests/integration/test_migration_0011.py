"""Migration 0011: versions written before check-ins became records read back byte for
byte, their fingerprints match, and downgrade restores the whole copies.

The old versions are written with the pre-0011 layout (every version a whole canonical
document) at revision 0010, then the database is upgraded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid

import pytest
import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import command
from sqlalchemy.orm import Session

from careplans import versions
from careplans.db import alembic_config, make_engine
from careplans.models import CaseloadAssignment, Client, Goal, Plan, PlanVersion, User
from careplans.plan_document import canonical_json, empty_content
from careplans.policy import Principal
from careplans.services import goals
from tests.integration.test_migrations import scratch_url  # noqa: F401  (the fixture)

OLD_VERSIONS = sa.table(  # plan_versions as revision 0010 has it
    "plan_versions",
    sa.column("id", GUID(length=16)), sa.column("plan_id", GUID(length=16)), sa.column("number", sa.Integer),
    sa.column("author_id", GUID(length=16)), sa.column("author_role", sa.String),
    sa.column("author_name", sa.String), sa.column("created_at", DateTimeUTC(timezone=True)),
    sa.column("content", sa.Text), sa.column("fingerprint", sa.String), sa.column("changed_paths", sa.JSON),
    sa.column("changes", sa.JSON),
)


def _check_in(n: int, note: str | None = None) -> dict:
    return {"id": str(uuid.UUID(int=n)), "rating": n % 11, "at": f"2026-01-{n % 28 + 1:02d}T10:00:00+00:00",
            "by": "Sam", "note": {"text": note, "voice": "client", "by": "Alex", "by_role": "client"} if note else None}


def _goal(gid: str, title: str, check_ins: list[dict]) -> dict:
    return {"id": gid, "title": {"text": title, "voice": "client", "by": "Alex", "by_role": "client"},
            "why": None, "area": "health", "steps": [], "target_date": None, "status": "active",
            "created_on": "2026-01-01", "check_ins": check_ins}


def _histories() -> dict[str, list[str]]:
    """Each plan's stored contents, oldest first, exactly as the old layout stored them."""
    v1 = {"about_me": {"what_matters": None}, "goals": []}  # a schema 1 document: no schema_version
    g1, g2 = str(uuid.uuid4()), str(uuid.uuid4())
    grows = [v1,
             {**v1, "goals": [_goal(g1, "Sleep better", [])]},
             {**v1, "goals": [_goal(g1, "Sleep better", [_check_in(1, "Café — a good week ✓")])]},
             {**v1, "goals": [_goal(g1, "Sleep better", [_check_in(1, "Café — a good week ✓"), _check_in(2)]),
                              _goal(g2, "Walk daily", [_check_in(3, "Rain")])]},
             {**v1, "about_me": {"what_matters": {"text": "My dog", "voice": "client"}},
              "goals": [_goal(g2, "Walk daily", [_check_in(3, "Rain"), _check_in(4)]),
                        _goal(g1, "Sleep better", [_check_in(1, "Café — a good week ✓"), _check_in(2)])]}]
    current = empty_content()
    g3 = str(uuid.uuid4())
    edited = [{**current, "goals": [_goal(g3, "Cook", [_check_in(5), _check_in(6)])]},
              {**current, "goals": [_goal(g3, "Cook", [_check_in(6)])]},  # a check-in taken out: kept whole
              {**current, "goals": [_goal(g3, "Cook", [_check_in(6), _check_in(7)])]}]
    return {
        "grows": [canonical_json(d) for d in grows],
        "edited": [canonical_json(d) for d in edited],
        # Not canonical (spaces): kept whole, so it still reads back as stored.
        "spaced": [json.dumps({**current, "goals": [_goal(str(uuid.uuid4()), "Cook", [_check_in(8)])]},
                              sort_keys=True)],
    }


def _write_old_layout(url: str) -> tuple[dict[str, uuid.UUID], dict[str, list[tuple[str, str]]], Principal]:
    engine = make_engine(url)
    ids: dict[str, uuid.UUID] = {}
    stored: dict[str, list[tuple[str, str]]] = {}
    kw_id = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(User.__table__.insert(), [{"id": kw_id, "username": "kw", "display_name": "Sam", "role": "keyworker",
                                                "password_hash": "x", "is_active": True, "failed_logins": 0}])
        for name, contents in _histories().items():
            client_id, plan_id = uuid.uuid4(), uuid.uuid4()
            ids[name] = plan_id
            conn.execute(Client.__table__.insert(), [{"id": client_id, "client_reference": name[:16],
                                                      "preferred_name": name}])
            conn.execute(CaseloadAssignment.__table__.insert(), [{"id": uuid.uuid4(), "client_id": client_id,
                                                                  "staff_user_id": kw_id, "relation": "keyworker"}])
            # What the old layout recorded: SHA-256 of the canonical document.
            fps = [hashlib.sha256(canonical_json(json.loads(c)).encode()).hexdigest() for c in contents]
            conn.execute(Plan.__table__.insert(), [{"id": plan_id, "client_id": client_id, "version": len(contents),
                                                    "fingerprint": fps[-1], "status": "active",
                                                    "start_date": dt.date(2026, 1, 1)}])
            conn.execute(OLD_VERSIONS.insert(), [
                {"id": uuid.uuid4(), "plan_id": plan_id, "number": n, "author_id": kw_id, "author_role": "keyworker",
                 "author_name": "Sam", "created_at": dt.datetime(2026, 1, n, tzinfo=dt.timezone.utc),
                 "content": c, "fingerprint": fp, "changed_paths": [], "changes": []}
                for n, (c, fp) in enumerate(zip(contents, fps), start=1)])
            goal_rows = [{"id": uuid.UUID(g["id"]), "plan_id": plan_id, "area": g["area"], "status": g["status"],
                          "created_in_version": 1, "updated_in_version": 1}
                         for g in json.loads(contents[-1])["goals"]]  # the projection the old layout kept too
            if goal_rows:
                conn.execute(Goal.__table__.insert(), goal_rows)
            stored[name] = list(zip(contents, fps))
    engine.dispose()
    return ids, stored, Principal(id=kw_id, role="keyworker", name="Sam")


def _old_contents(url: str) -> dict[tuple[uuid.UUID, int], str]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(OLD_VERSIONS.c.plan_id, OLD_VERSIONS.c.number, OLD_VERSIONS.c.content)).all()
    engine.dispose()
    return {(r.plan_id, r.number): r.content for r in rows}


def _check_read_back(url: str, ids, stored) -> None:
    engine = make_engine(url)
    with Session(engine) as db:
        for name, plan_id in ids.items():
            rows = db.execute(sa.select(PlanVersion).where(PlanVersion.plan_id == plan_id)
                              .order_by(PlanVersion.number)).scalars().all()
            actual = versions.fingerprints_of(db, list(rows))
            for pv, (content, fp) in zip(rows, stored[name]):
                assert versions.content_of(db, plan_id, pv.number) == content, (name, pv.number)
                assert pv.fingerprint == fp and actual[(str(plan_id), pv.number)] == fp, (name, pv.number)
                assert pv.fingerprint_scheme == versions.SCHEME_WHOLE
        layout = {name: [pv.check_ins for pv in db.execute(
            sa.select(PlanVersion).where(PlanVersion.plan_id == plan_id).order_by(PlanVersion.number)).scalars()]
            for name, plan_id in ids.items()}
    engine.dispose()
    assert layout == {"grows": [0, 0, 1, 3, 4], "edited": [2, None, None], "spaced": [None]}


def test_versions_written_before_0011_read_back_byte_for_byte(scratch_url):  # noqa: F811
    cfg = alembic_config(scratch_url)
    command.upgrade(cfg, "0010")
    ids, stored, kw = _write_old_layout(scratch_url)
    before = _old_contents(scratch_url)
    command.upgrade(cfg, "0011")
    _check_read_back(scratch_url, ids, stored)

    command.downgrade(cfg, "0010")  # whole copies again, exactly as they were
    assert _old_contents(scratch_url) == before
    command.upgrade(cfg, "head")
    _check_read_back(scratch_url, ids, stored)

    engine = make_engine(scratch_url)
    with Session(engine, expire_on_commit=False) as db:
        for name, plan_id in ids.items():  # a new check-in on each: the plan carries on with records
            doc = versions.document_of(db, db.execute(sa.select(PlanVersion).where(
                PlanVersion.plan_id == plan_id, PlanVersion.number == len(stored[name]))).scalar_one())
            goal_id = doc["goals"][0]["id"] if doc["goals"] else None
            if goal_id is None:
                continue
            result, _ = goals.add_check_in(db, kw, str(plan_id), goal_id, len(stored[name]), 7, "Better")
            db.commit()
            new = db.execute(sa.select(PlanVersion).where(PlanVersion.plan_id == plan_id,
                                                          PlanVersion.number == result.version)).scalar_one()
            text = versions.content_of(db, plan_id, result.version)
            after = json.loads(text)
            before_doc = versions.document_of(db, db.execute(sa.select(PlanVersion).where(
                PlanVersion.plan_id == plan_id, PlanVersion.number == result.version - 1)).scalar_one())
            assert [len(g["check_ins"]) for g in after["goals"]][0] == len(before_doc["goals"][0]["check_ins"]) + 1
            if name == "edited":  # its check-ins are still not the records followed by new ones: kept whole
                assert new.fingerprint_scheme == versions.SCHEME_WHOLE and new.check_ins is None
            else:
                assert new.fingerprint_scheme == versions.SCHEME_CHAINED and new.check_ins is not None
            assert versions.fingerprints_of(db, [new])[(str(plan_id), new.number)] == new.fingerprint
            for n, (content, _) in enumerate(stored[name], start=1):  # the old ones are untouched
                assert versions.content_of(db, plan_id, n) == content
    engine.dispose()
    with pytest.raises(RuntimeError, match="scheme 2"):  # a chained fingerprint is never rewritten
        command.downgrade(cfg, "0010")
