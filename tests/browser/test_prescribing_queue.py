"""A client records what they would like; a clinician works the prescribing queue end to end in
the browser: the queue, the review page with the exact version, a rule error, a warning
acknowledged with a reason, and the decision the client then reads on their plan."""

from __future__ import annotations

import uuid

import pytest

from tests.browser.conftest import PASSWORD, Person, check, log_in

pytestmark = pytest.mark.browser


@pytest.fixture()
def clinician(browser_engine, people) -> Person:
    """A prescribing clinician for the person in `people`."""
    from sqlalchemy.orm import Session

    from careplans.services import accounts, clients

    tag = uuid.uuid4().hex[:8]
    with Session(browser_engine, expire_on_commit=False) as db:
        user = accounts.create_user(db, f"dr-{tag}", PASSWORD, "clinician", f"Dr Ray {tag[:4]}")
        clients.assign_staff(db, uuid.UUID(people.client_id), user.id, "prescriber")
        db.commit()
        return Person(user.username, user.display_name, str(user.id), "clinician")


def test_clinician_works_the_queue_end_to_end(new_context, people, clinician):
    pid = people.plan_id

    # The client goes through the options and says, in their words, what they would like.
    client = new_context().new_page()
    log_in(client, people.client)
    client.goto(f"/plans/{pid}/choices")
    check(client, "treatment-options", screenshot=True)
    card = client.locator("#option-buvidal")
    assert "Not talked about yet" in client.locator("table.cp-options-summary tr", has_text="Buvidal").inner_text()
    card.locator("summary").click()
    assert "Not talked about yet" in card.inner_text()
    card.get_by_label("Yes", exact=True).check()
    card.get_by_label("A leaflet", exact=True).check()
    card.locator("#buvidal-client_view").fill("I can't get to the chemist every day with my job.")
    card.get_by_label("Would like this", exact=True).check()
    # "Declined" without a reason is refused, the NHS.UK way, and nothing typed is lost.
    card.get_by_label("Declined", exact=True).check()
    card.get_by_role("button", name="Save what we talked about").click()
    assert "There is a problem" in client.inner_text("main")
    check(client, "treatment-options-error")
    card = client.locator("#option-buvidal")
    assert card.locator("#buvidal-client_view").input_value().startswith("I can't get to the chemist")
    card.get_by_label("Chosen", exact=True).check()
    card.get_by_role("button", name="Save what we talked about").click()
    assert "What you talked about is saved in the plan." in client.inner_text("main")
    assert "recorded talking about Buprenorphine injection (Buvidal)" in client.locator("#option-buvidal").inner_text()

    # The clinician finds the plan in the queue.
    doctor = new_context().new_page()
    log_in(doctor, clinician)
    doctor.goto("/home")
    doctor.get_by_role("link", name="Plans waiting for a prescribing review").click()
    assert doctor.url.endswith("/prescribing/queue")
    check(doctor, "prescribing-queue", screenshot=True)
    row = doctor.locator("#queue tbody tr", has_text=people.client_name)
    assert "would like: Buprenorphine injection (Buvidal)" in row.inner_text()
    row.get_by_role("link", name="Review").click()

    # The review page shows the exact version and the person's own words.
    check(doctor, "prescribing-review", screenshot=True)
    assert doctor.inner_text("#plan-version") == "2"
    assert len(doctor.text_content("#plan-fingerprint")) == 64  # in full, on request
    assert "I can't get to the chemist every day with my job." in doctor.inner_text("#preference-buvidal")

    def fill_decision(dose: str) -> None:
        doctor.get_by_label("Approved", exact=True).check()
        doctor.select_option("#option", "buvidal")
        doctor.select_option("#product", "buvidal_weekly")
        doctor.fill("#dose_mg", dose)
        doctor.select_option("#frequency", "weekly")
        doctor.select_option("#supervision", "administered_by_healthcare_professional")
        doctor.fill("#rationale", "Wants to keep working; no take-home supply needed.")
        doctor.fill("#client_explanation", "You can have the weekly injection at the clinic, starting Monday.")

    # 20 mg is not a Buvidal strength: an error, linked from the error summary.
    fill_decision("20")
    doctor.get_by_role("button", name="Save decision").click()
    summary = doctor.locator(".nhsuk-error-summary")
    assert "Buvidal weekly" in summary.inner_text() and "8, 16, 24 or 32" in summary.inner_text()
    check(doctor, "prescribing-review-error")

    # 24 mg with alcohol use: a warning to acknowledge with a reason.
    doctor.fill("#dose_mg", "24")
    doctor.locator("summary", has_text="Clinical details the checks use").click()
    doctor.get_by_label("Alcohol", exact=True).check()
    doctor.get_by_role("button", name="Save decision").click()
    warning = doctor.locator("#warning-alcohol_opioid_co_use")
    assert "alcohol" in warning.inner_text().lower()
    check(doctor, "prescribing-review-warning", screenshot=True)
    warning.get_by_label("I have considered this warning").check()
    warning.get_by_label("Reason for going ahead").fill("Talked through alcohol and overdose risk; naloxone supplied.")
    doctor.get_by_role("button", name="Save decision").click()
    assert "The prescribing decision is saved against that plan version." in doctor.inner_text("main")
    assert people.client_name not in doctor.inner_text("main")  # no longer waiting

    # The client reads the decision and its explanation on their plan.
    client.goto(f"/plans/{pid}#prescribing")
    prescribing = client.locator("#prescribing").locator("xpath=..")
    assert "You can have the weekly injection at the clinic, starting Monday." in prescribing.inner_text()

    # A later conversation reopens the review.
    client.goto(f"/plans/{pid}/choices")
    card = client.locator("#option-harm_reduction")
    card.locator("summary").click()
    card.get_by_label("Yes", exact=True).check()
    card.get_by_label("Open to it", exact=True).check()
    card.get_by_role("button", name="Save what we talked about").click()
    doctor.goto("/prescribing/queue")
    row = doctor.locator("#queue tbody tr", has_text=people.client_name)
    assert "changed since the last decision" in row.inner_text()

    # Staying safe: naloxone supplied by a peer, recorded from the browser.
    client.goto(f"/plans/{pid}/staying-safe")
    check(client, "staying-safe", screenshot=True)
    client.check("#offered")  # first choice: Yes
    client.check("#supplied")
    client.check("#product")  # Nyxoid
    client.fill("#supplied_by", "A friend from the peer network")
    client.check("#peer_supply")
    client.select_option("#moment-0-kind", "prison_release")
    client.get_by_role("button", name="Save staying safe").click()
    assert "Staying safe is saved." in client.inner_text("main")
    client.goto(f"/plans/{pid}#staying-safe")
    safe = client.locator("#staying-safe").locator("xpath=..")
    # The client reads it in their own voice.
    assert "I have a naloxone kit (a nasal spray)" in safe.inner_text()
    assert "I can pass kits on to people I know." in safe.inner_text() and "Leaving prison" in safe.inner_text()
