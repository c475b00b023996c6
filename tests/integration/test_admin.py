"""The administrator's work through the pages: accounts, temporary passwords, deactivation that
ends sessions at once, adding a client and assigning who works with them (audited, and shown
to the client as "Who works with me"); a keyworker adding a person and starting their plan."""

from __future__ import annotations

import re
import uuid

import pytest
from litestar.testing import TestClient
from sqlalchemy import select

from api.session_model import UserSession
from careplans.models import AuditEvent, CaseloadAssignment, Client, User
from careplans.passwords import verify_password
from tests.conftest import PASSWORD, Api

PASSWORD_SHOWN = re.compile(r'id="temporary-password"><code>([a-z0-9-]+)</code>')
CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')


def page_token(client: TestClient, path: str) -> tuple[str, str]:
    """(the page's HTML, the CSRF token its form carries)."""
    html = client.get(path).text
    return html, CSRF_FIELD.search(html).group(1)


def form(api: Api, path: str, data: dict | None = None, **kw):
    return api.client.post(path, data={**(data or {}), "_csrf_token": api.csrf}, follow_redirects=False, **kw)


def _user(db, username: str) -> User:
    db.rollback()
    return db.execute(select(User).where(User.username == username)).scalar_one()


def _events(db, action: str) -> list[AuditEvent]:
    db.rollback()
    return list(db.execute(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)).scalars())


