"""HTML pages for sharing a plan. Routes in ROUTES.

- /plans/{id}/share           "Share my plan": download my own copy (normal or large print),
                               preview each audience's copy, make a link (audience, sections,
                               expiry, passcode, large print), see each link's uses, stop it.
                               Keyworkers see the same list and make a link only with the client.
- /plans/{id}/share/preview   exactly what one audience's copy holds: the same view model and
                               body macro as the PDF, in the page layout
- POST /plans/{id}/share      make a link; the page shows it once (its token is never stored)
- POST /plans/{id}/share/revoke   stop a link (share_id in the form)

Everything works without JavaScript; a small script adds a "Copy link" button and a
"making your PDF" message while a download is prepared.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session
from typing_extensions import Annotated

from api.controllers.pages_common import load_plan, page, plain, see_other
from api.controllers.shares import PDF, SHARES_CREATE, SHARES_READ, SHARES_REVOKE, base_url, copy_context
from api.deps import transact
from api.forms import Errors, FormData, integer, text
from api.guards import principal_of
from careplans import policy, shares
from careplans.errors import InvalidInput
from careplans.models import utcnow
from litestar.params import FromPath, FromQuery, QueryParameter
from api.deps import DbSession

EXPIRY_CHOICES = (7, 14, 30, 90)
AUDIENCE_TITLES = {"client": "Your own copy", "gp": "Your GP", "pharmacy": "Your pharmacy",
                   "custom": "Someone you choose"}
AUDIENCE_WHOM = {"client": "you", "gp": "the GP", "pharmacy": "the pharmacy", "custom": "someone you chose"}
SAVED = {"revoked": "The link is stopped. Nobody can open it now.", "nothing": "Nothing was changed."}


def _list(data: dict[str, Any], name: str) -> list[str]:
    value = data.get(name)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def pdf_url(plan_id: str, audience: str, sections: list[str] | None = None, large_print: bool = False) -> str:
    url = f"/api/plans/{plan_id}/pdf?audience={audience}"
    if sections:
        url += "&sections=" + ",".join(sections)
    return url + ("&large_print=1" if large_print else "")


def _share_page(db: Session, viewer, plan_id: str, *, status_code: int = 200, errors: Errors | None = None,
                values: dict[str, Any] | None = None, created: shares.ShareCreated | None = None,
                saved: str | None = None) -> Template:
    def read() -> dict[str, Any]:
        context = load_plan(db, viewer, plan_id)
        context["shares"] = plain(shares.list_shares(db, viewer, plan_id, audited=False))
        return context

    context = transact(db, read)
    pid = context["plan"]["id"]
    audiences = [{"code": a, "title": AUDIENCE_TITLES[a], "whom": AUDIENCE_WHOM[a], "hint": shares.AUDIENCE_HINTS[a],
                  "sections": sorted(policy.copy_visibility(a, None if a != "custom" else frozenset(policy.SECTIONS))
                                     .sections, key=policy.SECTIONS.index)}
                 for a in policy.SHARE_AUDIENCES]
    return page("pdf/share.html", status_code=status_code, errors=errors or Errors(),
                values=values or {"audience": "", "sections": [], "expires_days": "14", "passcode": "",
                                  "large_print": False, "with_client": False},
                created=created, saved=SAVED.get(saved or ""), audiences=audiences,
                section_words=shares.SECTION_WORDS, whom=AUDIENCE_WHOM, sections_all=list(policy.SECTIONS),
                expiry_choices=EXPIRY_CHOICES, needs_client=policy.share_needs_client_present(viewer),
                my_copy=pdf_url(pid, "client"), my_copy_large=pdf_url(pid, "client", large_print=True),
                **context)


@get("/plans/{plan_id:str}/share", guards=[SHARES_READ], sync_to_thread=True, include_in_schema=False)
def share_page(request: Request, db_session: DbSession, plan_id: FromPath[str], saved: FromQuery[str | None] = None) -> Template:
    return _share_page(db_session, principal_of(request), plan_id, saved=saved)


@post("/plans/{plan_id:str}/share", guards=[SHARES_CREATE], sync_to_thread=True, include_in_schema=False)
def share_create(request: Request, db_session: DbSession, plan_id: FromPath[str], data: FormData) -> Template:
    viewer = principal_of(request)
    values = {"audience": text(data, "audience"), "sections": _list(data, "sections"),
              "expires_days": text(data, "expires_days") or "14", "passcode": text(data, "passcode").strip(),
              "large_print": text(data, "large_print") == "yes", "with_client": text(data, "with_client") == "yes"}
    errors = Errors()
    if values["audience"] not in policy.SHARE_AUDIENCES:
        errors.add("audience", "Choose who the link is for.", "audience-1")
    days = integer(values, "expires_days") or 0
    if days not in EXPIRY_CHOICES:
        errors.add("expires_days", "Choose how long the link works for.")
    unknown = set(values["sections"]) - set(policy.SECTIONS)
    if unknown:
        errors.add("sections", "Choose parts of the plan from the list.", "sections-1")
    created = None
    if not errors:
        ticked = frozenset(values["sections"]) if values["sections"] else None
        try:
            created = transact(db_session, lambda: shares.create_share(
                db_session, viewer, plan_id, values["audience"], ticked=ticked,
                expires_at=utcnow() + dt.timedelta(days=days), passcode=values["passcode"] or None,
                large_print=values["large_print"], with_client=values["with_client"], base_url=base_url(request)))
        except InvalidInput as exc:
            for e in exc.errors:
                field = e["field"].rsplit(".", 1)[-1]
                errors.add(field, e["message"], {"audience": "audience-1", "sections": "sections-1"}.get(field))
    if errors:
        # Check the plan is theirs before saying anything about the form.
        transact(db_session, lambda: load_plan(db_session, viewer, plan_id, audited=False))
        return _share_page(db_session, viewer, plan_id, status_code=422, errors=errors, values=values)
    return _share_page(db_session, viewer, plan_id, status_code=201, created=created)


@post("/plans/{plan_id:str}/share/revoke", guards=[SHARES_REVOKE], sync_to_thread=True, include_in_schema=False)
def share_revoke(request: Request, db_session: DbSession, plan_id: FromPath[str], data: FormData) -> Redirect:
    viewer = principal_of(request)
    share_id = text(data, "share_id").strip()

    def work() -> bool:
        load_plan(db_session, viewer, plan_id, audited=False)  # 404 outside the viewer's plans
        if not share_id:
            return False
        shares.revoke_share(db_session, viewer, share_id)
        return True

    done = transact(db_session, work)
    return see_other(f"/plans/{plan_id}/share?saved={'revoked' if done else 'nothing'}")


@get("/plans/{plan_id:str}/share/preview", guards=[PDF], sync_to_thread=True, include_in_schema=False)
def share_preview(
    request: Request,
    db_session: DbSession,
    plan_id: FromPath[str],
    audience: FromQuery[str] = "client",
    sections: Annotated[list[str] | None, QueryParameter(name="sections")] = None,
    large_print: FromQuery[str | None] = None,
) -> Template:
    viewer = principal_of(request)
    if audience not in policy.COPY_AUDIENCES:
        audience = "client"
    ticked = shares.parse_sections([s for s in sections if s in policy.SECTIONS]) if sections else None
    large = large_print in ("1", "yes")

    def read() -> dict[str, Any]:
        context = load_plan(db_session, viewer, plan_id, audited=False)
        context["view"] = shares.build_copy(db_session, viewer, plan_id, audience, ticked, large,
                                            action="plan.copy.read")
        return context

    context = transact(db_session, read)
    view = context.pop("view")
    context.pop("people")  # the copy is read as its audience reads it (copy_context)
    return page("pdf/preview.html", **context, **copy_context(view), audience=audience,
                audience_words=AUDIENCE_WHOM[audience],
                download=pdf_url(context["plan"]["id"], audience, sorted(ticked) if ticked else None, large),
                can_share=policy.may(viewer, "shares.create"))


ROUTES: list = [share_page, share_create, share_revoke, share_preview]
