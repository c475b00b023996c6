"""Sessions, CSRF, lock-out and security headers."""

from __future__ import annotations

from litestar.testing import TestClient

from tests.conftest import PASSWORD


def test_login_issues_a_new_session_id(app, world):
    client = TestClient(app)
    client.cookies.set("careplans_session", "a" * 64, domain="testserver.local")
    r = client.post("/api/session", json={"username": world.username("client_a"), "password": PASSWORD})
    assert r.status_code == 200
    new_id = client.cookies.get("careplans_session", domain="testserver.local")
    assert new_id and new_id != "a" * 64
    # The planted id carries no session.
    attacker = TestClient(app)
    attacker.cookies.set("careplans_session", "a" * 64, domain="testserver.local")
    assert attacker.get("/api/me").status_code == 401
    assert client.get("/api/me").json()["role"] == "client"


def test_cookie_flags(app, world):
    client = TestClient(app)
    r = client.post("/api/session", json={"username": world.username("client_a"), "password": PASSWORD})
    cookies = r.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("careplans_session="))
    assert "HttpOnly" in session and "SameSite=lax" in session


def test_csrf_required_for_unsafe_requests(as_, world):
    kw = as_("keyworker_a")
    pid = world.plan_ids["a"]
    r = kw.client.patch(f"/api/plans/{pid}", json={"next_review_date": "2027-01-01"}, headers={"If-Match": '"1"'})
    assert r.status_code == 403
    r = kw.client.patch(f"/api/plans/{pid}", json={"next_review_date": "2027-01-01"},
                        headers={"If-Match": '"1"', "X-CSRF-Token": "forged" * 10})
    assert r.status_code == 403
    assert kw.plan(pid)["version"] == 1
    assert kw.patch(f"/api/plans/{pid}", {"next_review_date": "2027-01-01"}, version=1).status_code == 200


def test_cross_site_requests_refused(as_, world):
    kw = as_("keyworker_a")
    r = kw.patch(f"/api/plans/{world.plan_ids['a']}", {"next_review_date": "2027-01-01"}, version=1,
                 headers={"Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 403
    r = kw.patch(f"/api/plans/{world.plan_ids['a']}", {"next_review_date": "2027-01-01"}, version=1,
                 headers={"Origin": "https://evil.example"})
    assert r.status_code == 403


def test_logout_ends_the_session(as_):
    kw = as_("keyworker_a")
    assert kw.delete("/api/session").status_code == 204
    assert kw.get("/api/me").status_code == 401


def test_repeated_failures_lock_the_account(app, world):
    client = TestClient(app)
    name = world.username("keyworker_b")
    for _ in range(5):
        assert client.post("/api/session", json={"username": name, "password": "wrong-password"}).status_code == 401
    r = client.post("/api/session", json={"username": name, "password": PASSWORD})
    assert r.status_code == 429
    assert "wrong" not in r.text


def test_unknown_user_and_wrong_password_look_the_same(app, world):
    client = TestClient(app)
    a = client.post("/api/session", json={"username": "nobody-here", "password": "x"})
    b = client.post("/api/session", json={"username": world.username("client_b"), "password": "x"})
    assert a.status_code == b.status_code == 401 and a.json()["detail"] == b.json()["detail"]


def test_security_headers_on_every_response(as_, world, http):
    kw = as_("keyworker_a")
    for r in (kw.get(f"/api/plans/{world.plan_ids['a']}"), http.get("/health"), http.get("/api/me")):
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
        assert r.headers["cache-control"] == "no-store"


def test_unknown_host_refused(app):
    client = TestClient(app, base_url="http://evil.example")
    assert client.get("/health").status_code == 400


def test_openapi_describes_every_api_route(app, http):
    spec = http.get("/schema/openapi.json").json()
    documented = {(m.upper(), p) for p, item in spec["paths"].items() for m in item if m != "parameters"}
    for route in app.routes:
        if not route.path.startswith("/api"):
            continue
        for handler in getattr(route, "route_handlers", []):
            for method in handler.http_methods:
                if method in ("OPTIONS", "HEAD"):
                    continue
                path = route.path.replace(":str}", "}").replace(":int}", "}")
                assert (method, path) in documented, (method, path)


def test_anonymous_requests_store_no_session(http, db):
    from sqlalchemy import func, select

    from api.session_model import UserSession

    before = db.execute(select(func.count()).select_from(UserSession)).scalar_one()
    db.rollback()
    for path in ("/health", "/health/live", "/api/me", "/login"):
        r = http.get(path)
        assert not any(c.startswith("careplans_session=") and "null" not in c
                       for c in r.headers.get_list("set-cookie")), path
    assert db.execute(select(func.count()).select_from(UserSession)).scalar_one() == before
    db.rollback()
