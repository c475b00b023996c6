"""The client's main tasks with the keyboard alone, and every form working with JavaScript off."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import PASSWORD, check, log_in

pytestmark = pytest.mark.browser

FOCUSED = r"""() => {
  const e = document.activeElement;
  if (!e || e === document.body || e.tagName === 'MAIN') return '';
  const label = e.labels && e.labels.length ? e.labels[0].innerText : '';
  const text = [e.id || '', e.innerText || '', label, e.getAttribute('aria-label') || ''].join(' | ');
  return text.replace(/\s+/g, ' ').trim();
}"""


def tab_to(page, wanted: str, limit: int = 120) -> str:
    """Press Tab until the focused element's id, text or label contains `wanted`."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if wanted in focused:
            return focused
        seen.append(focused)
    raise AssertionError(f"could not reach {wanted!r} with the Tab key; focus went to: {seen[:40]}")


def test_client_main_tasks_with_the_keyboard_alone(new_context, people, fill_plan):
    fill_plan(people)
    page = new_context().new_page()
    page.goto("/login")
    page.keyboard.press("Tab")
    assert "Skip to main content" in page.evaluate(FOCUSED)  # the first stop is the skip link
    tab_to(page, "username")
    page.keyboard.type(people.client.username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/my-plan")

    # A check-in on the first goal: choose 7 out of 10 and add a note.
    tab_to(page, "Add a check-in for Get my own place")
    page.keyboard.press("Enter")
    page.wait_for_url("**/check-in")
    tab_to(page, "rating")
    page.keyboard.press("Space")  # 0
    for _ in range(7):
        page.keyboard.press("ArrowRight")
    tab_to(page, "note")
    page.keyboard.type("Viewing booked for Thursday.")
    tab_to(page, "Save check-in")
    page.keyboard.press("Enter")
    page.wait_for_url("**/goals/*?saved=check-in")
    assert "The check-in is saved." in page.inner_text("main")
    assert "7 out of 10" in page.inner_text("main")

    # About me, in their words.
    tab_to(page, "My plan")
    page.keyboard.press("Enter")
    page.wait_for_url("**/my-plan")
    tab_to(page, "Change About me")
    page.keyboard.press("Enter")
    page.wait_for_url("**/about-me")
    tab_to(page, "what_does_not_help")
    page.keyboard.type("Being talked about as if I am not in the room.")
    tab_to(page, "Save About me")
    page.keyboard.press("Enter")
    page.wait_for_url("**/plans/*?saved=about-me*")
    assert "Being talked about as if I am not in the room." in page.inner_text("main")

    # Sign the version they have just read.
    tab_to(page, "Read and sign this version")
    page.keyboard.press("Enter")
    page.wait_for_url("**/agreement")
    version = re.search(r"Sign version (\d+)", page.inner_text("main")).group(1)
    tab_to(page, f"I have read version {version}")
    page.keyboard.press("Space")
    tab_to(page, f"Sign version {version}")
    page.keyboard.press("Enter")
    page.wait_for_url("**/agreement?saved=signed")
    assert f"You have signed version {version}." in page.inner_text("main")
    check(page, "keyboard-signed")


def test_everything_saves_with_javascript_off(new_context, people):
    pid = people.plan_id
    page = new_context(java_script_enabled=False).new_page()
    log_in(page, people.client, "/my-plan")
    assert "js-enabled" not in (page.get_attribute("body", "class") or "")

    page.goto(f"/plans/{pid}/about-me")
    page.fill("#what_matters", "My nan and my dog.")
    page.click("button:has-text('Save About me')")
    assert "About me is saved." in page.inner_text("main")

    # A form with mistakes: errors the NHS.UK way, and nothing saved.
    page.goto(f"/plans/{pid}/goals/new")
    page.fill("#why", "So I can sleep at night.")
    page.click("button:has-text('Save goal')")
    assert page.title().startswith("Error: ")
    assert "Give the goal a name" in page.inner_text(".nhsuk-error-summary")
    assert page.input_value("#why") == "So I can sleep at night."  # what was typed is kept
    page.fill("#title", "Sleep through the night")
    page.check("#area-2")  # my health, body and mind
    page.fill("#step-0-text", "Talk to the GP about sleep")
    page.fill("#step-0-who", "Sam can come with me")
    page.click("button:has-text('Save goal')")
    assert "The goal is saved." in page.inner_text("main")
    assert "Who helps: Sam can come with me." in page.inner_text("main")

    goal_link = page.get_by_role("link", name="Add a check-in for Sleep through the night")
    goal_link.click()
    page.check("#rating-5")  # 4 out of 10
    page.click("button:has-text('Save check-in')")
    assert "4 out of 10" in page.inner_text("main")

    page.goto(f"/plans/{pid}/agreement")
    page.check("#confirm")
    page.click("form[action$='/agreement'] button")
    assert "Your signature is saved" in page.inner_text("main")

    page.click("button:has-text('Log out')")
    assert "You have logged out" in page.inner_text("main")
