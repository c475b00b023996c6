"""Login abuse (issue 10, item 3): growing delays per address and per account instead of a
hard lock-out anyone can trigger; the same answers for known and unknown usernames; an
administrator can let a person try again."""

from __future__ import annotations

import uuid
from collections import Counter

from click.testing import CliRunner
from litestar.testing import TestClient

from tests.conftest import PASSWORD


def attempts(app, address: str, username: str, password: str, n: int) -> Counter:
    from litestar.testing.transport import TestClientTransport

    seen: Counter = Counter()
    client = TestClient(app)
    orig = TestClientTransport.parse_request

    def parse(self, request):  # the remote address of this test client
        scope = orig(self, request)
        scope["client"] = (address, 50000)
        return scope

    TestClientTransport.parse_request = parse  # type: ignore[method-assign]
    try:
        for _ in range(n):
            r = client.post("/api/session", json={"username": username, "password": password})
            seen[r.status_code] += 1
            if r.status_code == 429:
                assert "Try again in" in r.json()["detail"]
                assert int(r.headers["retry-after"]) > 0
    finally:
        TestClientTransport.parse_request = orig  # type: ignore[method-assign]
    return seen


def test_100_wrong_attempts_from_one_address_are_slowed_and_the_person_can_still_log_in(app, world):
    victim = world.username("keyworker_a")
    seen = attempts(app, "203.0.113.7", victim, "not-the-password", 100)
    assert seen[429] >= 90 and seen[401] <= 10 and set(seen) <= {401, 429}, seen
    print(f"100 wrong attempts from one address: {dict(seen)}")
    # The real person, from their own address, is not locked out.
    ok = attempts(app, "198.51.100.20", victim, PASSWORD, 1)
    assert ok == Counter({200: 1}), ok


def test_one_address_guessing_many_usernames_is_slowed(app, world):
    seen = Counter()
    for i in range(40):
        seen += attempts(app, "203.0.113.50", f"nobody-{uuid.uuid4().hex[:8]}-{i}", "guess-guess", 1)
    assert seen[401] == 30 and seen[429] == 10, seen


def test_known_and_unknown_usernames_get_the_same_answers(app, world):
    known = world.username("clinician_a")
    unknown = f"no-such-person-{uuid.uuid4().hex[:8]}"
    a = attempts(app, "203.0.113.81", known, "wrong-password", 12)
    b = attempts(app, "203.0.113.82", unknown, "wrong-password", 12)
    assert a == b, (a, b)


def test_html_login_is_slowed_with_a_clear_message(app, world):
    from litestar.testing.transport import TestClientTransport

    client = TestClient(app)
    statuses = []
    orig = TestClientTransport.parse_request

    def parse(self, request):
        scope = orig(self, request)
        scope["client"] = ("203.0.113.90", 50000)
        return scope

    TestClientTransport.parse_request = parse  # type: ignore[method-assign]
    try:
        client.get("/login")
        token = client.cookies.get("careplans_csrf")
        for _ in range(7):
            r = client.post("/login", data={"username": world.username("client_a"), "password": "wrong-wrong",
                                            "_csrf_token": token or ""})
            statuses.append(r.status_code)
    finally:
        TestClientTransport.parse_request = orig  # type: ignore[method-assign]
    assert statuses[:5] == [401] * 5 and statuses[5:] == [429, 429], statuses
    assert "Try again in" in r.text and r.headers["retry-after"]


def test_an_administrator_can_let_a_person_try_again(app, world, as_):
    name = world.username("keyworker_b")
    assert attempts(app, "203.0.113.99", name, "wrong-password", 7)[429] == 2
    assert attempts(app, "203.0.113.99", name, PASSWORD, 1) == Counter({429: 1})
    assert as_("keyworker_a").post("/api/staff/unlock", {"username": name}).status_code == 403
    r = as_("admin").post("/api/staff/unlock", {"username": name})
    assert r.status_code == 200 and r.json()["cleared"] >= 1, r.text
    assert attempts(app, "203.0.113.99", name, PASSWORD, 1) == Counter({200: 1})


def test_the_admin_page_unlocks(app, world, as_):
    name = world.username("clinician_b")
    attempts(app, "203.0.113.98", name, "wrong-password", 7)
    admin = as_("admin")
    assert "Let someone log in again" in admin.get("/home").text
    page = admin.get("/admin/unlock")
    assert page.status_code == 200
    r = admin.client.post("/admin/unlock", data={"username": name}, headers={"X-CSRF-Token": admin.csrf})
    assert r.status_code == 200 and "can try to log in again now" in r.text, r.text[-500:]
    assert attempts(app, "203.0.113.98", name, PASSWORD, 1) == Counter({200: 1})


def test_the_unlock_command(app, world, settings, monkeypatch):
    from api.cli import main

    name = world.username("auditor")
    attempts(app, "203.0.113.97", name, "wrong-password", 7)
    monkeypatch.setenv("CAREPLANS_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CAREPLANS_SECRET_KEY", settings.secret_key)
    result = CliRunner().invoke(main, ["unlock", name])
    assert result.exit_code == 0, result.output
    assert attempts(app, "203.0.113.97", name, PASSWORD, 1) == Counter({200: 1})
