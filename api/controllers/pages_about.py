"""Editing "About me", with "we see this differently" and a merge page when someone saved first.

Only the fields the person changed are written (so the other fields keep their voice),
and only relative to the version their form started from (so saving a merge form never
undoes someone else's change to a field this person did not touch).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

from api.controllers.pages_common import WRITERS, load_plan, page, plain, see_other
from api.deps import transact
from api.forms import LONG_TEXT, Errors, FormData, field_of, integer, merged_values, text
from api.guards import principal_of
from careplans import plan_document as doc
from careplans.errors import InvalidInput, NotFound, VersionConflict
from careplans import commands, plan_history
from careplans.views import text_of
from litestar.params import FromPath
from api.deps import DbSession

FIELDS = doc.ABOUT_ME_FIELDS


def _texts(about_me: dict[str, Any]) -> dict[str, str]:
    return {name: text_of(about_me.get(name)).strip() for name in FIELDS}


def _typed(data: dict[str, Any]) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    words = {name: text(data, name) for name in FIELDS}
    views = {name: text(data, f"different_view-{name}") for name in FIELDS}
    keep = {name: text(data, f"keep-{name}") for name in FIELDS}
    return words, views, keep


def _mutation(viewer, words: dict[str, str], views: dict[str, str], keep: dict[str, str]):
    def mutate(content: dict[str, Any]) -> dict[str, Any]:
        current = _texts(content["about_me"])
        changes: dict[str, Any] = {}
        for name in FIELDS:
            if keep.get(name) == "saved":
                continue
            new = words[name].strip()
            view = views[name].strip()
            if view:
                if new != current[name]:
                    raise doc.DocumentError(
                        f"different_view-{name}",
                        "To add a different view, leave the words above as they are: both are kept side by side.")
                if not current[name]:
                    raise doc.DocumentError(
                        f"different_view-{name}",
                        "There is nothing written here yet to see differently. Write your words in the box above.")
                changes[name] = {"different_view": view}
            elif new != current[name]:
                changes[name] = new or None
        return doc.set_about_me(content, changes, viewer.author) if changes else content

    return mutate


@get("/plans/{plan_id:str}/about-me", guards=[WRITERS], sync_to_thread=True, include_in_schema=False)
def about_me_page(request: Request, db_session: DbSession, plan_id: FromPath[str]) -> Template:
    viewer = principal_of(request)
    context = transact(db_session, lambda: load_plan(db_session, viewer, plan_id))
    plan = context["plan"]
    return page("plan/about_me.html", errors=Errors(), words=_texts(plan["about_me"]),
                views={n: "" for n in FIELDS}, keep={}, based_on=plan["version"], conflict=None, **context)


@post("/plans/{plan_id:str}/about-me", guards=[WRITERS], sync_to_thread=True, include_in_schema=False)
def about_me_submit(request: Request, db_session: DbSession, plan_id: FromPath[str], data: FormData) -> Template | Redirect:
    viewer = principal_of(request)
    words, views, keep = _typed(data)
    based_on = integer(data, "based_on") or 0
    errors = Errors()
    for name in FIELDS:
        errors.check_length(data, name, LONG_TEXT, "What you write here")
        errors.check_length(data, f"different_view-{name}", LONG_TEXT, "Your view")
    if not errors:
        try:
            result = transact(db_session, lambda: commands.change_plan(
                db_session, viewer, plan_id, based_on, _mutation(viewer, words, views, keep), "plan.update"))
        except VersionConflict as exc:
            return _merge_page(db_session, viewer, plan_id, exc, words, views)
        except InvalidInput as exc:
            for e in exc.errors:
                errors.add(field_of(e["field"]), e["message"])
        else:
            return see_other(f"/plans/{plan_id}?saved={'about-me' if result.changed else 'nothing'}#about-me")
    context = transact(db_session, lambda: load_plan(db_session, viewer, plan_id, audited=False))
    return page("plan/about_me.html", status_code=422, errors=errors, words=words, views=views, keep=keep,
                based_on=based_on, conflict=None, **context)


def _merge_page(db_session: Session, viewer, plan_id: str, exc: VersionConflict, words: dict[str, str],
                views: dict[str, str]) -> Template:
    """Someone saved first: keep what this person typed, show the saved version beside it."""

    def work() -> dict[str, Any]:
        # One audit event for the page: the plan read; the version and history beside it are part of it.
        context = load_plan(db_session, viewer, plan_id)
        try:
            base = plain(plan_history.get_version(db_session, viewer, plan_id, exc.your_version, audited=False))["about_me"]
        except NotFound:
            base = None
        context["base"] = base
        context["newer"] = [v for v in plain(plan_history.list_versions(db_session, viewer, plan_id, audited=False))
                            if v["version"] > exc.your_version]
        return context

    context = transact(db_session, work)
    current = context["plan"]  # the newest saved version (it may be newer still than exc.current)
    typed = {n: words[n].strip() for n in FIELDS}
    base = context.pop("base")
    values, mine, clashes = merged_values(typed, _texts(base) if base is not None else None,
                                          _texts(current["about_me"]), FIELDS)
    conflict = {"version": current["version"], "your_version": exc.your_version, "mine": mine,
                "clashes": clashes, "newer": context.pop("newer")}
    return page("plan/about_me.html", status_code=409, errors=Errors(), words=values, views=views,
                keep={}, based_on=current["version"], conflict=conflict, **context)


ROUTES = [about_me_page, about_me_submit]
