"""The small pure pieces behind the pages (runs without a browser)."""

from __future__ import annotations

from api.controllers.pages_session import safe_next
from api.forms import Errors, merged_values, parse_date
from careplans.views import People, possessive, progress_chart, short_fingerprint, voice_label


def test_after_login_only_paths_on_this_site():
    assert safe_next("/plans/abc") == "/plans/abc"
    for bad in ("https://evil.example/", "//evil.example/", "/\\evil.example", "/\t/evil.example", "/\n/x",
                "javascript:alert(1)", "", "/login", "/logout"):
        assert safe_next(bad) == "/", bad


def test_whose_words_from_where_the_reader_sits():
    client_words = {"text": "My dog", "voice": "client", "by": "Jordan", "by_role": "client"}
    note = {"text": "Texts first", "voice": "worker", "by": "Sam Okafor", "by_role": "keyworker"}
    as_client = People("client", "Jordan", "Jordan")
    as_sam = People("keyworker", "Sam Okafor", "Jordan")
    as_doctor = People("clinician", "Dr Morgan", "Jordan")
    assert voice_label(client_words, as_client) == "In your words"
    assert voice_label(client_words, as_sam) == "In Jordan’s words"
    assert voice_label(note, as_sam) == "Your note (keyworker)"
    assert voice_label(note, as_client) == "Keyworker’s note: Sam Okafor"
    assert voice_label(note, as_doctor) == "Keyworker’s note: Sam Okafor"
    assert voice_label(None, as_client) == ""
    assert possessive("Chris") == "Chris’" and possessive("Jo") == "Jo’s"


def test_progress_chart_is_readable_without_colour():
    chart = progress_chart([{"rating": 3, "at": "2027-01-05T10:00:00+00:00"},
                            {"rating": 11, "at": "2027-01-12T10:00:00+00:00"}])
    assert [p.rating for p in chart.points] == [3, 10]  # clamped to the scale
    assert chart.points[0].y > chart.points[1].y  # higher ratings are higher up
    assert all(chart.left <= p.x <= chart.width - chart.right for p in chart.points)
    assert chart.description == "Ratings over time: 3 out of 10 on 5 January 2027; 10 out of 10 on 12 January 2027."
    many = progress_chart([{"rating": i % 11, "at": f"2027-02-{i + 1:02d}"} for i in range(20)])
    assert 1 < sum(p.show_date for p in many.points) <= 5 and many.points[-1].show_date
    assert progress_chart([]).description == "No check-ins yet."


def test_merge_keeps_my_changes_and_everyone_elses():
    base = {"a": "old a", "b": "old b", "c": "old c"}
    current = {"a": "their a", "b": "old b", "c": "their c"}
    typed = {"a": "my a", "b": "my b", "c": "old c"}
    values, mine, clashes = merged_values(typed, base, current, ["a", "b", "c"])
    assert values == {"a": "my a", "b": "my b", "c": "their c"}
    assert mine == {"a", "b"} and clashes == {"a"}


def test_dates_and_errors_the_nhs_way():
    errors = Errors()
    assert parse_date({"day": "", "month": "", "year": ""}, "The date", errors, "d") is None and not errors
    assert parse_date({"day": "1", "month": "9", "year": "2027"}, "The date", errors, "d") == "2027-09-01"
    assert parse_date({"day": "12", "month": "", "year": ""}, "The date", errors, "d") is None
    assert errors.summary() == [{"text": "The date must include a month and year.", "href": "#d-month"}]
    assert short_fingerprint("0123456789abcdef0123") == "0123 4567 89ab cdef"
