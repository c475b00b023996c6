"""Issue 9 on a 375 px phone: every page changed for it passes axe, scrolls only up and down,
and is photographed (test-artifacts/screenshots/phone375-*.png) to be looked at."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from tests.browser.conftest import PASSWORD, Person, check, log_in, no_horizontal_scroll

pytestmark = pytest.mark.browser
PHONE = {"viewport": {"width": 375, "height": 740}, "is_mobile": True, "has_touch": True}


@pytest.fixture()
def lived_in(browser_engine, people, fill_plan):
    """A plan with history: goals and check-ins, both signed, then a change by the keyworker, a
    treatment preference, a prescribing decision made past a warning, and many visits."""
    from sqlalchemy.orm import Session

    from careplans import audit, commands, queries
    from careplans.audit import Actor
    from careplans.services import accounts, choices, clients, goals, prescribing

    seeded = fill_plan(people)
    client, kw = people.client.viewer(), people.keyworker.viewer()
    tag = uuid.uuid4().hex[:6]
    with Session(browser_engine, expire_on_commit=False) as db:
        doctor = accounts.create_user(db, f"dr-{tag}", PASSWORD, "clinician", f"Dr Ray {tag[:4]}")
        clients.assign_staff(db, uuid.UUID(people.client_id), doctor.id, "prescriber")
        v = seeded["version"]
        commands.sign_agreement(db, client, people.plan_id, v, None)
        commands.sign_agreement(db, kw, people.plan_id, v, None)
        v = goals.patch_plan(db, kw, people.plan_id, v, None, {
            "naloxone": {"offered": True, "offered_on": dt.date.today().isoformat(), "supplied": True,
                         "product": "nyxoid"}, "needle_syringe_access": "has_access",
            "bbv": {"hepatitis_c_test": "done", "hiv_test": "not_now"}}).version
        r, _ = choices.add_choice(db, kw, people.plan_id, v, {
            "option": "methadone", "information_given": True, "discussed_on": dt.date.today().isoformat(),
            "client_view": "It kept me steady before.", "preference": "preferred", "outcome": "chosen"})
        v = r.version
        from careplans.policy import Principal

        dr = Principal(id=doctor.id, role="clinician", name=doctor.display_name)
        body = {"plan_version": v, "decision": "approved", "option": "methadone",
                "product": "methadone_oral_solution", "dose_mg": 40, "frequency": "daily",
                "supervision": "supervised_consumption", "is_new_start": True,
                "rationale": "Restarting at the dose that kept them steady.",
                "client_explanation": "Methadone, 40 mg a day, taken at the pharmacy for now.",
                "acknowledged_warnings": [{"code": "methadone_new_start_above_usual",
                                           "reason": "Took 40 mg steadily last year."}]}
        prescribing.decide(db, dr, people.plan_id, body)
        r, _ = choices.add_choice(db, client, people.plan_id, v, {
            "option": "buvidal", "information_given": True, "discussed_on": dt.date.today().isoformat(),
            "client_view": "I can't get to the chemist every day.", "preference": "preferred"})
        for _ in range(30):
            audit.record(db, Actor(id=people.client.id, role="client"), "plan.read", plan_id=people.plan_id,
                         client_id=people.client_id, detail={})
        db.commit()
        current = queries.read_plan(db, kw, people.plan_id, audited=False).version
    return {"goal_id": seeded["goal_ids"][0], "version": current,
            "doctor": Person(doctor.username, doctor.display_name, str(doctor.id), "clinician")}


def _visit(page, name: str, path: str | None = None) -> None:
    if path:
        response = page.goto(path)
        assert response.status == 200, (path, response.status)
    scroll_width, client_width = no_horizontal_scroll(page)
    assert client_width == 375 and scroll_width <= client_width, (name, scroll_width, client_width)
    check(page, f"phone375-{name}", screenshot=True)


def test_changed_pages_on_a_375px_phone(new_context, people, lived_in):
    pid, gid, v = people.plan_id, lived_in["goal_id"], lived_in["version"]

    client = new_context(**PHONE).new_page()
    log_in(client, people.client, "/my-plan")
    main = client.inner_text("main")
    assert "Since you last looked" in main
    assert "Changed since you both agreed on" in client.inner_text("#agreement-state")
    _visit(client, "client-my-plan")
    _visit(client, "client-plan", f"/plans/{pid}")
    naloxone = client.inner_text("#naloxone-words")
    assert "I have a naloxone kit (a nasal spray)" in naloxone
    assert "40 mg" in client.inner_text("main") and "40.0 mg" not in client.inner_text("main")
    _visit(client, "client-agreement", f"/plans/{pid}/agreement")
    label = client.inner_text("#current-fingerprint")
    assert label.startswith(f"v{v} · ") and len(label.split(" · ")[1]) == 9  # "3f9a 21c0"
    client.get_by_text("Full fingerprint").first.click()
    _visit(client, "client-agreement-full-fingerprint")
    _visit(client, "client-history", f"/plans/{pid}/history")
    assert client.locator("#visits > li").count() < v  # visits, not one row per version
    _visit(client, "client-compare", f"/plans/{pid}/compare?from=1&to={v}")
    _visit(client, "client-version", f"/plans/{pid}/versions/2")
    _visit(client, "client-who-viewed", f"/plans/{pid}/who-viewed")
    others = client.inner_text("#others")
    assert people.keyworker.name in others and lived_in["doctor"].name in others
    assert "You, " in client.inner_text("#own")
    _visit(client, "client-staying-safe", f"/plans/{pid}/staying-safe")
    assert client.get_by_label("Yes, I have a kit").is_checked()
    _visit(client, "client-goal-new", f"/plans/{pid}/goals/new")
    assert client.get_by_label("Home, friends, family and things I do").count() == 1

    kw = new_context(**PHONE).new_page()
    log_in(kw, people.keyworker, "/caseload")
    _visit(kw, "keyworker-caseload")
    assert people.client_name in kw.inner_text("#news")
    _visit(kw, "keyworker-plan", f"/plans/{pid}")
    _visit(kw, "keyworker-staying-safe", f"/plans/{pid}/staying-safe")
    assert kw.get_by_label("Yes, a kit was supplied").is_checked()

    doctor = new_context(**PHONE).new_page()
    log_in(doctor, lived_in["doctor"], "/home")
    _visit(doctor, "clinician-review", f"/plans/{pid}/prescribing/review")
    assert "Full fingerprint" in doctor.inner_text("main")
