"""api.bypass: Litestar's own skip rule, remembered per path in bounded tables."""

from __future__ import annotations

import re

from api.bypass import REMEMBERED, REMEMBERED_WITH_IDS, Bypass


def scope(path: str, method: str = "GET", **params: str) -> dict:
    return {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "path_params": params}


def test_answers_as_litestar_and_remembers_each_path():
    skip = Bypass({"scopes": {"http"}, "exclude_opt_key": None, "exclude_path_pattern": re.compile("^/health/live$|^/s/")},
                  {"scopes": {"http"}, "exclude_opt_key": None, "exclude_http_methods": ["OPTIONS"],
                   "exclude_path_pattern": re.compile("^/health")})
    assert skip(scope("/health/live")) is True
    assert skip(scope("/health/live")) is True
    assert skip(scope("/health")) is False  # the first rule does not skip it
    assert skip(scope("/api/me")) is False
    assert len(skip.seen) == 3
    assert skip(scope("/s/abc", token="abc")) is False  # the second rule does not skip it
    assert skip(scope("/api/plans/1", plan_id="1")) is False
    assert skip(scope("/api/plans/1", plan_id="1")) is False
    assert len(skip.seen) == 3  # paths with parameters are remembered in a table of their own
    assert len(skip.seen_with_ids) == 2
    assert skip({**scope("/api/me"), "type": "websocket"}) is True  # a scope type the rules do not handle


def test_the_table_stays_bounded():
    skip = Bypass({"scopes": {"http"}, "exclude_opt_key": None, "exclude_path_pattern": re.compile("^/static/")})
    for i in range(REMEMBERED * 3):
        assert skip(scope(f"/static/{i}")) is True
    assert len(skip.seen) <= REMEMBERED
    for i in range(REMEMBERED_WITH_IDS * 2 + 5):
        assert skip(scope(f"/static/{i}", name=str(i))) is True
        assert skip(scope(f"/api/plans/{i}", plan_id=str(i))) is False
    assert len(skip.seen_with_ids) <= REMEMBERED_WITH_IDS