def test_a_new_staff_account_gets_a_temporary_password_shown_once_and_stored_hashed(app, as_, db, world):
    admin = as_("admin")
    username = f"new-kw-{world.tag}"
    r = form(admin, "/admin/staff/new", {"role": "keyworker", "display_name": "Pat Example", "username": username})
    assert r.status_code == 200, r.text
    password = PASSWORD_SHOWN.search(r.text).group(1)
    assert len(password) >= 12
    user = _user(db, username)
    assert user.role == "keyworker" and user.display_name == "Pat Example" and user.must_change_password
    assert password not in user.password_hash and verify_password(user.password_hash, password)
    audit = _events(db, "staff.create")[-1]
    assert password not in audit.detail and audit.actor_id == str(world.users["admin"].id)
    # The home lists the account; the password is never shown again.
    home = admin.get("/admin")
    assert "Pat Example" in home.text and password not in home.text

    # They log in with it and are asked to choose their own first.
    person = TestClient(app)
    r = person.post("/login", data={"username": username, "password": password}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/account/password"
    page, csrf = page_token(person, "/account/password")
    assert "temporary password" in page
    r = person.post("/account/password", data={"current_password": password, "new_password": "short",
                                               "new_password_again": "short", "_csrf_token": csrf},
                    follow_redirects=False)
    assert r.status_code == 422 and "at least 12" in r.text
    mine = "a long walk by the river"
    r = person.post("/account/password", data={"current_password": password, "new_password": mine,
                                               "new_password_again": mine, "_csrf_token": csrf},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/", r.headers
    user = _user(db, username)
    assert not user.must_change_password and verify_password(user.password_hash, mine)


def test_staff_form_errors_name_the_field_and_keep_what_was_typed(as_, world):
    admin = as_("admin")
    r = form(admin, "/admin/staff/new", {"role": "", "display_name": "Pat", "username": world.username("keyworker_a")})
    assert r.status_code == 422 and "Choose the person" in r.text and 'value="Pat"' in r.text
    r = form(admin, "/admin/staff/new", {"role": "client", "display_name": "Pat", "username": "x" + world.tag})
    assert r.status_code == 422
    r = form(admin, "/admin/staff/new", {"role": "keyworker", "display_name": "Pat",
                                         "username": world.username("keyworker_a")})
    assert r.status_code == 422 and "That username is taken" in r.text


def test_deactivating_an_account_refuses_its_open_session_on_the_next_request(as_, db, world):
    keyworker = as_("keyworker_a")
    assert keyworker.get("/api/me").status_code == 200
    assert keyworker.get("/caseload").status_code == 200
    admin = as_("admin")
    kw_id = str(world.users["keyworker_a"].id)
    confirm = admin.get(f"/admin/staff/{kw_id}/deactivate")
    assert confirm.status_code == 200 and "logged out straight away" in confirm.text
    r = form(admin, f"/admin/staff/{kw_id}/deactivate")
    assert r.status_code == 303 and r.headers["location"] == "/admin?saved=deactivated"
    # The open session is refused at once, and its row is gone.
    assert keyworker.get("/api/me").status_code == 401
    r = keyworker.client.get("/caseload", follow_redirects=False)
    assert r.status_code in (302, 303) and r.headers["location"].startswith("/login")
    db.rollback()
    for row in db.execute(select(UserSession.data)).scalars():
        assert kw_id.encode() not in row
    assert not _user(db, world.username("keyworker_a")).is_active
    assert _events(db, "staff.deactivate")[-1].detail.count(kw_id) == 1
    # They cannot log in again; the admin still can work.
    with pytest.raises(AssertionError):
        Api(TestClient(keyworker.client.app), world.username("keyworker_a"))
    assert admin.get("/admin").status_code == 200


def test_an_administrator_cannot_deactivate_themself(as_, world):
    admin = as_("admin")
    r = form(admin, f"/admin/staff/{world.users['admin'].id}/deactivate")
    assert r.status_code == 422 and "your own account" in r.text


def test_a_password_reset_shows_a_new_temporary_password_once(as_, db, world):
    admin = as_("admin")
    uid = world.users["clinician_a"].id
    before = _user(db, world.username("clinician_a")).password_hash
    r = form(admin, f"/admin/staff/{uid}/password")
    assert r.status_code == 200
    password = PASSWORD_SHOWN.search(r.text).group(1)
    user = _user(db, world.username("clinician_a"))
    assert user.password_hash != before and verify_password(user.password_hash, password)
    assert user.must_change_password
    assert not verify_password(user.password_hash, PASSWORD)
    assert form(admin, f"/admin/staff/{uuid.uuid4()}/password").status_code == 404


def test_an_administrator_adds_a_client_and_assigns_then_reassigns_their_keyworker(as_, db, world):
    admin = as_("admin")
    r = form(admin, "/clients/new", {"preferred_name": "Robin", "pronouns": "they/them", "nhs_number": "485 777 3456"})
    assert r.status_code == 422 and "NHS number is not valid" in r.text and 'value="Robin"' in r.text
    kw_a, kw_b = world.users["keyworker_a"], world.users["keyworker_b"]
    r = form(admin, "/clients/new", {"preferred_name": "Robin", "pronouns": "they/them", "nhs_number": "485 777 3457",
                                     "keyworker_id": str(kw_a.id), "clinician_id": str(world.users["clinician_a"].id),
                                     "username": f"robin-{world.tag}"})
    assert r.status_code == 200, r.text
    password = PASSWORD_SHOWN.search(r.text).group(1)
    db.rollback()
    client = db.execute(select(Client).where(Client.preferred_name == "Robin",
                                             Client.nhs_number == "4857773457")).scalars().all()[-1]
    assert client.date_of_birth is None and client.user_id is not None
    # Keyworker A has Robin on their caseload.
    assert "Robin" in as_("keyworker_a").get("/caseload").text

    # Reassign to keyworker B: A's assignment ends, B's starts, and it is audited.
    page = admin.get(f"/admin/clients/{client.id}")
    assert page.status_code == 200 and "Keyworker" in page.text
    r = form(admin, f"/admin/clients/{client.id}", {"keyworker_id": str(kw_b.id), "clinician_id": ""})
    assert r.status_code == 303
    db.rollback()
    open_kw = db.execute(select(CaseloadAssignment.staff_user_id).where(
        CaseloadAssignment.client_id == client.id, CaseloadAssignment.relation == "keyworker",
        CaseloadAssignment.ended_at.is_(None))).scalars().all()
    assert open_kw == [kw_b.id]
    event = _events(db, "client.assign")[-1]
    assert event.client_id == str(client.id) and str(kw_b.id) in event.detail and str(kw_a.id) in event.detail
    assert "Robin" not in as_("keyworker_a").get("/caseload").text
    assert "Robin" in as_("keyworker_b").get("/caseload").text
    home = admin.get("/admin")
    assert "Keyworker B" in home.text

    # Robin logs in, chooses a password, and sees who works with them.
    robin = TestClient(admin.client.app)
    robin.post("/login", data={"username": f"robin-{world.tag}", "password": password})
    _, csrf = page_token(robin, "/account/password")
    robin.post("/account/password", data={"current_password": password, "new_password": "my own password",
                                          "new_password_again": "my own password", "_csrf_token": csrf})
    team = robin.get("/who-works-with-me")
    assert team.status_code == 200
    assert "Keyworker B" in team.text and "Clinician A" in team.text and "Keyworker A" not in team.text


def test_an_unknown_or_wrong_role_assignment_is_refused(as_, world):
    admin = as_("admin")
    cid = world.client_ids["a"]
    r = form(admin, f"/admin/clients/{cid}", {"keyworker_id": str(world.users["clinician_b"].id)})
    assert r.status_code == 422 and "Choose someone from the list" in r.text
    assert admin.get(f"/admin/clients/{uuid.uuid4()}").status_code == 404


def test_a_keyworker_adds_a_person_and_their_plan_starts(as_, db, world):
    kw = as_("keyworker_a")
    page = kw.get("/clients/new")
    assert page.status_code == 200 and "Keyworker" not in re.sub(r"<header.*?</header>", "", page.text, flags=re.S)
    r = form(kw, "/clients/new", {"preferred_name": "Morgan", "pronouns": "she/her",
                                  "keyworker_id": str(world.users["keyworker_b"].id)})
    assert r.status_code == 303 and re.match(r"^/plans/[0-9a-f-]+\?saved=plan-started$", r.headers["location"])
    plan_page = kw.get(r.headers["location"])
    assert plan_page.status_code == 200 and "Morgan" in plan_page.text
    assert "Morgan" in kw.get("/caseload").text
    assert "Morgan" not in as_("keyworker_b").get("/caseload").text


@pytest.mark.parametrize("key", ["client_a", "keyworker_a", "clinician_a", "auditor"])
def test_only_administrators_reach_the_admin_pages(as_, world, key):
    person = as_(key)
    assert person.get("/admin").status_code == 403
    assert form(person, f"/admin/staff/{world.users['keyworker_b'].id}/deactivate").status_code == 403
    assert form(person, f"/admin/staff/{world.users['keyworker_b'].id}/password").status_code == 403
