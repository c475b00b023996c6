"""CSRF tokens are bound to the session and rotated at every login, API and pages (issue 10, item 4)."""

from __future__ import annotations

import re

from litestar.testing import TestClient

from api.csrf import CSRF_COOKIE
from tests.conftest import PASSWORD, Api

CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')


def _set_cookie(client: TestClient, value: str) -> None:
    """Replace the CSRF cookie (one cookie of that name, as the browser would hold it)."""
    client.cookies.delete(CSRF_COOKIE)
    client.cookies.set(CSRF_COOKIE, value, domain="testserver.local", path="/")


def _goal(api: Api, plan_id: str, token: str, cookie: str | None = None):
    if cookie is not None:
        _set_cookie(api.client, cookie)
    return api.client.post(f"/api/plans/{plan_id}/goals", json={"title": "Walk", "area": "health"},
                           headers={"X-CSRF-Token": token, "If-Match": '"1"'})


def test_a_token_from_one_session_is_refused_in_another(as_, world):
    a, b = as_("keyworker_a"), as_("keyworker_a")  # the same person, two sessions
    assert a.csrf != b.csrf
    plan = world.plan_ids["a"]
    # B sends A's token as header and cookie (the double submit alone would accept it).
    r = _goal(b, plan, a.csrf, cookie=a.csrf)
    assert r.status_code == 403 and "CSRF" in r.json()["detail"], r.text
    assert b.plan(plan)["version"] == 1
    r = _goal(b, plan, b.csrf, cookie=b.csrf)
    assert r.status_code == 201, r.text


def test_the_token_changes_at_every_api_login_and_the_old_one_stops_working(app, world):
    client = TestClient(app)
    first = Api(client, world.username("keyworker_a"))
    assert client.cookies.get(CSRF_COOKIE) == first.csrf
    second = Api(client, world.username("keyworker_a"))
    assert second.csrf != first.csrf and client.cookies.get(CSRF_COOKIE) == second.csrf
    plan = world.plan_ids["a"]
    assert _goal(second, plan, first.csrf, cookie=first.csrf).status_code == 403
    assert _goal(second, plan, second.csrf, cookie=second.csrf).status_code == 201


def test_page_login_rotates_the_token_and_binds_it(app, world):
    client = TestClient(app)
    page = client.get("/login")
    before = CSRF_FIELD.search(page.text).group(1)
    assert client.cookies.get(CSRF_COOKIE) == before
    r = client.post("/login", data={"username": world.username("keyworker_a"), "password": PASSWORD,
                                    "next": "/", "_csrf_token": before}, follow_redirects=False)
    assert r.status_code in (302, 303), r.text
    after = client.cookies.get(CSRF_COOKIE)
    assert after and after != before
    # The form on the next page carries the new token, and it works; the old one does not.
    home = client.get("/")
    assert CSRF_FIELD.search(home.text).group(1) == after
    r = client.post("/logout", data={"_csrf_token": before}, follow_redirects=False)
    assert r.status_code == 403, r.text
    assert client.get("/api/me").status_code == 200
    r = client.post("/logout", data={"_csrf_token": after}, follow_redirects=False)
    assert r.status_code in (302, 303), r.text
    assert client.get("/api/me").status_code == 401


def test_a_page_read_with_another_sessions_cookie_gets_a_token_of_its_own(app, world):
    a, b = Api(TestClient(app), world.username("keyworker_a")), Api(TestClient(app), world.username("keyworker_a"))
    _set_cookie(b.client, a.csrf)
    page = b.client.get("/")
    token = CSRF_FIELD.search(page.text).group(1)
    assert token != a.csrf and b.client.cookies.get(CSRF_COOKIE) == token
    assert _goal(b, world.plan_ids["a"], token).status_code == 201


def test_a_token_that_is_not_ascii_is_refused_not_a_server_error(as_, world):
    kw = as_("keyworker_a")
    odd = "é" * 64 + "ü" * 64
    r = kw.client.post(f"/api/plans/{world.plan_ids['a']}/goals", json={"title": "Walk", "area": "health"},
                       headers={"X-CSRF-Token": odd.encode(), "If-Match": b'"1"'})
    assert r.status_code == 403, r.text
    page = kw.client.post("/logout", data={"_csrf_token": odd}, follow_redirects=False)
    assert page.status_code == 403, page.text
