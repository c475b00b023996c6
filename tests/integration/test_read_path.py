"""The read path as statement counts (never times): what one plan read costs the database.

- a second read within the session's renewal window writes no session row;
- a read writes nothing but its audit row (audit_events, and the chain head);
- the user is loaded once per request;
- the number of statements does not depend on the plan's size.
"""

from __future__ import annotations

import re
import uuid
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import event

from careplans.services import goals

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b.*?\b(?:INTO|FROM)?\s*\"?(\w+)\"?", re.I | re.S)


@contextmanager
def statements(engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def before(_conn, _cursor, statement, *_a, **_k):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def written_tables(sql: list[str]) -> list[str]:
    out = []
    for s in sql:
        m = re.match(r"^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?(\w+)\"?", s, re.I)
        if m:
            out.append(m.group(1))
    return out


def test_second_read_writes_no_session_and_only_its_audit_row(app, world, as_):
    kw = as_("keyworker_a")
    plan_id = world.plan_ids["a"]
    assert kw.get(f"/api/plans/{plan_id}").status_code == 200
    with statements(app.state.engine) as sql:
        r = kw.get(f"/api/plans/{plan_id}")
    assert r.status_code == 200
    # Nothing moved on, so no cookie either: the browser's copy already expires with the row.
    assert "careplans_session" not in r.headers.get("set-cookie", "")
    tables = written_tables(sql)
    assert "user_sessions" not in tables, sql
    assert set(tables) <= {"audit_events", "audit_head"}, tables
    assert tables.count("audit_events") == 1
    user_loads = [s for s in sql if re.search(r"\busers\.role\b", s)]  # the reader, as a principal
    assert len(user_loads) == 1, user_loads
    # This process has seen the session's user: the session row and the user in one statement.
    session_reads = [s for s in sql if re.search(r"\bFROM user_sessions\b", s)]
    assert session_reads == user_loads, session_reads


def test_session_touched_once_the_window_has_passed(app, world, as_, db):
    from sqlalchemy import update

    from api.session_model import UserSession
    from careplans.models import utcnow
    import datetime as dt

    kw = as_("keyworker_a")
    plan_id = world.plan_ids["a"]
    # As if the last touch was ten minutes ago: the expiry is nearer than max_age - touch.
    db.execute(update(UserSession).values(expires_at=utcnow() + dt.timedelta(minutes=20)))
    db.commit()
    with statements(app.state.engine) as sql:
        r = kw.get(f"/api/plans/{plan_id}")
    assert r.status_code == 200
    assert written_tables(sql).count("user_sessions") == 1
    # The row's expiry moved on, and the cookie with it (same lifetime, sent again).
    renewed = [c for c in r.headers.get_list("set-cookie") if c.startswith("careplans_session=")]
    assert len(renewed) == 1 and "Max-Age=" in renewed[0], renewed
    with statements(app.state.engine) as sql:
        r = kw.get(f"/api/plans/{plan_id}")
    assert r.status_code == 200
    assert "user_sessions" not in written_tables(sql)
    assert "careplans_session" not in r.headers.get("set-cookie", "")


def test_expired_session_is_refused(app, world, as_, db):
    from sqlalchemy import update

    from api.session_model import UserSession
    from careplans.models import utcnow
    import datetime as dt

    kw = as_("keyworker_a")
    assert kw.get(f"/api/plans/{world.plan_ids['a']}").status_code == 200
    db.execute(update(UserSession).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
    db.commit()
    assert kw.get(f"/api/plans/{world.plan_ids['a']}").status_code == 401


def _big_plan(db, world, goals_count: int = 500, check_ins: int = 100) -> str:
    """keyworker_b's plan with `goals_count` goals (added in one version) and `check_ins` more versions."""
    from careplans import plan_document as doc
    from careplans.commands import change_plan
    from careplans.models import utcnow

    kw_b = world.viewer("keyworker_b")
    plan_id = world.plan_ids["b"]
    ids = [str(uuid.uuid4()) for _ in range(goals_count)]
    today = utcnow().date().isoformat()

    def add_all(content):
        for n, goal_id in enumerate(ids):
            content = doc.add_goal(content, goal_id, {"title": f"Goal {n}", "area": "health"}, kw_b.author,
                                   lambda: str(uuid.uuid4()), today)
        return content

    version = change_plan(db, kw_b, plan_id, 1, add_all, "goal.create", {"goal_id": ids[0]}).version
    for i in range(check_ins):
        version = goals.add_check_in(db, kw_b, plan_id, ids[i % goals_count], version, i % 11, "ok")[0].version
    db.commit()
    return plan_id


def _read_cost(app, api, plan_id: str) -> tuple[list[str], list[str]]:
    """(statements, write transactions) of one GET /api/plans/{id}."""
    with statements(app.state.engine) as sql:
        assert api.get(f"/api/plans/{plan_id}").status_code == 200
    writes = [s for s in sql if s.strip().upper() == "BEGIN IMMEDIATE"] if app.state.engine.dialect.name == "sqlite" \
        else [s for s in sql if s.strip().upper().startswith("SELECT AUDIT_HEAD")]
    return sql, writes


MAX_STATEMENTS = 9  # session and user (3), the read (2: BEGIN and one query), the audit batch (4)


def test_statements_per_read_do_not_grow_with_the_plan(app, world, as_, db):
    kw = as_("keyworker_a")
    small = world.plan_ids["a"]
    big = _big_plan(db, world)
    kwb = as_("keyworker_b")
    app.state.view_cache.clear()
    # First reads (nothing cached yet): the full read, a constant number of statements.
    small_first, _ = _read_cost(app, kw, small)
    big_first, _ = _read_cost(app, kwb, big)
    assert len(big_first) == len(small_first), (small_first, big_first)
    # Later reads of an unchanged plan: the revision query only.
    small_sql, small_writes = _read_cost(app, kw, small)
    big_sql, big_writes = _read_cost(app, kwb, big)
    assert len(big_sql) == len(small_sql), (small_sql, big_sql)
    assert len(small_sql) <= MAX_STATEMENTS, small_sql
    assert len(small_writes) <= 1 and len(big_writes) <= 1, (small_writes, big_writes)
    assert set(written_tables(big_sql)) <= {"audit_events", "audit_head"}
    r = kwb.get(f"/api/plans/{big}")
    assert len(r.json()["goals"]) == 500 and r.json()["version"] == 102


def test_a_known_session_of_a_deactivated_account_is_refused_on_the_next_read(app, world, as_, db):
    """The one-statement read of a session and its (known) user still checks the account is
    active: deactivated directly in the database, its session rows left in place."""
    from sqlalchemy import update

    from careplans.models import User

    kw = as_("keyworker_a")
    plan_id = world.plan_ids["a"]
    assert kw.get(f"/api/plans/{plan_id}").status_code == 200
    assert kw.get(f"/api/plans/{plan_id}").status_code == 200  # the session's user is known now
    uid = world.users["keyworker_a"].id
    db.execute(update(User).where(User.id == uid).values(is_active=False))
    db.commit()
    try:
        assert kw.get(f"/api/plans/{plan_id}").status_code == 401
    finally:
        db.execute(update(User).where(User.id == uid).values(is_active=True))
        db.commit()
    assert as_("keyworker_a").get(f"/api/plans/{plan_id}").status_code == 200  # active again: a new login works
