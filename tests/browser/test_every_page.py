"""axe-core on every page (and its error states), and the plan pages on a 320px-wide phone."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from tests.browser.conftest import PASSWORD, Person, check, log_in, no_horizontal_scroll, shoot

pytestmark = pytest.mark.browser

LONG_WORD = "https://example.org/" + "a-very-long-address-without-any-spaces-" * 4


@pytest.fixture()
def staff(browser_engine, people):
    """A clinician for the person, an auditor, an administrator, and a second client with no plan yet."""
    from sqlalchemy.orm import Session

    from careplans.services import accounts, clients

    tag = uuid.uuid4().hex[:8]
    out = {}
    with Session(browser_engine, expire_on_commit=False) as db:
        for role, name in (("clinician", "Dr Ray"), ("auditor", "Chris Audit"), ("admin", "Robin Admin"),
                           ("client", "Kerry")):
            user = accounts.create_user(db, f"{role}-{tag}", PASSWORD, role, f"{name} {tag[:4]}")
            out[role] = Person(user.username, user.display_name, str(user.id), role)
        clients.assign_staff(db, uuid.UUID(people.client_id), uuid.UUID(out["clinician"].id), "prescriber")
        clients.create_client(db, people.keyworker.viewer(), preferred_name=f"Kerry {tag[:4]}",
                              date_of_birth=dt.date(1979, 9, 3), user_id=uuid.UUID(out["client"].id))
        db.commit()
    return out


def test_every_page_passes_axe(new_context, people, fill_plan, staff):
    seeded = fill_plan(people)
    pid, gid = people.plan_id, seeded["goal_ids"][0]

    anon = new_context().new_page()
    anon.goto("/login")
    check(anon, "login", screenshot=True)
    anon.fill("#username", people.client.username)
    anon.fill("#password", "not the password")
    anon.click("button:has-text('Log in')")
    assert "The username or password is not right" in anon.inner_text(".nhsuk-error-summary")
    assert anon.title().startswith("Error: ")
    check(anon, "login-error")
    anon.goto(f"/plans/{pid}")  # not logged in: to the login page, coming back here after
    assert "/login?next=" in anon.url
    anon.fill("#username", people.client.username)
    anon.fill("#password", PASSWORD)
    anon.click("button:has-text('Log in')")
    assert anon.url.endswith(f"/plans/{pid}")
    anon.click("button:has-text('Log out')")
    assert "You have logged out" in anon.inner_text("main")
    check(anon, "logged-out")

    kw = new_context().new_page()
    log_in(kw, people.keyworker, "/caseload")
    check(kw, "caseload-with-plans")
    assert "Start a plan" in kw.inner_text("#caseload")  # the second client has none yet
    pages = {
        "plan": f"/plans/{pid}",
        "about-me": f"/plans/{pid}/about-me",
        "goal": f"/plans/{pid}/goals/{gid}",
        "goal-edit": f"/plans/{pid}/goals/{gid}/edit",
        "goal-add": f"/plans/{pid}/goals/new",
        "check-in-form": f"/plans/{pid}/goals/{gid}/check-in",
        "history": f"/plans/{pid}/history",
        "compare-versions": f"/plans/{pid}/compare?from=1&to={seeded['version']}",
        "version": f"/plans/{pid}/versions/2",
        "agreement": f"/plans/{pid}/agreement",
        "review-date": f"/plans/{pid}/review-date",
        "who-viewed": f"/plans/{pid}/who-viewed",
    }
    for name, path in pages.items():
        response = kw.goto(path)
        assert response.status == 200, (path, response.status)
        check(kw, f"keyworker-{name}", screenshot=name in ("history", "version", "who-viewed", "goal-edit"))

    # Error states: the NHS.UK error summary links to each field, and nothing is saved.
    kw.goto(f"/plans/{pid}/goals/new")
    kw.fill("#target_date-day", "31")
    kw.fill("#target_date-month", "2")
    kw.fill("#target_date-year", "2027")
    kw.get_by_role("button", name="Save goal").click()
    summary = kw.locator(".nhsuk-error-summary")
    links = {a.get_attribute("href"): a.inner_text() for a in summary.locator("a").all()}
    assert links == {"#title": "Give the goal a name, in your own words.",
                     "#area": "Choose the area this goal is about.",
                     "#target_date-day": "The target date must be a real date, for example 15 3 2027."}
    assert kw.locator("#title-error").count() == 1
    check(kw, "goal-errors", screenshot=True)
    kw.get_by_role("link", name="Give the goal a name, in your own words.").click()
    assert kw.evaluate("document.activeElement.id") == "title"
    kw.goto(f"/plans/{pid}/history")
    assert f"{seeded['version']} (current)" in kw.inner_text("#visits")  # nothing was saved

    kw.goto(f"/plans/{pid}/review-date")
    kw.fill("#review_date-day", "12")
    kw.fill("#review_date-month", "")
    kw.fill("#review_date-year", "")
    kw.get_by_role("button", name="Save the date").click()
    assert "The next review date must include a month and year." in kw.inner_text(".nhsuk-error-summary")
    check(kw, "review-date-error")

    kw.goto(f"/plans/{pid}/compare?from=0&to=99")
    check(kw, "compare-error")
    response = kw.goto(f"/plans/{uuid.uuid4()}")
    assert response.status == 404
    check(kw, "not-found", screenshot=True)

    clinician = new_context().new_page()
    log_in(clinician, staff["clinician"], "/home")
    check(clinician, "clinician-home")
    clinician.get_by_role("link", name=people.client_name).click()
    assert "Change About me" not in clinician.inner_text("main")  # clinicians read; they do not co-write
    check(clinician, "clinician-plan")
    response = clinician.goto(f"/plans/{pid}/about-me")
    assert response.status == 403
    check(clinician, "forbidden")

    for role, home in (("auditor", "/audit"), ("admin", "/admin")):  # the auditor's home is their reports
        page = new_context().new_page()
        log_in(page, staff[role], home)
        check(page, f"{role}-home")
        if role == "admin":  # the administrator's pages (their forms are driven in test_phone_options_and_admin)
            for path, name in (("/admin/staff/new", "admin-add-staff"), ("/clients/new", "admin-add-client")):
                page.goto(path)
                check(page, name)
        response = page.goto(f"/plans/{pid}")  # their role reads no plans at all (403 for any id)
        assert response.status == 403 and people.client_name not in page.inner_text("main")

    newcomer = new_context().new_page()
    log_in(newcomer, staff["client"], "/my-plan")
    assert "Your plan has not been started yet" in newcomer.inner_text("main")
    check(newcomer, "my-plan-not-started")

    client = new_context().new_page()
    log_in(client, people.client, "/my-plan")
    check(client, "my-plan", screenshot=True)


def test_phone_320px_wide_has_no_sideways_scrolling(new_context, people, fill_plan):
    seeded = fill_plan(people)
    pid, gid = people.plan_id, seeded["goal_ids"][0]
    client = new_context(viewport={"width": 320, "height": 640}, is_mobile=True, has_touch=True).new_page()
    log_in(client, people.client, "/my-plan")
    client.goto(f"/plans/{pid}/about-me")
    client.fill("#important_people", f"My sister, who writes at {LONG_WORD}")
    client.get_by_role("button", name="Save About me").click()
    for name, path in {
        "my-plan": "/my-plan",
        "plan": f"/plans/{pid}",
        "about-me": f"/plans/{pid}/about-me",
        "goal": f"/plans/{pid}/goals/{gid}",
        "goal-edit": f"/plans/{pid}/goals/{gid}/edit",
        "check-in": f"/plans/{pid}/goals/{gid}/check-in",
        "history": f"/plans/{pid}/history",
        "compare": f"/plans/{pid}/compare?from=1&to={seeded['version'] + 1}",
        "agreement": f"/plans/{pid}/agreement",
        "who-viewed": f"/plans/{pid}/who-viewed",
    }.items():
        client.goto(path)
        scroll_width, client_width = no_horizontal_scroll(client)
        assert client_width == 320 and scroll_width <= client_width, (name, scroll_width, client_width)
        if name == "goal":
            assert client.locator("svg.cp-chart").bounding_box()["width"] <= 320
        if name in ("plan", "goal", "my-plan", "agreement"):
            shoot(client, f"phone-{name}")
