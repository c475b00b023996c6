"""Issue 9: pages people could not read. "Who has looked" with many of your own visits, /api/me."""

from __future__ import annotations

import datetime as dt

import re

from careplans import audit
from careplans.audit import Actor


def test_who_has_looked_shows_other_people_first_and_folds_your_own_views(as_, world, db):
    pid, cid = world.plan_ids["a"], world.client_ids["a"]
    me = world.users["client_a"]
    for _ in range(200):
        audit.record(db, Actor(id=str(me.id), role="client"), "plan.read", plan_id=pid, client_id=cid, detail={})
    for key, action in (("keyworker_a", "plan.read"), ("clinician_a", "plan.read"), ("keyworker_a", "plan.update")):
        user = world.users[key]
        audit.record(db, Actor(id=str(user.id), role=user.role), action, plan_id=pid, client_id=cid, detail={})
    db.commit()

    page = as_("client_a").get(f"/plans/{pid}/who-viewed")
    assert page.status_code == 200
    html = page.text
    others = html.index('id="others"')
    own = html.index('id="own"')
    assert others < own
    section = html[others:own]
    # The three other visits, newest first (the keyworker's change, then the clinician's read,
    # the keyworker's read grouped with their change on the same day).
    assert "Keyworker A (keyworker)" in section and "Clinician A (clinician)" in section
    assert "Changed the plan; viewed the plan" in section or "Viewed the plan; changed the plan" in section
    # Your own 200 views (plus the plan start by nobody else) are one line, not 200 rows.
    own_html = html[own:]
    assert re.search(r"You, (\d+) times this week", own_html).group(1) == "200"
    assert own_html.count("<li>") >= 200  # every one is kept, behind "Each time"


def test_api_me_gives_a_client_their_own_client_and_plan_ids_and_staff_nothing_new(as_, world):
    me = as_("client_a").get("/api/me").json()
    assert me["client_id"] == world.client_ids["a"] and me["plan_id"] == world.plan_ids["a"]
    staff = as_("keyworker_a").get("/api/me").json()
    assert "client_id" not in staff and "plan_id" not in staff
    plan = as_("client_a").get(f"/api/plans/{me['plan_id']}")
    assert plan.status_code == 200


def test_since_you_last_looked_on_my_plan_and_the_caseload(as_, world):
    pid = world.plan_ids["a"]
    client = as_("client_a")
    kw = as_("keyworker_a")
    assert client.get("/my-plan").status_code == 200  # a first look
    kw.get(f"/plans/{pid}")
    version = kw.plan(pid)["version"]
    r = kw.patch(f"/api/plans/{pid}", {"about_me": {"what_matters": "Football on Sundays."},
                                       "next_review_date": (dt.date.today() + dt.timedelta(days=200)).isoformat()}, version=version)
    assert r.status_code == 200, r.text
    r = kw.post(f"/api/plans/{pid}/agreements", {"version": version + 1})
    assert r.status_code in (200, 201), r.text

    page = client.get("/my-plan").text
    news = page[page.index('id="news"'):page.index("</div>", page.index('id="news"'))]
    assert "Keyworker A (keyworker) wrote ‘What matters to me’" in news
    assert "Your signature is asked for" in news
    again = client.get("/my-plan").text  # looked now: the change is not new; the signature is still asked
    again = again[again.index('id="news"'):again.index("</div>", again.index('id="news"'))]
    assert "What matters to me" not in again and "Your signature is asked for" in again

    client_api = client
    r = client_api.post(f"/api/plans/{pid}/goals", {"title": "Get a bike", "why": "To get about.",
                                                    "area": "health"}, version=version + 1)
    assert r.status_code == 201, r.text
    caseload = kw.get("/caseload").text
    panel = caseload[caseload.index('id="news"'):caseload.index('id="caseload"')]
    assert "Person A" in panel and "The client added a goal" not in panel and "added a goal" in panel


def test_the_demo_is_a_living_service_for_the_clinician(app, db, http):
    from careplans import demo
    from tests.conftest import Api

    demo.load_demo(db)
    db.commit()
    doctor = Api(http, "demo-clinician", demo.DEMO_PASSWORD)
    queue = doctor.get("/prescribing/queue")
    assert queue.status_code == 200
    assert "Jordan" in queue.text and "Dee" in queue.text  # two reviews waiting
    jordan = Api(http, "demo-client", demo.DEMO_PASSWORD)
    plan = jordan.plan(jordan.get("/api/me").json()["plan_id"])
    [decision] = plan["prescribing"]
    assert decision["decision"] == "approved" and decision["acknowledged_warnings"]
    assert "40 mg" in jordan.get(f"/plans/{plan['id']}").text and "40.0 mg" not in jordan.get("/my-plan").text
