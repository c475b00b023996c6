"""The read path as statement counts (never times): what one plan read costs the database.

- a second read within the session's renewal window writes no session row;
- a read writes nothing but its audit row (audit_events, and the chain head);
- the user is loaded once per request;
- the number of statements does not depend on the plan's size.
"""

from __future__ import annotations

import re
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
    assert "careplans_session" in r.headers.get("set-cookie", "")  # the cookie is still renewed
    tables = written_tables(sql)
    assert "user_sessions" not in tables, sql
    assert set(tables) <= {"audit_events", "audit_head"}, tables
    assert tables.count("audit_events") == 1
    user_loads = [s for s in sql if re.search(r"\bFROM users\b", s)]
    assert len(user_loads) == 1, user_loads


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
        assert kw.get(f"/api/plans/{plan_id}").status_code == 200
    assert written_tables(sql).count("user_sessions") == 1
    with statements(app.state.engine) as sql:
        assert kw.get(f"/api/plans/{plan_id}").status_code == 200
    assert "user_sessions" not in written_tables(sql)


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


def test_statements_per_read_do_not_grow_with_the_plan(app, world, as_, db):
    kw = as_("keyworker_a")
    small, big = world.plan_ids["a"], world.plan_ids["b"]
    kw_b = world.viewer("keyworker_b")
    version = 1
    goal_ids = []
    for i in range(12):
        result, goal = goals.add_goal(db, kw_b, big, version, {"title": f"Goal {i}", "area": "health"})
        version, goal_ids = result.version, goal_ids + [goal.id]
    for i in range(40):
        version = goals.add_check_in(db, kw_b, big, goal_ids[i % len(goal_ids)], version, i % 11, "ok")[0].version
    db.commit()
    kwb = as_("keyworker_b")
    kw.get(f"/api/plans/{small}")
    kwb.get(f"/api/plans/{big}")
    with statements(app.state.engine) as small_sql:
        assert kw.get(f"/api/plans/{small}").status_code == 200
    with statements(app.state.engine) as big_sql:
        r = kwb.get(f"/api/plans/{big}")
    assert r.status_code == 200 and len(r.json()["goals"]) == 12
    assert len(big_sql) == len(small_sql), (small_sql, big_sql)
    assert len(small_sql) <= 12, small_sql
