"""A client on a small phone, keyboard only, answers part of "What helps me feel safe",
stops at a content note, comes back, finishes, and changes who sees one answer; axe on
every page. Screenshots at 375 px of each assessment page and of the outcome charts."""

from __future__ import annotations

import pytest

from tests.browser.conftest import check, log_in, no_horizontal_scroll
from tests.browser.test_keyboard_and_no_js import FOCUSED, tab_to

pytestmark = pytest.mark.browser


def press(page, wanted: str, key: str = "Enter") -> None:
    tab_to(page, wanted)
    page.keyboard.press(key)
    page.wait_for_load_state()


def test_client_on_a_small_phone_with_the_keyboard_alone(new_context, people):
    page = new_context(viewport={"width": 320, "height": 640}).new_page()
    log_in(page, people.client, "/my-plan")
    page.goto(f"/plans/{people.plan_id}")
    press(page, "Your questions and outcomes")
    page.wait_for_url("**/assessments")
    check(page, "assessments hub (320)")
    press(page, "Start What helps me feel safe")
    page.wait_for_url("**/part/1")
    check(page, "assessment part 1 (320)")
    assert "part 1 of 6" in page.inner_text("main")
    # Choose "A woman" with the arrow keys.
    tab_to(page, "answer-worker_preference")
    page.keyboard.press("ArrowDown")  # from "I do not mind" to "A woman"
    assert page.is_checked("#answer-worker_preference-2")
    press(page, "Save and continue")
    page.wait_for_url("**/part/2")
    assert "1 of 12 questions answered" in page.inner_text("main")
    tab_to(page, "answer-safer_places")
    page.keyboard.type("KEYBOARD near the door")
    press(page, "Save and continue")
    page.wait_for_url("**/part/3")
    press(page, "Save and continue")
    page.wait_for_url("**/part/4")
    # A content note first: stop here for now.
    main = page.inner_text("main")
    assert "You can skip them or stop at any time" in main and "Carry on" in main
    check(page, "assessment content note (320)")
    assert no_horizontal_scroll(page)[0] <= 320
    press(page, "Stop for now")
    page.wait_for_url("**/assessments?saved=stopped")
    assert "Your answers so far are saved" in page.inner_text("main")
    # Come back later: carry on where I left off (the note again), then carry on.
    press(page, "What helps me feel safe")
    page.wait_for_url("**/part/4")
    press(page, "Carry on")
    page.wait_for_url("**/part/4?ready=1")
    check(page, "assessment part 4 (320)")
    tab_to(page, "answer-hard_touch")
    page.keyboard.press("Space")  # Yes
    press(page, "Save and continue")
    page.wait_for_url("**/part/5")
    press(page, "Skip this part")  # the note about the past: skip it
    page.wait_for_url("**/part/6")
    press(page, "Save and continue")
    page.wait_for_url("**/finish")
    check(page, "assessment finish (320)")
    press(page, "Finish")
    page.wait_for_url("**?saved=finished")
    main = page.inner_text("main")
    assert "KEYBOARD near the door" in main and "Not now" in main
    check(page, "assessment answers (320)")
    # Change who can see one answer: from only me to me and my keyworker.
    press(page, "Where do appointments feel safer")
    page.wait_for_url("**/answers/safer_places/visibility")
    check(page, "answer visibility (320)")
    tab_to(page, "visibility")
    page.keyboard.press("ArrowDown")
    assert page.is_checked("#visibility-2")
    press(page, "Save")
    page.wait_for_url("**?saved=visibility*")
    assert "Who can see this: Me and my keyworker" in page.inner_text("#answer-safer_places")

    # The keyworker now sees that answer, and not those still kept to the person.
    kw = new_context(viewport={"width": 375, "height": 800}).new_page()
    log_in(kw, people.keyworker)
    kw.goto(f"/plans/{people.plan_id}/assessments")
    check(kw, "assessments hub, keyworker (375)", screenshot=True)
    kw.click("a:has-text('What helps me feel safe,')")
    kw.wait_for_load_state()
    body = kw.inner_text("main")
    assert "KEYBOARD near the door" in body and "A woman" not in body
    check(kw, "assessment answers, keyworker (375)", screenshot=True)


def test_assessment_pages_at_375_with_outcome_charts(new_context, people, browser_engine):
    from sqlalchemy.orm import Session

    from careplans import queries
    from careplans.demo import _demo_assessments

    with Session(browser_engine, expire_on_commit=False) as db:
        v = queries.read_plan(db, people.keyworker.viewer(), people.plan_id, audited=False).version
        import datetime as dt

        _demo_assessments(db, people.client.viewer(), people.keyworker.viewer(), people.plan_id, v, dt.date.today())
        db.commit()
    page = new_context(viewport={"width": 375, "height": 800}).new_page()
    log_in(page, people.client)
    page.goto(f"/plans/{people.plan_id}")
    check(page, "plan with outcomes (375)", screenshot=True)
    assert "Days used in the last 4 weeks" in page.inner_text("main")
    assert no_horizontal_scroll(page)[0] <= 375
    page.goto(f"/plans/{people.plan_id}/assessments")
    check(page, "assessments hub with charts (375)", screenshot=True)
    assert "Left for later" in page.inner_text("main")
    page.click("text=Start PC-PTSD-5 screen")
    page.wait_for_url("**/part/1")
    check(page, "pc-ptsd-5 content note (375)", screenshot=True)
    assert "A screen, not a diagnosis" in page.inner_text("main")
    page.click("text=Carry on")
    check(page, "pc-ptsd-5 gate question (375)", screenshot=True)
    page.goto(f"/plans/{people.plan_id}/assessments")
    page.click("text=Start What helps me feel safe")
    page.wait_for_url("**/part/1")
    check(page, "feel safe part 1 carried forward (375)", screenshot=True)
    assert "Keep it, or change it" in page.inner_text("main")
    page.click("summary:has-text('Who can see this answer')")
    check(page, "feel safe who can see (375)", screenshot=True)
    # An error state: a number out of range, refused naming the question, what was typed kept.
    page.goto(f"/plans/{people.plan_id}/assessments")
    page.locator("select[name=stage]").select_option("exit")
    page.click("text=Start Treatment Outcomes Profile")
    page.wait_for_url("**/part/1")
    page.click("text=Carry on")
    page.fill("#answer-days_alcohol", "30")
    page.click("button:has-text('Save and continue')")
    assert "Enter a whole number from 0 to 28" in page.inner_text(".nhsuk-error-summary")
    assert page.title().startswith("Error: ")
    check(page, "top part 1 error (375)", screenshot=True)
