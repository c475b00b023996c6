"""Bad input gets a clear 422 naming the field, and changes nothing."""

from __future__ import annotations

import pytest

CASES = [
    ("patch", "", {"next_review_date": "2027-02-30"}, "next_review_date"),
    ("patch", "", {"next_review_date": 20270201}, "next_review_date"),
    ("patch", "", {"about_me": {"what_matters": "x" * 4001}}, "about_me.what_matters"),
    ("patch", "", {"about_me": {"favourite_colour": "blue"}}, "about_me.favourite_colour"),
    ("patch", "", {"version": 99}, "version"),
    ("post", "/goals", {"title": "", "area": "health"}, "title"),
    ("post", "/goals", {"title": "A goal", "area": "astrology"}, "area"),
    ("post", "/goals", {"title": "A goal", "area": "health", "status": "failed"}, "status"),
    ("post", "/goals", {"title": "A goal", "area": "health", "target_date": "next year"}, "target_date"),
    ("post", "/goals", {"title": ["not", "text"], "area": "health"}, "title"),
    ("post", "/goals", {"title": "A goal", "area": "health", "steps": [{"text": "x", "owner": "me"}]}, "steps.0.owner"),
]


@pytest.mark.parametrize("method,suffix,body,field", CASES)
def test_bad_plan_input_is_refused_and_nothing_is_written(as_, world, method, suffix, body, field):
    kw = as_("keyworker_a")
    pid = world.plan_ids["a"]
    before = kw.get(f"/api/plans/{pid}/versions").json()
    r = getattr(kw, method)(f"/api/plans/{pid}{suffix}", body, version=before[-1]["version"])
    assert r.status_code == 422, r.text
    problem = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    assert problem["status"] == 422 and problem["errors"]
    assert any(e["field"] == field for e in problem["errors"]), problem["errors"]
    assert all(e["message"] for e in problem["errors"])
    assert kw.get(f"/api/plans/{pid}/versions").json() == before


def test_check_in_rating_out_of_range(as_, world):
    kw = as_("keyworker_a")
    pid = world.plan_ids["a"]
    goal = kw.post(f"/api/plans/{pid}/goals", {"title": "Sleep better", "area": "health"}, version=1).json()
    for rating in (-1, 11, "seven", 5.5):
        r = kw.post(f"/api/plans/{pid}/goals/{goal['id']}/check-ins", {"rating": rating}, version=2)
        assert r.status_code == 422, (rating, r.text)
        assert r.json()["errors"][0]["field"] == "rating"
    assert kw.plan(pid)["version"] == 2


def test_unknown_goal_is_a_clear_error(as_, world):
    kw = as_("keyworker_a")
    pid = world.plan_ids["a"]
    r = kw.patch(f"/api/plans/{pid}/goals/00000000-0000-0000-0000-000000000000", {"status": "paused"}, version=1)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "goal_id"


@pytest.mark.parametrize("body,field", [
    ({"preferred_name": "Ana", "date_of_birth": "1990-13-01"}, "date_of_birth"),
    ({"preferred_name": "Ana", "date_of_birth": "2999-01-01"}, "date_of_birth"),
    ({"preferred_name": "Ana", "date_of_birth": "1990-01-01", "nhs_number": "1234567890"}, "nhs_number"),
    ({"preferred_name": "Ana", "date_of_birth": "1990-01-01", "is_admin": True}, "is_admin"),
    ({"preferred_name": "x" * 121, "date_of_birth": "1990-01-01"}, "preferred_name"),
])
def test_bad_client_input(as_, world, body, field):
    kw = as_("keyworker_a")
    before = kw.get("/api/clients").json()["total"]
    r = kw.post("/api/clients", body)
    assert r.status_code == 422, r.text
    assert any(e["field"] == field for e in r.json()["errors"]), r.json()
    assert kw.get("/api/clients").json()["total"] == before


def test_valid_nhs_number_is_accepted(as_):
    kw = as_("keyworker_a")
    r = kw.post("/api/clients", {"preferred_name": "Ana", "date_of_birth": "1990-01-01", "nhs_number": "943 476 5919"})
    assert r.status_code == 201, r.text
    assert r.json()["nhs_number"] == "9434765919" and r.json()["client_reference"].startswith("CP-")
