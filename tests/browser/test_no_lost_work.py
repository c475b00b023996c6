"""Two people editing at once: the second to save gets a merge page, never a lost or silent overwrite."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import check, log_in

pytestmark = pytest.mark.browser


def _two(new_context, people):
    client = new_context().new_page()
    kw = new_context().new_page()
    log_in(client, people.client)
    log_in(kw, people.keyworker)
    return client, kw


def test_same_field_edited_at_once_gives_the_merge_page_and_saving_from_it_works(new_context, people, fill_plan):
    fill_plan(people)
    pid = people.plan_id
    client, kw = _two(new_context, people)
    client.goto(f"/plans/{pid}/about-me")
    kw.goto(f"/plans/{pid}/about-me")

    client.fill("#what_helps", "Walks with my dog. Texts, not calls.")
    client.get_by_role("button", name="Save About me").click()
    assert "About me is saved." in client.inner_text("main")

    # The keyworker typed into the same box, from the same version, and one more box.
    kw.fill("#what_helps", "Short check-ins every week, even by text.")
    kw.fill("#important_people", "Their sister Jo.")
    kw.get_by_role("button", name="Save About me").click()

    main = kw.inner_text("main")
    assert "Someone else saved the plan while you were writing" in main
    assert "Nothing you typed is lost" in main
    assert "changed ‘What helps when things are hard’" in main  # what the client saved meanwhile
    # What the keyworker typed is still in the form; the client's saved words are beside it.
    assert kw.input_value("#what_helps") == "Short check-ins every week, even by text."
    assert kw.input_value("#important_people") == "Their sister Jo."
    clash = kw.locator("#field-what_helps")
    assert "Changed by both of you" in clash.inner_text()
    assert "Walks with my dog. Texts, not calls." in clash.inner_text()
    assert "Your change, not saved yet" in kw.inner_text("#field-important_people")
    # Fields nobody clashed on show what is saved now (the client's words, untouched).
    assert kw.input_value("#strengths").startswith("Stubborn in a good way.")
    check(kw, "merge-about-me", screenshot=True)

    # Keep the keyworker's words for this field and save on top of the new version.
    kw.get_by_role("button", name="Save About me").click()
    main = kw.inner_text("main")
    assert "About me is saved." in main
    assert "Short check-ins every week, even by text." in main and "Their sister Jo." in main
    assert "Walks with my dog" not in main

    # Nothing was lost: the client's version is in the history, in their words.
    # The history says who changed what (never quoting anyone's words); the version itself keeps them.
    kw.goto(f"/plans/{pid}/history")
    current = kw.locator("#visits > li", has_text="(current)").first.inner_text()
    number = int(re.search(r"(\d+) \(current\)", current).group(1))
    history = kw.inner_text("main")
    assert "Changed ‘What helps when things are hard’" in history
    kw.goto(f"/plans/{pid}/versions/{number - 1}")
    assert "Walks with my dog. Texts, not calls." in kw.inner_text("main")
    kw.goto(f"/plans/{pid}/versions/{number}")
    assert "Short check-ins every week" in kw.inner_text("main")


def test_keeping_the_saved_words_on_the_merge_page(new_context, people, fill_plan):
    fill_plan(people)
    pid = people.plan_id
    client, kw = _two(new_context, people)
    client.goto(f"/plans/{pid}/about-me")
    kw.goto(f"/plans/{pid}/about-me")
    client.fill("#what_matters", "My daughter. Football. My allotment.")
    client.get_by_role("button", name="Save About me").click()
    kw.fill("#what_matters", "Their daughter.")
    kw.get_by_role("button", name="Save About me").click()
    assert "Changed by both of you" in kw.inner_text("#field-what_matters")
    kw.get_by_label("The saved words").check()
    kw.get_by_role("button", name="Save About me").click()
    assert "Nothing had changed, so no new version was made." in kw.inner_text("main")
    section = kw.locator("#about-me").locator("xpath=..").inner_text()
    assert "My daughter. Football. My allotment." in section
    assert f"In {people.client_name}’s words" in section


def test_different_fields_edited_at_once_keep_both_changes(new_context, people, fill_plan):
    fill_plan(people)
    pid = people.plan_id
    client, kw = _two(new_context, people)
    client.goto(f"/plans/{pid}/about-me")
    kw.goto(f"/plans/{pid}/about-me")
    client.fill("#strengths", "I keep going.")
    client.get_by_role("button", name="Save About me").click()
    kw.fill("#what_does_not_help", "Being talked about as if they are not in the room.")
    kw.get_by_role("button", name="Save About me").click()
    assert "Someone else saved the plan" in kw.inner_text("main")
    assert "Changed by both of you" not in kw.inner_text("main")
    assert kw.input_value("#strengths") == "I keep going."  # the client's new words, not the old ones
    kw.get_by_role("button", name="Save About me").click()
    section = kw.locator("#about-me").locator("xpath=..").inner_text()
    assert "I keep going." in section
    assert "Being talked about as if they are not in the room." in section


def test_goal_edited_at_once_merges_field_by_field(new_context, people, fill_plan):
    seeded = fill_plan(people)
    pid, gid = people.plan_id, seeded["goal_ids"][0]
    client, kw = _two(new_context, people)
    client.goto(f"/plans/{pid}/goals/{gid}/edit")
    kw.goto(f"/plans/{pid}/goals/{gid}/edit")

    client.fill("#target_date-month", "8")
    client.fill("#title", "Get my own flat with a lock on the door")
    client.get_by_role("button", name="Save goal").click()
    assert "The goal is saved." in client.inner_text("main")

    kw.fill("#title", "Own flat, with a lock")
    kw.get_by_label("Paused", exact=True).check()
    kw.get_by_role("button", name="Save goal").click()
    main = kw.inner_text("main")
    assert "Someone else saved the plan while you were writing" in main
    assert kw.input_value("#title") == "Own flat, with a lock"
    assert kw.input_value("#target_date-month") == "8"  # the client's change, not the old month
    assert kw.is_checked("#status-4")  # paused, as the keyworker chose
    assert "Get my own flat with a lock on the door" in main  # the saved name, shown beside
    check(kw, "merge-goal", screenshot=True)
    kw.get_by_label("What is saved now").check()  # keep the client's name for the goal
    kw.get_by_role("button", name="Save goal").click()
    card = kw.locator(f"#goal-{gid}").inner_text()
    assert "Get my own flat with a lock on the door" in card
    assert "Paused" in card and "1 August 2027" in card


def test_check_in_saved_after_someone_else_saved_is_kept(new_context, people, fill_plan):
    seeded = fill_plan(people)
    pid, gid = people.plan_id, seeded["goal_ids"][1]
    client, kw = _two(new_context, people)
    client.goto(f"/plans/{pid}/goals/{gid}/check-in")
    kw.goto(f"/plans/{pid}/about-me")
    kw.fill("#what_helps", "Texts before 10am.")
    kw.get_by_role("button", name="Save About me").click()

    client.get_by_label("8", exact=True).check()
    client.fill("#note", "Only topped up once this fortnight.")
    client.get_by_role("button", name="Save check-in").click()
    assert "Someone else saved the plan while you were writing" in client.inner_text("main")
    assert client.is_checked("#rating-9")  # "8" is the ninth choice (0 to 10)
    assert client.input_value("#note") == "Only topped up once this fortnight."
    check(client, "merge-check-in")
    client.get_by_role("button", name="Save check-in").click()
    assert "The check-in is saved." in client.inner_text("main")
    assert "8 out of 10" in client.inner_text("main")


def test_signing_a_version_that_just_changed_signs_nothing(new_context, people, fill_plan):
    fill_plan(people)
    pid = people.plan_id
    client, kw = _two(new_context, people)
    client.goto(f"/plans/{pid}/agreement")
    kw.goto(f"/plans/{pid}/about-me")
    kw.fill("#strengths", "Turns up, every time.")
    kw.get_by_role("button", name="Save About me").click()

    client.locator("#confirm").check()
    client.locator("form[action$='/agreement'] button").click()
    main = client.inner_text("main")
    assert "The plan changed while you were reading" in main and "Nothing was signed." in main
    assert "Nobody has signed this plan yet." in main
    check(client, "agreement-moved-on")
