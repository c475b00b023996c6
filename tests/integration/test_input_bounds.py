"""Every input bounded and typed before it reaches the domain (issue 10, item 1).

Each case here answered 500, or stored the value as sent, before the input guard.
"""

from __future__ import annotations

import json

import pytest

BIG = str(2**70)


@pytest.mark.parametrize("path,param", [
    ("/api/clients?offset=" + BIG, "offset"),
    ("/api/clients?offset=" + str(2**31), "offset"),
    ("/api/audit/prescribing?after=" + BIG, "after"),
    ("/api/audit/prescribing?after=" + str(2**31), "after"),
])
def test_big_integers_in_the_query_are_422_naming_the_parameter(as_, path, param):
    who = as_("auditor") if "audit" in path else as_("keyworker_a")
    r = who.get(path)
    assert r.status_code in (400, 422), r.text
    assert param in r.text


def test_big_integers_in_audit_after_are_refused(as_):
    r = as_("auditor").get("/api/audit/events?after=" + BIG)
    assert r.status_code in (400, 422), r.text
    assert "after" in r.text


def test_big_version_numbers_are_refused_not_500(as_, world):
    kw = as_("keyworker_a")
    pid = world.plan_ids["a"]
    r = kw.get(f"/api/plans/{pid}/versions/{BIG}")
    assert r.status_code in (400, 422), r.text
    r = kw.get(f"/api/plans/{pid}/versions/{2**31}")
    assert r.status_code in (400, 422), r.text
    r = kw.get(f"/api/plans/{pid}/diff?from=1&to={2**31}")
    assert r.status_code in (400, 422), r.text
    r = kw.post(f"/api/plans/{pid}/agreements", {"version": 2**31})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "version", r.text


@pytest.mark.parametrize("bad", ["\x00", "\x07", "\x1b[31m", "\u202e", "\u2066", "\x85"])
def test_control_and_bidi_characters_are_refused_in_json_text(as_, world, bad):
    kw = as_("keyworker_a")
    pid = world.plan_ids["a"]
    before = kw.get(f"/api/plans/{pid}/versions").json()
    r = kw.post(f"/api/plans/{pid}/goals", {"title": f"Walk{bad}ing", "area": "health"}, version=1)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "title"
    r = kw.patch(f"/api/plans/{pid}", {"about_me": {"strengths": f"I am {bad} kind"}}, version=1)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "about_me.strengths"
    assert kw.get(f"/api/plans/{pid}/versions").json() == before


def test_tab_and_newline_are_kept_in_multi_line_text(as_, world):
    kw = as_("keyworker_a")
    pid = world.plan_ids["a"]
    r = kw.patch(f"/api/plans/{pid}", {"about_me": {"strengths": "Line one\n\tLine two"}}, version=1)
    assert r.status_code == 200, r.text


def test_nul_in_the_login_form_and_api_login_is_refused_not_500(http):
    r = http.post("/login", data={"username": "someone\x00", "password": "x" * 12})
    assert r.status_code == 422, r.text
    r = http.post("/api/session", json={"username": "someone\x00", "password": "x" * 12})
    assert r.status_code == 422, r.text
    r = http.post("/api/session", json={"username": "someone", "password": "pass\x00word"})
    assert r.status_code == 422, r.text


def test_nul_in_the_query_string_is_refused(as_):
    r = as_("auditor").get("/api/audit/events", params={"plan_id": "P-\x00"})
    assert r.status_code == 422, r.text


def test_invalid_utf8_json_is_400(http):
    r = http.post("/api/session", content=b'{"username": "\xff\xfe", "password": "x"}',
                  headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text


def test_deep_json_is_400_without_logging_in(http):
    body = b'{"username": ' + b"[" * 3000 + b"]" * 3000 + b', "password": "x"}'
    r = http.post("/api/session", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text
    body = b"[" * 1100 + b"]" * 1100
    r = http.post("/api/session", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text


def test_big_login_bodies_are_413_before_parsing(http):
    many = "&".join(f"f{i}=x" for i in range(20_000))
    r = http.post("/login", content=many.encode(), headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413, r.text
    r = http.post("/api/session", content=json.dumps({"username": "a", "password": "x" * 20_000}).encode(),
                  headers={"content-type": "application/json"})
    assert r.status_code == 413, r.text


def test_form_field_count_is_limited(as_, world):
    kw = as_("keyworker_a")
    pid = world.plan_ids["a"]
    fields = "&".join(f"f{i}=x" for i in range(1000))
    r = kw.client.post(f"/plans/{pid}/about-me", content=fields.encode(),
                       headers={"content-type": "application/x-www-form-urlencoded", "X-CSRF-Token": kw.csrf})
    assert r.status_code == 413, r.text


def test_plan_bodies_are_finite(as_, world):
    kw = as_("keyworker_a")
    pid = world.plan_ids["a"]
    r = kw.patch(f"/api/plans/{pid}", {"about_me": {"strengths": "x" * 600_000}}, version=1)
    assert r.status_code == 413, r.text


@pytest.mark.parametrize("body,field", [
    ({"next_review_date": "0001-01-01"}, "next_review_date"),
    ({"next_review_date": "9999-12-31"}, "next_review_date"),
    ({"staying_safe": {"naloxone": {"offered_on": "0001-01-01"}}}, "staying_safe.naloxone.offered_on"),
])
def test_dates_out_of_sensible_bounds_are_refused(as_, world, body, field):
    kw = as_("keyworker_a")
    pid = world.plan_ids["a"]
    r = kw.patch(f"/api/plans/{pid}", body, version=1)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == field


def test_goal_target_date_in_year_9999_is_refused(as_, world):
    kw = as_("keyworker_a")
    r = kw.post(f"/api/plans/{world.plan_ids['a']}/goals",
                {"title": "Walk", "area": "health", "target_date": "9999-01-01"}, version=1)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "target_date", r.text


def test_date_of_birth_before_1900_is_refused(as_):
    r = as_("keyworker_a").post("/api/clients", {"preferred_name": "Ana", "date_of_birth": "0001-01-01"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "date_of_birth", r.text


def test_a_string_is_not_a_rating(as_, world):
    kw = as_("keyworker_a")
    pid = world.plan_ids["a"]
    goal = kw.post(f"/api/plans/{pid}/goals", {"title": "Sleep better", "area": "health"}, version=1).json()
    r = kw.post(f"/api/plans/{pid}/goals/{goal['id']}/check-ins", {"rating": "7"}, version=2)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "rating"
    assert kw.plan(pid)["version"] == 2


def test_names_and_goal_titles_are_isolated_in_headings(as_, world, db):
    """Right-to-left names cannot reorder the words around them: they are shown inside <bdi>."""
    kw = as_("keyworker_a")
    r = kw.post("/api/clients", {"preferred_name": "שרה", "date_of_birth": "1990-01-01"})
    assert r.status_code == 201, r.text
    page = kw.get("/caseload").text
    assert "<bdi>שרה</bdi>" in page
    pid = world.plan_ids["a"]
    goal = kw.post(f"/api/plans/{pid}/goals", {"title": "ללכת ברגל", "area": "health"}, version=1).json()
    page = kw.get(f"/plans/{pid}/goals/{goal['id']}").text
    assert "<bdi>ללכת ברגל</bdi></h1>" in page
    assert "<bdi>Person A</bdi>’s goal" in page
    assert "<title><bdi>" not in page
