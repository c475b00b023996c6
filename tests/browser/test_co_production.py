"""A keyworker and a client write a plan together in two browsers, sign it, and see later changes."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import check, log_in

pytestmark = pytest.mark.browser


def _goal_form(page, title: str, why: str, area_label: str, steps: list[tuple[str, str, str]] = ()) -> None:
    page.fill("#title", title)
    page.fill("#why", why)
    page.get_by_label(area_label, exact=True).check()
    for i, (words, who, when) in enumerate(steps):
        page.fill(f"#step-{i}-text", words)
        page.fill(f"#step-{i}-who", who)
        page.fill(f"#step-{i}-when", when)


def test_keyworker_and_client_co_write_sign_and_see_later_changes(new_context, people):
    pid = people.plan_id
    kw = new_context().new_page()
    client = new_context().new_page()

    # The keyworker's caseload: the new plan is not signed by anyone, so it comes first and says
    # so honestly (not "waiting for the client", as it used to when nobody had signed).
    log_in(kw, people.keyworker, "/caseload")
    check(kw, "caseload", screenshot=True)
    row = kw.locator("#caseload tbody tr").first
    assert people.client_name in row.inner_text()
    assert "Not agreed yet" in row.inner_text() and "Waiting" not in row.inner_text()

    # The client lands on My plan and writes About me in their own words.
    log_in(client, people.client, "/my-plan")
    check(client, "my-plan-empty")
    client.get_by_role("link", name="Change About me").click()
    check(client, "about-me-edit", screenshot=True)
    client.fill("#what_matters", "My daughter, and football on Sundays.")
    client.fill("#strengths", "I am stubborn in a good way.")
    client.fill("#what_helps", "Being told straight. Texts before 10am.")
    client.get_by_role("button", name="Save About me").click()
    assert "About me is saved." in client.inner_text("main")
    about = client.locator("#about-me").locator("xpath=..")
    assert "In your words" in about.inner_text()

    # The keyworker sees the client's words as theirs, and adds a note of their own.
    kw.goto(f"/plans/{pid}")
    assert f"In {people.client_name}’s words" in kw.inner_text("main")
    kw.goto(f"/plans/{pid}/about-me")
    kw.fill("#important_people", "Their sister Jo, who they want at reviews.")
    kw.get_by_role("button", name="Save About me").click()
    assert "Your note (keyworker)" in kw.inner_text("main")

    # Two goals in the client's words, one with steps; then a check-in with the chart.
    client.goto("/my-plan")
    client.get_by_role("link", name="Add a goal").click()
    check(client, "goal-new", screenshot=True)
    _goal_form(client, "Get my own place with a lock on the door", "So my daughter can stay at weekends.",
               "Home, friends, family and things I do", [("Fill in the housing form", "Sam", "next Tuesday"),
                                      ("Ask the GP for a letter", "me", "this month")])
    client.fill("#target_date-day", "1")
    client.fill("#target_date-month", "9")
    client.fill("#target_date-year", "2027")
    client.get_by_role("button", name="Save goal").click()
    assert "The goal is saved." in client.inner_text("main")
    client.goto(f"/plans/{pid}/goals/new")
    _goal_form(client, "Stay on a steady dose and stop topping up", "I want my mornings back.",
               "Drugs and alcohol")
    client.get_by_role("button", name="Save goal").click()
    check(client, "plan-client", screenshot=True)
    goals = client.locator("#goals").locator("xpath=..")
    assert goals.locator(".nhsuk-card").count() == 2
    assert "Who helps: Sam." in goals.inner_text()

    client.goto("/my-plan")
    client.get_by_role("link", name="Add a check-in for Get my own place with a lock on the door").click()
    check(client, "check-in", screenshot=True)
    client.get_by_label("7", exact=True).check()
    client.fill("#note", "Form half done. Waiting on ID.")
    client.get_by_role("button", name="Save check-in").click()
    assert "The check-in is saved." in client.inner_text("main")
    chart = client.locator("svg.cp-chart")
    assert chart.count() == 1
    assert "7 out of 10" in chart.locator("desc").text_content()
    assert chart.locator("text.cp-chart__value").all_text_contents() == ["7"]
    table = client.locator("table", has_text="Check-ins, oldest first")
    assert "7 out of 10" in table.inner_text() and "In your words" in table.inner_text()
    check(client, "goal-progress", screenshot=True)

    # The keyworker sees both goals in the client's words.
    kw.goto(f"/plans/{pid}")
    kw_goals = kw.locator("#goals").locator("xpath=..").inner_text()
    assert "Get my own place with a lock on the door" in kw_goals
    assert kw_goals.count(f"In {people.client_name}’s words") >= 3  # two titles, the reasons, the steps
    check(kw, "plan-keyworker", screenshot=True)

    # Both sign the exact version they see, and see the same fingerprint.
    client.goto(f"/plans/{pid}/agreement")
    check(client, "agreement-client", screenshot=True)
    version = int(re.search(r"Sign version (\d+)", client.inner_text("main")).group(1))
    client_fp = client.inner_text("#current-fingerprint")
    client.get_by_label(f"I have read version {version} of this plan and I agree with it").check()
    client.get_by_role("button", name=f"Sign version {version}").click()
    assert "Your signature is saved" in client.inner_text("main")
    assert f"Waiting for {people.keyworker.name} to sign" in client.inner_text("main")
    assert "Agreed by you on" in client.inner_text("#agreement-state")

    kw.goto(f"/plans/{pid}/agreement")
    assert kw.inner_text("#current-fingerprint") == client_fp
    kw.get_by_label(f"I have read version {version} of this plan and I agree with it").check()
    kw.get_by_role("button", name=f"Sign version {version}").click()
    assert "Agreed by both" in kw.inner_text("main")
    signed = kw.inner_text("#signatures")
    assert people.client.name in signed and "You (keyworker)" in signed
    check(kw, "agreement-agreed", screenshot=True)

    # The keyworker changes the plan: both now see "changed since you agreed".
    kw.goto(f"/plans/{pid}/about-me")
    kw.fill("#important_people", "Their sister Jo, and their nan.")
    kw.get_by_role("button", name="Save About me").click()
    assert "Changed since agreed" in kw.inner_text("#agreement-state")
    assert "Changed since you both agreed on" in kw.inner_text("#agreement-state")

    client.goto("/my-plan")
    assert "Changed since you both agreed on" in client.inner_text("#agreement-state")
    assert f"{people.keyworker.name} (keyworker) changed ‘People important to me’" in client.inner_text("#news")
    check(client, "my-plan-changed", screenshot=True)
    client.locator("#agreement-state").get_by_role("link", name="see what changed").click()
    changes = client.inner_text("#changes")
    assert f"{people.keyworker.name} (keyworker)" in changes and "Changed ‘People important to me’" in changes
    check(client, "compare", screenshot=True)

    kw.goto("/caseload")
    assert "Changed since agreed" in kw.locator("#caseload tbody tr", has_text=people.client_name).inner_text()

    client.goto(f"/plans/{pid}/agreement")
    table = client.inner_text("#signatures")
    assert f"{version}" in table and "(earlier)" in table


def test_we_see_this_differently_keeps_both_views(new_context, people):
    pid = people.plan_id
    client = new_context().new_page()
    kw = new_context().new_page()
    log_in(client, people.client)
    client.goto(f"/plans/{pid}/about-me")
    client.fill("#what_helps", "Being left alone for a bit.")
    client.get_by_role("button", name="Save About me").click()

    log_in(kw, people.keyworker)
    kw.goto(f"/plans/{pid}/about-me")
    kw.get_by_text("We see this differently: What helps when things are hard").click()
    kw.fill("#different_view-what_helps", "Regular check-ins, even short ones.")
    kw.get_by_role("button", name="Save About me").click()

    client.goto(f"/plans/{pid}")
    section = client.locator("#about-me").locator("xpath=..").inner_text()
    assert "We see this differently" in section
    assert "Your view" in section and "Being left alone for a bit." in section
    assert "Your keyworker’s view" in section and "Regular check-ins, even short ones." in section
    check(client, "plan-two-views", screenshot=True)
