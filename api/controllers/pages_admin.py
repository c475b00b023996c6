"""Administrator pages, adding a person, "Who works with me", and changing your password.

- /admin                                  the administrator's home: staff accounts and clients
- /admin/staff/new                        add a staff account (role, name); the temporary password is shown once
- /admin/staff/{id}/deactivate            confirm, then deactivate (their sessions end at once)
- /admin/staff/{id}/password              (POST) a temporary password, shown once
- /admin/clients/{id}                     assign or reassign a client's keyworker and clinician
- /clients/new                            add a person: an administrator (with their team and an optional
                                          login), or a keyworker (onto their own caseload, and a plan starts)
- /who-works-with-me                      the client's keyworker and clinician, by name
- /account/password                       choose your own password (after a temporary one)

Unlocking an account is served by its own module (/admin/unlock); the home links to it.
Every route names one policy action (api/guards.py); the services ask the policy again.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

from api.controllers.pages_common import ANYONE, page, see_other
from api.deps import transact
from api.forms import Errors, FormData, text
from api.guards import allow, principal_of
from api.security import end_sessions_of
from careplans import commands, policy, vocab
from careplans.errors import InvalidInput, LoginFailed, NotFound
from careplans.services import admin
from litestar.params import FromPath, FromQuery
from api.deps import DbSession

STAFF_LIST = allow("staff.list")
STAFF_CREATE = allow("staff.create")
STAFF_DEACTIVATE = allow("staff.deactivate")
STAFF_RESET = allow("staff.reset_password")
CLIENTS_ASSIGN = allow("clients.assign")
CLIENTS_CREATE = allow("clients.create")
CARE_TEAM = allow("care_team.read")

ADMIN_SAVED = {
    "deactivated": "The account is deactivated. Anyone using it has been logged out.",
    "assigned": "Who works with this person is saved. They can see it under “Who works with me”.",
}
ROLE_CHOICES = [(code, vocab.ROLES.words(code)) for code in admin.STAFF_ROLES]


def _add_errors(errors: Errors, exc: InvalidInput, fields: dict[str, str] | None = None) -> None:
    for e in exc.errors:
        name = (fields or {}).get(e["field"], e["field"])
        errors.add(name, e["message"])


# --- the administrator's home ------------------------------------------------------------------------

@get("/admin", guards=[STAFF_LIST], sync_to_thread=True, include_in_schema=False)
def admin_home(request: Request, db_session: DbSession, saved: FromQuery[str | None] = None) -> Template:
    viewer = principal_of(request)

    def work() -> dict[str, Any]:
        return {"staff": admin.list_staff(db_session, viewer), "clients": admin.clients_with_team(db_session, viewer)}

    context = transact(db_session, work)
    return page("admin/home.html", nav_current="admin", saved=ADMIN_SAVED.get(saved or ""), **context)


@get("/admin/staff/new", guards=[STAFF_CREATE], sync_to_thread=False, include_in_schema=False)
def staff_new(request: Request) -> Template:
    return page("admin/staff_new.html", errors=Errors(), values={"role": "", "display_name": "", "username": ""},
                ROLE_CHOICES=ROLE_CHOICES)


@post("/admin/staff/new", guards=[STAFF_CREATE], sync_to_thread=True, include_in_schema=False)
def staff_create(request: Request, db_session: DbSession, data: FormData) -> Template:
    viewer = principal_of(request)
    values = {name: text(data, name).strip() for name in ("role", "display_name", "username")}
    errors = Errors()
    if not values["role"]:
        errors.add("role", "Choose the person's role.", "role")
    if not values["display_name"]:
        errors.add("display_name", "Enter the person's name, as others will see it.")
    if not values["username"]:
        errors.add("username", "Enter a username for them to log in with.")
    if not errors:
        try:
            account, password = transact(db_session, lambda: admin.create_staff(
                db_session, viewer, username=values["username"], display_name=values["display_name"],
                role=values["role"]))
        except InvalidInput as exc:
            _add_errors(errors, exc)
        else:
            return page("admin/password_once.html", account=account, password=password, created=True)
    return page("admin/staff_new.html", status_code=422, errors=errors, values=values, ROLE_CHOICES=ROLE_CHOICES)


@get("/admin/staff/{user_id:str}/deactivate", guards=[STAFF_DEACTIVATE], sync_to_thread=True,
     include_in_schema=False)
def staff_deactivate_confirm(request: Request, db_session: DbSession, user_id: FromPath[str]) -> Template:
    viewer = principal_of(request)
    account = transact(db_session, lambda: next(
        (a for a in admin.list_staff(db_session, viewer) if a["id"] == user_id), None))
    if account is None:
        raise NotFound("There is no such account.")
    return page("admin/deactivate.html", account=account, errors=Errors(), is_me=account["id"] == str(viewer.id))


@post("/admin/staff/{user_id:str}/deactivate", guards=[STAFF_DEACTIVATE], sync_to_thread=True,
      include_in_schema=False)
def staff_deactivate(request: Request, db_session: DbSession, user_id: FromPath[str]) -> Template | Redirect:
    viewer = principal_of(request)
    try:
        account = transact(db_session, lambda: admin.deactivate(db_session, viewer, user_id))
    except InvalidInput as exc:
        errors = Errors()
        _add_errors(errors, exc, {"user_id": "confirm"})
        account = transact(db_session, lambda: next(
            (a for a in admin.list_staff(db_session, viewer) if a["id"] == user_id), None))
        return page("admin/deactivate.html", status_code=422, account=account, errors=errors,
                    is_me=user_id == str(viewer.id))
    transact(db_session, lambda: end_sessions_of(db_session, account["id"]))
    return see_other("/admin?saved=deactivated")


@post("/admin/staff/{user_id:str}/password", guards=[STAFF_RESET], sync_to_thread=True, include_in_schema=False)
def staff_reset_password(request: Request, db_session: DbSession, user_id: FromPath[str]) -> Template:
    viewer = principal_of(request)
    account, password = transact(db_session, lambda: admin.reset_password(db_session, viewer, user_id))
    return page("admin/password_once.html", account=account, password=password, created=False)


# --- clients -------------------------------------------------------------------------------------------

def _team_choices(db: Session, viewer) -> dict[str, Any]:
    if not policy.may(viewer, "clients.assign"):
        return {"keyworkers": [], "clinicians": []}
    return {"keyworkers": admin.staff_choices(db, viewer, "keyworker"),
            "clinicians": admin.staff_choices(db, viewer, "prescriber")}


CLIENT_FIELDS = ("preferred_name", "pronouns", "nhs_number", "keyworker_id", "clinician_id", "username")


@get("/clients/new", guards=[CLIENTS_CREATE], sync_to_thread=True, include_in_schema=False)
def client_new(request: Request, db_session: DbSession) -> Template:
    viewer = principal_of(request)
    choices = transact(db_session, lambda: _team_choices(db_session, viewer))
    return page("admin/client_new.html", errors=Errors(), values={f: "" for f in CLIENT_FIELDS}, **choices)


@post("/clients/new", guards=[CLIENTS_CREATE], sync_to_thread=True, include_in_schema=False)
def client_create(request: Request, db_session: DbSession, data: FormData) -> Template | Redirect:
    viewer = principal_of(request)
    values = {f: text(data, f).strip() for f in CLIENT_FIELDS}
    errors = Errors()
    if not values["preferred_name"]:
        errors.add("preferred_name", "Enter the name this person wants to be called.")
    for name, limit in (("preferred_name", 120), ("pronouns", 40), ("nhs_number", 20)):
        if len(values[name]) > limit:
            errors.add(name, f"Use {limit} characters or fewer.")
    is_keyworker = policy.may(viewer, "plans.create")
    if not errors:
        def work():
            client, password = admin.add_client(
                db_session, viewer, preferred_name=values["preferred_name"], pronouns=values["pronouns"] or None,
                nhs_number=values["nhs_number"] or None,
                keyworker_id=None if is_keyworker else (values["keyworker_id"] or None),
                clinician_id=None if is_keyworker else (values["clinician_id"] or None),
                username=values["username"] or None)
            plan = commands.create_plan(db_session, viewer, client["id"]) if is_keyworker else None
            return client, password, plan

        try:
            client, password, plan = transact(db_session, work)
        except InvalidInput as exc:
            _add_errors(errors, exc, {"staff_user_id": "clinician_id"})
        else:
            if plan is not None and not password:
                return see_other(f"/plans/{plan.id}?saved=plan-started")
            return page("admin/client_added.html", client=client, password=password,
                        plan_id=plan.id if plan is not None else None, username=values["username"])
    choices = transact(db_session, lambda: _team_choices(db_session, viewer))
    return page("admin/client_new.html", status_code=422, errors=errors, values=values, **choices)


@get("/admin/clients/{client_id:str}", guards=[CLIENTS_ASSIGN], sync_to_thread=True, include_in_schema=False)
def client_team_page(request: Request, db_session: DbSession, client_id: FromPath[str]) -> Template:
    viewer = principal_of(request)

    def work() -> dict[str, Any]:
        return {"client": admin.client_team(db_session, viewer, client_id), **_team_choices(db_session, viewer)}

    context = transact(db_session, work)
    values = {"keyworker_id": context["client"]["keyworker_id"], "clinician_id": context["client"]["clinician_id"]}
    return page("admin/client_team.html", errors=Errors(), values=values, **context)


@post("/admin/clients/{client_id:str}", guards=[CLIENTS_ASSIGN], sync_to_thread=True, include_in_schema=False)
def client_team_submit(request: Request, db_session: DbSession, client_id: FromPath[str], data: FormData) -> Template | Redirect:
    viewer = principal_of(request)
    values = {"keyworker_id": text(data, "keyworker_id").strip(), "clinician_id": text(data, "clinician_id").strip()}
    errors = Errors()

    def work() -> None:
        admin.client_team(db_session, viewer, client_id)  # 404 before anything else
        for relation, name in (("keyworker", "keyworker_id"), ("prescriber", "clinician_id")):
            if values[name]:
                try:
                    admin.assign(db_session, viewer, client_id, relation, values[name])
                except InvalidInput as exc:
                    _add_errors(errors, exc, {"staff_user_id": name})
        if errors:
            raise InvalidInput("staff_user_id", "Choose someone from the list.")

    try:
        transact(db_session, work)
    except InvalidInput:
        context = transact(db_session, lambda: {"client": admin.client_team(db_session, viewer, client_id),
                                                 **_team_choices(db_session, viewer)})
        return page("admin/client_team.html", status_code=422, errors=errors, values=values, **context)
    return see_other("/admin?saved=assigned")


# --- the client: who works with me ----------------------------------------------------------------------

@get("/who-works-with-me", guards=[CARE_TEAM], sync_to_thread=True, include_in_schema=False)
def who_works_with_me(request: Request, db_session: DbSession) -> Template:
    viewer = principal_of(request)
    team = transact(db_session, lambda: admin.care_team(db_session, viewer))
    return page("admin/care_team.html", nav_current="my-plan", team=team)


# --- everyone: choose your own password -------------------------------------------------------------------

@get("/account/password", guards=[ANYONE], sync_to_thread=True, include_in_schema=False)
def password_page(request: Request, db_session: DbSession) -> Template:
    viewer = principal_of(request)
    must = transact(db_session, lambda: admin.must_change_password(db_session, viewer))
    return page("admin/password_change.html", errors=Errors(), must_change=must)


@post("/account/password", guards=[ANYONE], sync_to_thread=True, include_in_schema=False)
def password_submit(request: Request, db_session: DbSession, data: FormData) -> Template | Redirect:
    viewer = principal_of(request)
    current, new, again = text(data, "current_password"), text(data, "new_password"), text(data, "new_password_again")
    errors = Errors()
    if not current:
        errors.add("current_password", "Enter the password you logged in with.")
    if not new:
        errors.add("new_password", "Enter a new password.")
    elif len(new) > 1024:
        errors.add("new_password", "Passwords are 1,024 characters or fewer.")
    elif new != again:
        errors.add("new_password_again", "The two new passwords are not the same.")
    if not errors:
        try:
            transact(db_session, lambda: admin.change_own_password(db_session, viewer, current, new))
        except LoginFailed as exc:
            errors.add("current_password", exc.detail)
        except InvalidInput as exc:
            _add_errors(errors, exc)
        else:
            return see_other("/")
    must = transact(db_session, lambda: admin.must_change_password(db_session, viewer))
    return page("admin/password_change.html", status_code=422, errors=errors, must_change=must)


ROUTES: list = [admin_home, staff_new, staff_create, staff_deactivate_confirm, staff_deactivate,
                staff_reset_password, client_new, client_create, client_team_page, client_team_submit,
                who_works_with_me, password_page, password_submit]
