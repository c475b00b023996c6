"""Log in and out, the start page for each role, the keyworker's caseload and the client's "My plan"."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

from api.controllers.pages_common import (
    ANYONE,
    agreement_context,
    load_plan,
    page,
    plain,
    saved_message,
    see_other,
)
from api.deps import transact
from api.forms import Errors, FormData, text
from api.guards import CASELOAD, MY_PLAN, PLAN_CREATE, principal_of
from api.security import start_session
from careplans import audit, commands, plan_history, policy, queries
from careplans.errors import LoginFailed, LoginLocked
from careplans.services import accounts, clients, feedback
from litestar.params import FromPath, FromQuery
from api.deps import DbSession

# Each person's start page: the first whose action the policy gives them.
START_PAGES = (("my_plan.read", "/my-plan"), ("caseload.read", "/caseload"), ("audit.reports", "/audit"),
               ("staff.list", "/admin"))


def safe_next(value: str) -> str:
    """Only a path on this site (no //host, no scheme), else the start page."""
    value = (value or "").strip()
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    if any(ch.isspace() or ord(ch) < 32 for ch in value):  # browsers drop tabs and newlines: "/\t/evil"
        return "/"
    if value.startswith("/login") or value.startswith("/logout"):
        return "/"
    return value


@get("/login", exclude_from_auth=True, sync_to_thread=False, include_in_schema=False)
def login_page(next: FromQuery[str] = "/") -> Template:  # noqa: A002 - the query parameter is called next
    return page("login.html", next=safe_next(next), errors=Errors(), username="",
                logged_out=False)


@get("/logged-out", exclude_from_auth=True, sync_to_thread=False, include_in_schema=False)
def logged_out_page() -> Template:
    return page("login.html", next="/", errors=Errors(), username="", logged_out=True)


@post("/login", exclude_from_auth=True, sync_to_thread=True, include_in_schema=False)
def login_submit(request: Request, db_session: DbSession, data: FormData) -> Template | Redirect:
    username = text(data, "username").strip()
    password = text(data, "password")
    nxt = safe_next(text(data, "next"))
    errors = Errors()
    if not username:
        errors.add("username", "Enter your username.")
    elif len(username) > 64:
        errors.add("username", "Usernames are 64 characters or fewer.")
    if not password:
        errors.add("password", "Enter your password.")
    elif len(password) > 1024:
        errors.add("password", "Passwords are 1,024 characters or fewer.")
    if not errors:
        try:
            address = request.client.host if request.client else None
            user = transact(db_session, lambda: accounts.authenticate(db_session, username, password,
                                                                      address=address))
            must_change = bool(user.must_change_password)
        except LoginLocked as exc:
            errors.add("username", exc.detail)
            headers = {"Retry-After": str(getattr(exc, "retry_after", 60))}
            return Template(template_name="login.html", status_code=429, headers=headers,
                            context={"next": nxt, "errors": errors, "username": username, "logged_out": False})
        except LoginFailed:
            errors.add("username", "The username or password is not right. Check them and try again.")
        else:
            start_session(request, user)
            # A temporary password from an administrator: the person chooses their own first.
            return see_other("/account/password" if must_change else nxt)
    return page("login.html", status_code=401 if "username" in errors and username and password else 422,
                next=nxt, errors=errors, username=username, logged_out=False)


@post("/logout", guards=[ANYONE], sync_to_thread=False, include_in_schema=False)
def logout_submit(request: Request) -> Redirect:
    request.clear_session()
    return see_other("/logged-out")


@get("/", guards=[ANYONE], sync_to_thread=False, include_in_schema=False)
def start(request: Request) -> Redirect:
    viewer = principal_of(request)
    path = next((p for action, p in START_PAGES if policy.may(viewer, action)), "/home")
    return Redirect(path=path, status_code=302)


def _caseload_order(item: dict[str, Any]) -> tuple:
    """People without a plan, then plans not signed by both, then agreed; soonest review first."""
    if not item.get("plan_id"):
        group = 0
    elif item.get("agreement_state") != "agreed":
        group = 1
    else:
        group = 2
    review = item.get("next_review_date") or "9999-12-31"
    return group, review, (item.get("preferred_name") or "").lower()


@get("/caseload", guards=[CASELOAD], sync_to_thread=True, include_in_schema=False)
def caseload(request: Request, db_session: DbSession) -> Template:
    viewer = principal_of(request)
    def work() -> tuple[dict[str, Any], dict[str, Any]]:
        listed = clients.list_clients(db_session, viewer, limit=500)
        plan_ids = [queries.parse_id(i["plan_id"]) for i in listed["items"] if i.get("plan_id")]
        news = plan_history.news_since_last_look(db_session, viewer, plan_ids)
        if plan_ids:  # what changed in whose plan is plan content: one audit event for the page
            audit.record(db_session, queries.actor(viewer), "caseload.news.read", detail={"plans": len(plan_ids)})
        return listed, {pid: plain(n) for pid, n in news.items() if n.items}

    result, news = transact(db_session, work)
    items = sorted(result["items"], key=_caseload_order)
    names = {i["plan_id"]: i["preferred_name"] for i in items if i.get("plan_id")}
    return page("caseload.html", nav_current="caseload", items=items, total=result["total"],
                today=dt.date.today().isoformat(), news=[(names.get(pid, ""), n) for pid, n in news.items()])


@post("/clients/{client_id:str}/plans", guards=[PLAN_CREATE], sync_to_thread=True, include_in_schema=False)
def start_plan(request: Request, db_session: DbSession, client_id: FromPath[str]) -> Redirect:
    viewer = principal_of(request)
    plan = transact(db_session, lambda: commands.create_plan(db_session, viewer, client_id))
    return see_other(f"/plans/{plan.id}?saved=plan-started")


@get("/my-plan", guards=[MY_PLAN], sync_to_thread=True, include_in_schema=False)
def my_plan(request: Request, db_session: DbSession, saved: FromQuery[str | None] = None) -> Template:
    viewer = principal_of(request)

    def work() -> dict[str, Any]:
        mine = clients.list_clients(db_session, viewer, limit=1)["items"]
        if not mine or not mine[0].get("plan_id"):
            return {"plan": None, "client": mine[0] if mine else None}
        plan_id = mine[0]["plan_id"]
        # What is new since the last look, read before this page records its own look.
        news = plan_history.news_since_last_look(db_session, viewer, [queries.parse_id(plan_id)]).get(str(plan_id))
        context = load_plan(db_session, viewer, plan_id, signatures=True)
        context["news"] = plain(news) if news else None
        context["heard_invite"] = feedback.invitation(db_session, viewer, plan_id)
        return context

    context = transact(db_session, work)
    if context.get("plan"):
        context.update(agreement_context(context["plan"], viewer, context.get("signatures")))
    return page("my_plan.html", nav_current="my-plan", saved=saved_message(saved), **context)


@get("/home", guards=[ANYONE], sync_to_thread=True, include_in_schema=False)
def home(request: Request, db_session: DbSession) -> Template:
    viewer = principal_of(request)
    items: list[dict[str, Any]] = []
    if policy.may(viewer, "prescribing.queue"):  # a prescriber's home lists the people they prescribe for
        items = transact(db_session, lambda: clients.list_clients(db_session, viewer, limit=500))["items"]
    return page("home.html", nav_current="home", items=items)


ROUTES = [login_page, logged_out_page, login_submit, logout_submit, start, caseload, start_plan, my_plan, home]
