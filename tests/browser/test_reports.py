"""An auditor answers "was choice offered for this plan?" and "for the service this quarter?"
with the keyboard, downloads the CSV, draws a sample and reads "was I heard?"; a client
answers the three questions after signing. axe on every page; the main ones at 375 px."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest

from tests.browser.conftest import PASSWORD, Person, check, log_in, no_horizontal_scroll, shoot
from tests.browser.test_keyboard_and_no_js import tab_to

pytestmark = pytest.mark.browser
PHONE = {"width": 375, "height": 740}


@pytest.fixture()
def assurance(browser_engine, people):
    """The person's plan with treatment options discussed and signed, an auditor, and the
    person's plan reference as the auditor sees it."""
    from sqlalchemy.orm import Session

    from careplans import commands, policy, queries
    from careplans.services import accounts, choices, goals
    from tests.browser.conftest import SECRET

    tag = uuid.uuid4().hex[:8]
    kw, client = people.keyworker.viewer(), people.client.viewer()
    with Session(browser_engine, expire_on_commit=False) as db:
        auditor = accounts.create_user(db, f"auditor-{tag}", PASSWORD, "auditor", f"Chris Audit {tag[:4]}")
        v = queries.read_plan(db, kw, people.plan_id, audited=False).version
        today = dt.date.today().isoformat()
        for option, outcome, reason in (("methadone", "chosen", None), ("harm_reduction", "chosen", None),
                                        ("hat", "not_available", "Not provided here"),
                                        ("detox", "declined", "Not now")):
            v = choices.add_choice(db, kw, people.plan_id, v, {
                "option": option, "information_given": True, "discussed_on": today, "information_format": "leaflet",
                "preference": "preferred" if option in ("methadone", "hat") else None, "outcome": outcome,
                "reason": reason})[0].version
        v = goals.patch_plan(db, kw, people.plan_id, v, None, {"naloxone": {"offered": True, "offered_on": today}},
                             "2027-03-01").version
        commands.sign_agreement(db, client, people.plan_id, v, None)
        db.commit()
    return {"auditor": Person(auditor.username, auditor.display_name, str(auditor.id), "auditor"),
            "plan_ref": policy.pseudonym(SECRET, "plan", people.plan_id),
            "keyworker_ref": policy.pseudonym(SECRET, "staff", people.keyworker.id)}


def test_auditor_answers_was_choice_offered_with_the_keyboard(new_context, people, assurance):
    page = new_context(viewport=PHONE, accept_downloads=True).new_page()
    log_in(page, assurance["auditor"], "/audit")  # the auditor's home
    check(page, "audit-home", screenshot=True)
    assert page.locator("#glance").is_visible()

    # For this plan: from the list, filtered by the keyworker's reference, to the checklist.
    tab_to(page, "Each plan’s checklist")
    page.keyboard.press("Enter")
    page.wait_for_url("**/audit/plans")
    page.select_option("#keyworker", assurance["keyworker_ref"])
    tab_to(page, "Show")
    page.keyboard.press("Enter")
    page.wait_for_url("**/audit/plans?*")
    check(page, "audit-plans", screenshot=True)
    assert "1 plan" in page.inner_text("#plan-count")
    tab_to(page, assurance["plan_ref"])
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/audit/checklist?plan={assurance['plan_ref']}")
    check(page, "audit-plan-checklist", screenshot=True)
    assert no_horizontal_scroll(page)[0] <= 375
    checklist = page.inner_text("#checklist")
    assert "Information given on harm reduction" in checklist
    assert page.inner_text("#item-info_harm_reduction").count("Met") == 1
    assert "Not met" in page.inner_text("#item-info_abstinence")
    assert "Met" in page.inner_text("#item-agreed_by_client")
    assert "not due until" in page.inner_text("#item-top_review_6_months")
    assert people.client_name not in page.inner_text("main")

    # For the service this quarter.
    page.goto("/audit")
    tab_to(page, "The service’s figures this quarter")
    page.keyboard.press("Enter")
    page.wait_for_url("**/audit/service?*")
    check(page, "audit-service", screenshot=True)
    assert no_horizontal_scroll(page)[0] <= 375
    assert page.locator("svg#chart-information, figure svg").count() >= 3
    assert "Heroin-assisted treatment" in page.inner_text("#unmet")
    assert "Not available here" in page.inner_text("#unmet")

    # The CSV, from a link, with the keyboard.
    tab_to(page, "Download each plan’s checklist as CSV")
    with page.expect_download() as info:
        page.keyboard.press("Enter")
    path = info.value.path()
    text = Path(path).read_text(encoding="utf-8")
    assert text.splitlines()[0].startswith("plan,keyworker,start_date")
    assert assurance["plan_ref"] in text and people.client_name not in text

    # A sample, drawn again from its seed.
    page.goto("/audit/sample")
    page.fill("#n", "3")
    page.fill("#seed", "4242")
    page.click("button:has-text('Draw the sample')")
    check(page, "audit-sample", screenshot=True)
    first = page.inner_text("#sample")
    assert "4242" in page.inner_text("#seed-used")
    page.click("a:has-text('Draw this sample again')")
    assert page.inner_text("#sample") == first

    page.goto("/audit/feedback")
    check(page, "audit-feedback", screenshot=True)
    page.goto("/audit/log")
    check(page, "audit-log")
    page.goto("/audit/verify")
    check(page, "audit-verify")
    assert "The log is whole" in page.inner_text("#verify-result")
    page.goto("/audit/service?from=2026-13-01")
    assert page.title().startswith("Error: ")
    check(page, "audit-service-error")


