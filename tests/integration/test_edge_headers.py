"""Every kind of response carries the security headers once each, and `no-store` outside /static/.

Pins what api.app's before_send hook guarantees, whichever layer made the response: a route
handler, a middleware's refusal (auth, CSRF, origin, input limits, host), the router (404, 405),
static files, and responses that set a Cache-Control of their own.
"""

from __future__ import annotations

import threading

import uuid

import pytest
from litestar.testing import TestClient

from api.app import SECURITY_HEADERS

EXPECTED = {name.decode(): value.decode() for name, value in SECURITY_HEADERS}


def assert_secured(r, *, cache: str | None = "no-store") -> None:
    for name, value in EXPECTED.items():
        assert r.headers.get_list(name) == [value], (r.request.url, name, r.headers.get_list(name))
    if cache is not None:
        assert r.headers.get_list("cache-control") == [cache], (r.request.url, r.headers.get_list("cache-control"))


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/health/live", 200),
    ("GET", "/health", 200),
    ("GET", "/login", 200),
    ("GET", "/api/me", 401),  # refused by authentication
    ("GET", "/no/such/page", 404),  # no route: the router refuses
    ("POST", "/health/live", 405),
    ("GET", "/health/live?q=%00", 422),  # input guard, on a path sessions and auth skip
    ("GET", "/login?q=%E2%80%AE", 422),  # input guard, on a page with a session
])
def test_anonymous_responses_are_secured(http, method, path, status):
    r = http.request(method, path)
    assert r.status_code == status, r.text
    assert_secured(r)


def test_responses_to_a_signed_in_person_are_secured(as_, world):
    kw = as_("keyworker_a")
    pid = world.plan_ids["a"]
    assert_secured(kw.get(f"/api/plans/{pid}"))
    missing = kw.get(f"/api/plans/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert_secured(missing)
    no_token = kw.client.patch(f"/api/plans/{pid}", json={"next_review_date": "2027-01-01"}, headers={"If-Match": '"1"'})
    assert no_token.status_code == 403  # CSRF
    assert_secured(no_token)
    cross = kw.patch(f"/api/plans/{pid}", {"next_review_date": "2027-01-01"}, version=1,
                     headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403  # origin check
    assert_secured(cross)


def test_unknown_host_refusal_is_secured(app):
    r = TestClient(app, base_url="http://evil.example").get("/health/live")
    assert r.status_code == 400
    assert_secured(r)


def test_static_files_keep_their_own_cache_control(http):
    r = http.get("/static/app/careplans.css")
    assert r.status_code == 200
    assert_secured(r, cache=None)
    assert "no-store" not in r.headers.get("cache-control", "")
    sheet = http.get("/static/nhsuk-frontend.css")
    assert sheet.status_code == 200
    assert_secured(sheet, cache="public, max-age=3600")
    missing = http.get("/static/app/no-such-file.css")
    assert missing.status_code == 404
    assert_secured(missing, cache=None)


def test_the_hook_closes_the_request_database_session_and_leaves_other_scopes_alone():
    import asyncio

    from advanced_alchemy.extensions.litestar._utils import get_aa_scope_state, set_aa_scope_state
    from advanced_alchemy.extensions.litestar.plugins.init.config.common import SESSION_SCOPE_KEY

    from api.app import before_send

    class FakeSession:
        closed = 0

        def close(self) -> None:
            self.closed += 1

    def run(message: dict, scope: dict) -> None:
        # In a thread of its own: after the browser tests, sync Playwright leaves a loop
        # marked running in the main thread, where asyncio.run would refuse.
        done: list[BaseException | None] = []

        def target() -> None:
            try:
                asyncio.run(before_send(message, scope))
                done.append(None)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
                done.append(exc)

        worker = threading.Thread(target=target)
        worker.start()
        worker.join(30)
        assert done, "before_send did not finish"
        if done[0] is not None:
            raise done[0]

    session = FakeSession()
    with_session: dict = {"type": "http", "path": "/api/clients"}
    set_aa_scope_state(with_session, SESSION_SCOPE_KEY, session)
    run({"type": "http.response.start", "status": 200, "headers": []}, with_session)
    assert session.closed == 1 and get_aa_scope_state(with_session, SESSION_SCOPE_KEY) is None
    run({"type": "http.response.body", "body": b""}, with_session)
    assert session.closed == 1

    without: dict = {"type": "http", "path": "/health/live"}
    message: dict = {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}
    run(message, without)
    assert without == {"type": "http", "path": "/health/live"}  # nothing added to a scope that opened no session
    assert message["headers"][0] == (b"content-type", b"text/plain") and (b"cache-control", b"no-store") in message["headers"]


@pytest.mark.parametrize(("host", "status"), [
    ("127.0.0.1", 200), ("localhost:8000", 200), ("testserver.local", 200),
    ("127.0.0.1:9999", 400), ("evil.example", 400), ("evil.example:8000", 400), (":8000", 400), ("", 400),
])
def test_the_host_is_checked_each_time(http, host, status):
    for _ in range(2):  # the second time after an accepted Host was remembered
        r = http.get("/health/live", headers={"Host": host})
        assert r.status_code == status, r.text
        assert_secured(r)


def test_a_session_is_started_only_by_an_unsafe_request():
    from litestar.connection import ASGIConnection

    from api.csrf import issue_for_login

    # The CSRF middleware sends a new session's token on unsafe requests only.
    with pytest.raises(RuntimeError):
        issue_for_login(ASGIConnection({"type": "http", "method": "GET", "headers": []}), "new-session-id")  # type: ignore[arg-type]
