"""What people type into pages is bounded and typed like the API's input (issue 10, item 1):
dates by the one table api.input_guard.DATE_BOUNDS, whole numbers as ASCII digits, with a
clear message in the NHS.UK error summary, never a 500."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from api.forms import Errors, date_hint, parse_date

CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')
TODAY = dt.date(2026, 6, 1)


def _parts(day: dt.date) -> dict[str, str]:
    return {"day": str(day.day), "month": str(day.month), "year": str(day.year)}


@pytest.mark.parametrize("field, day, ok", [
    ("review_date", dt.date(2028, 5, 1), True),
    ("review_date", dt.date(2028, 7, 1), False),  # more than two years ahead
    ("review_date", dt.date(2024, 1, 1), False),  # more than a year ago
    ("target_date", dt.date(2036, 1, 1), True),
    ("target_date", dt.date(2037, 1, 1), False),
    ("opt-methadone-discussed_on", dt.date(2026, 6, 2), True),  # a day's grace for time zones
    ("opt-methadone-discussed_on", dt.date(2026, 6, 3), False),  # in the future
    ("moment-0-date", dt.date(1901, 1, 1), True),
    ("supplied_on", dt.date(2027, 1, 1), False),
    ("start_date", dt.date(2027, 7, 1), False),
    ("note_date", dt.date(2150, 1, 1), True),  # no bounds of its own: any real date from 1900 to 2200
])
def test_page_dates_use_the_api_bounds(field, day, ok):
    errors = Errors()
    value = parse_date(_parts(day), "The date", errors, field, today=TODAY)
    assert (value == day.isoformat()) is ok
    assert bool(errors) is not ok
    if not ok:
        assert errors.get(field).startswith("The date must be ") and errors.summary()[0]["href"] == f"#{field}-year"


@pytest.mark.parametrize(("year", "words"), [("1850", "in 1900 or later"), ("2500", "before 2201")])
def test_a_real_date_out_of_any_range_says_which_way(year, words):
    errors = Errors()
    assert parse_date({"day": "1", "month": "1", "year": year}, "The date", errors, "note_date") is None
    assert errors.get("note_date") == f"The date must be {words}."


@pytest.mark.parametrize("year", ["99999999999999999999", "-1", "0", "1e3", "9" * 5000])
def test_a_year_no_one_means_is_an_error_not_an_exception(year):
    errors = Errors()
    assert parse_date({"day": "1", "month": "1", "year": year}, "The date", errors, "review_date") is None
    assert errors.get("review_date").startswith("The date must be a real date")


def test_hints_say_the_bounds():
    assert date_hint("review_date") == "Within two years of today"
    assert date_hint("no_such_field") == ""


def _form(api, path: str) -> tuple[str, str]:
    page = api.get(path)
    assert page.status_code == 200, page.text
    based_on = re.search(r'name="based_on" value="(\d+)"', page.text)
    return CSRF_FIELD.search(page.text).group(1), based_on.group(1) if based_on else "1"


def test_review_date_page_refuses_a_date_years_away_with_the_error_summary(as_, world):
    kw = as_("keyworker_a")
    pid = world.plan_ids["a"]
    page = kw.get(f"/plans/{pid}/review-date")
    assert "Within two years of today. For example" in page.text
    token, based_on = _form(kw, f"/plans/{pid}/review-date")
    far = dt.date.today().replace(day=1) + dt.timedelta(days=3 * 366)
    r = kw.client.post(f"/plans/{pid}/review-date", data={
        "_csrf_token": token, "based_on": based_on, "review_date[day]": str(far.day),
        "review_date[month]": str(far.month), "review_date[year]": str(far.year)}, follow_redirects=False)
    assert r.status_code == 422, r.text
    assert "nhsuk-error-summary" in r.text
    assert "The next review date must be within two years of today." in r.text
    assert kw.plan(pid)["version"] == 1  # nothing saved
    soon = dt.date.today() + dt.timedelta(days=60)
    r = kw.client.post(f"/plans/{pid}/review-date", data={
        "_csrf_token": token, "based_on": based_on, "review_date[day]": str(soon.day),
        "review_date[month]": str(soon.month), "review_date[year]": str(soon.year)}, follow_redirects=False)
    assert r.status_code in (302, 303), r.text
    assert kw.plan(pid)["next_review_date"] == soon.isoformat()


def test_goal_target_date_in_1901_is_refused_on_the_page(as_, world):
    kw = as_("keyworker_a")
    pid = world.plan_ids["a"]
    token, based_on = _form(kw, f"/plans/{pid}/goals/new")
    r = kw.client.post(f"/plans/{pid}/goals/new", data={
        "_csrf_token": token, "based_on": based_on, "title": "Walk each morning", "area": "health",
        "target_date[day]": "1", "target_date[month]": "1", "target_date[year]": "1901", "step_count": "0"},
        follow_redirects=False)
    assert r.status_code == 422, r.text
    assert "The target date must be within ten years of today." in r.text
    assert kw.plan(pid)["version"] == 1
    r = kw.client.post(f"/plans/{pid}/goals/new", data={
        "_csrf_token": token, "based_on": based_on, "title": "Walk each morning", "area": "health",
        "target_date[day]": "1", "target_date[month]": "1", "target_date[year]": "9" * 20, "step_count": "0"},
        follow_redirects=False)
    assert r.status_code == 422 and "The target date must be a real date" in r.text, r.text


@pytest.mark.parametrize("raw", ["²", "١٢", "9" * 5000, "-3", " 12 "])
def test_whole_numbers_in_forms_are_ascii_digits_or_nothing(raw):
    from api.forms import integer

    assert integer({"n": raw}, "n") == (12 if raw.strip() == "12" else None)


def test_share_expiry_that_is_not_a_number_is_a_form_error(as_, world):
    client = as_("client_a")
    pid = world.plan_ids["a"]
    page = client.get(f"/plans/{pid}/share")
    assert page.status_code == 200, page.text
    token = CSRF_FIELD.search(page.text).group(1)
    for days in ("²", "9" * 5000):
        r = client.client.post(f"/plans/{pid}/share", data={
            "_csrf_token": token, "audience": "gp", "expires_days": days}, follow_redirects=False)
        assert r.status_code == 422 and "Choose how long the link works for." in r.text, r.text[:300]