def test_client_is_asked_was_i_heard_and_can_skip_or_answer(new_context, people, assurance):
    page = new_context(viewport=PHONE).new_page()
    log_in(page, people.client, "/my-plan")
    assert "Three short questions" in page.inner_text("#was-i-heard")
    page.click("#was-i-heard a")
    page.wait_for_url("**/was-i-heard")
    check(page, "was-i-heard", screenshot=True)
    assert no_horizontal_scroll(page)[0] <= 375
    page.check("#listened-4")
    page.check("#plan_is_mine-5")
    page.fill("#comment", "My keyworker really listened this time.")
    page.click("button:has-text('Send my answers')")
    page.wait_for_url("**/my-plan?saved=feedback")
    assert "Your answers are saved" in page.inner_text("main")
    assert page.locator("#was-i-heard").count() == 0  # not asked twice for the same version
    page.goto(f"/plans/{people.plan_id}/feedback")
    check(page, "was-i-heard-answers", screenshot=True)
    body = page.inner_text("main")
    assert "4 out of 5" in body and "Not answered" in body and "really listened" in body

    kw = new_context().new_page()
    log_in(kw, people.keyworker, "/caseload")
    kw.goto(f"/plans/{people.plan_id}/feedback")
    check(kw, "was-i-heard-keyworker")
    assert "really listened" in kw.inner_text("main")


def test_treatment_dates_and_the_national_return_with_the_keyboard(new_context, people, assurance):
    """The keyworker records referral, triage, consent and an intervention on the treatment
    dates page; the auditor downloads the national return's CSV for the period with the
    keyboard, and it names the person only by reference."""
    today = dt.date.today()
    kw = new_context(viewport=PHONE).new_page()
    log_in(kw, people.keyworker, "/caseload")
    kw.goto(f"/plans/{people.plan_id}")
    tab_to(kw, "Treatment dates")
    kw.keyboard.press("Enter")
    kw.wait_for_url(f"**/clients/{people.client_id}/episode")
    check(kw, "episode", screenshot=True)
    assert no_horizontal_scroll(kw)[0] <= 375
    referred = today - dt.timedelta(days=6)
    for field, day in (("referral_date", referred), ("triage_date", referred)):
        kw.fill(f"#{field}-day", str(day.day))
        kw.fill(f"#{field}-month", str(day.month))
        kw.fill(f"#{field}-year", str(day.year))
    kw.check("#consent_to_report")  # the first radio: "Yes"
    kw.click("button:has-text('Save the dates')")
    kw.wait_for_url("**/episode?saved=episode")
    assert "The dates are saved." in kw.inner_text("main")
    kw.check("#intervention_type")  # the first kind: medicine
    kw.select_option("#setting", "community")
    kw.fill("#start_date-day", str(referred.day))
    kw.fill("#start_date-month", str(referred.month))
    kw.fill("#start_date-year", str(referred.year))
    kw.click("button:has-text('Add the intervention')")
    kw.wait_for_url("**/episode?saved=intervention*")
    check(kw, "episode-saved")
    assert "Medicine (prescribing)" in kw.inner_text("#intervention-list")
    assert no_horizontal_scroll(kw)[0] <= 375  # an open intervention's end-date form fits a phone

    page = new_context(accept_downloads=True).new_page()
    log_in(page, assurance["auditor"], "/audit")
    tab_to(page, "Dates for the national return")
    page.keyboard.press("Enter")
    page.wait_for_url("**/audit/ndtms")
    check(page, "audit-ndtms", screenshot=True)
    page.fill("#from", referred.isoformat())
    page.fill("#to", today.isoformat())
    tab_to(page, "Change the period")
    page.keyboard.press("Enter")
    page.wait_for_url("**/audit/ndtms?*")
    tab_to(page, "ndtms-download")
    with page.expect_download() as info:
        page.keyboard.press("Enter")
    text = Path(info.value.path()).read_text(encoding="utf-8")
    assert text.splitlines()[0].startswith("record_type,client,plan,referral_date")
    mine = [line for line in text.splitlines() if assurance["plan_ref"] in line]
    assert any(line.startswith("episode,") and referred.isoformat() in line and ",yes," in line for line in mine)
    assert any(line.startswith("intervention,") and "pharmacological,community" in line for line in mine)
    assert people.client_name not in text
    page.goto("/audit/ndtms?from=2026-05-01&to=2026-04-01")
    assert page.title().startswith("Error: ")
    check(page, "audit-ndtms-error")
