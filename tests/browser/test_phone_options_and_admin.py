"""On a 375 px phone: a client finds the summary of their treatment options above the fold, opens
one and says what they prefer; an administrator adds a client, assigns a keyworker, deactivates a
staff account, and that account's open session is refused on its next request. axe on every page."""

from __future__ import annotations

import uuid

import pytest

from tests.browser.conftest import PASSWORD, Person, check, log_in, no_horizontal_scroll

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 667}


@pytest.fixture()
def alcohol_plan(browser_engine, people):
    """The plan in `people` is about alcohol (the client's choice)."""
    from sqlalchemy.orm import Session

    from careplans import queries
    from careplans.services import choices

    with Session(browser_engine, expire_on_commit=False) as db:
        client = people.client.viewer()
        version = queries.read_plan(db, client, people.plan_id, audited=False).version
        choices.set_substances(db, client, people.plan_id, version, ["alcohol"])
        db.commit()
    return people


@pytest.fixture()
def administrator(browser_engine) -> Person:
    from sqlalchemy.orm import Session

    from careplans.services import accounts

    tag = uuid.uuid4().hex[:8]
    with Session(browser_engine, expire_on_commit=False) as db:
        user = accounts.create_user(db, f"admin-{tag}", PASSWORD, "admin", f"Robin Admin {tag[:4]}")
        db.commit()
        return Person(user.username, user.display_name, str(user.id), "admin")


def test_a_client_sees_their_options_summary_above_the_fold_and_says_what_they_prefer(new_context, alcohol_plan):
    people = alcohol_plan
    page = new_context(viewport=PHONE).new_page()
    log_in(page, people.client)
    page.goto(f"/plans/{people.plan_id}/choices")
    check(page, "phone-treatment-options", screenshot=True)
    page.screenshot(path=str(_shots() / "phone-treatment-options-fold.png"))

    summary = page.locator("table.cp-options-summary").first
    box = summary.bounding_box()
    assert box is not None and box["y"] < PHONE["height"] - 120, f"summary starts at {box['y']} px"
    # The first rows of the menu are on the first screen, the plan's substance first.
    first_row = summary.locator("tbody tr").first
    assert "Assisted withdrawal from alcohol" in first_row.inner_text()
    row_box = first_row.bounding_box()
    assert row_box["y"] + row_box["height"] <= PHONE["height"]
    assert "Methadone" not in summary.inner_text()  # other substances' options are folded away
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 3200, f"the options page is {height} px tall on a phone"
    width, client_width = no_horizontal_scroll(page)
    assert width <= client_width

    # Open one option from the summary and say what I would like.
    summary.get_by_role("link", name="Acamprosate").click()
    option = page.locator("#option-acamprosate")
    if option.get_attribute("open") is None:
        option.locator("summary").click()
    assert "three times a day" in option.inner_text()
    option.get_by_label("Yes", exact=True).check()
    option.locator("#acamprosate-client_view").fill("I want help to stay stopped after the detox.")
    option.get_by_label("Would like this", exact=True).check()
    check(page, "phone-treatment-option-open", screenshot=True)
    option.get_by_role("button", name="Save what we talked about").click()
    assert "What you talked about is saved in the plan." in page.inner_text("main")
    row = page.locator("table.cp-options-summary tbody tr", has_text="Acamprosate")
    assert "Would like this" in row.inner_text()
    check(page, "phone-treatment-options-saved")


def test_an_administrator_adds_a_client_assigns_a_keyworker_and_deactivates_an_account(
        new_context, people, administrator):
    admin = new_context(viewport=PHONE).new_page()
    log_in(admin, administrator, expect_path="/admin")
    check(admin, "phone-admin-home", screenshot=True)

    # Add a client with their keyworker.
    admin.get_by_role("link", name="Add a client").click()
    check(admin, "phone-admin-add-client", screenshot=True)
    name = f"Ash {uuid.uuid4().hex[:4]}"
    admin.fill("#preferred_name", name)
    admin.fill("#pronouns", "they/them")
    admin.fill("#nhs_number", "485 777 3456")  # fails the modulus 11 check
    admin.get_by_role("button", name="Add the client").click()
    assert "There is a problem" in admin.inner_text("main")
    check(admin, "phone-admin-add-client-error")
    admin.fill("#nhs_number", "485 777 3457")
    admin.select_option("#keyworker_id", label=people.keyworker.name)
    admin.get_by_role("button", name="Add the client").click()
    assert f"{name} added" in admin.inner_text("main")
    check(admin, "phone-admin-client-added")
    admin.get_by_role("link", name=f"Change who works with {name}").click()
    check(admin, "phone-admin-client-team", screenshot=True)
    admin.get_by_role("button", name="Save who works with them").click()
    row = admin.locator("tr", has_text=name)
    assert people.keyworker.name in row.inner_text()

    # The keyworker has an open session; they see the new person on their caseload.
    keyworker = new_context(viewport=PHONE).new_page()
    log_in(keyworker, people.keyworker, expect_path="/caseload")
    assert name in keyworker.inner_text("main")

    # The administrator deactivates the keyworker's account.
    admin.goto("/admin")
    admin.locator(f"#staff-{people.keyworker.username}").get_by_role("link", name="Deactivate").click()
    check(admin, "phone-admin-deactivate", screenshot=True)
    admin.get_by_role("button", name="Deactivate the account").click()
    assert "Anyone using it has been logged out" in admin.inner_text("main")
    assert "Deactivated" in admin.locator(f"#staff-{people.keyworker.username}").inner_text()
    check(admin, "phone-admin-home-after")

    # Their open session is refused on its very next request.
    keyworker.reload()
    assert "/login" in keyworker.url
    check(keyworker, "phone-login-after-deactivation")


def _shots():
    from tests.browser.conftest import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
