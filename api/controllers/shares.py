"""Copies of a plan and the links the client shares (API.md "Agreement, PDF and shares").

- GET    /api/plans/{id}/pdf?audience=&sections=&large_print=   the PDF, with ETag (304 on If-None-Match)
- POST   /api/plans/{id}/shares                                 make a link → 201 {"id","url","expires_at"}
- GET    /api/plans/{id}/shares                                 the plan's links, their state and uses
- DELETE /api/shares/{share_id}                                 stop a link (204)
- GET    /s/{token}  (and POST, with a passcode)                 the shared copy, for anyone with the link

What a copy holds is `careplans.shares.build_copy` (policy + present); its HTML comes
from the one Jinja environment (autoescape on) and the PDF from `careplans.pdf`
(nothing fetched, worker processes, timeout, bounded). Handlers are sync and run in a
worker thread; the render itself runs in a worker process, so the event loop and the
GIL of this process stay free for JSON requests.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, delete, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException
from litestar.params import Body
from litestar.response import Template
from sqlalchemy.orm import Session

from api.deps import transact
from api.guards import allow, principal_of
from api.schemas import Input
from api.templating import ENVIRONMENT
from careplans import pdf, shares
from careplans.shares import CopyView, PasscodeNeeded, ShareCreated, ShareView
from careplans.views import People
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from api.deps import DbSession

PDF = allow("plans.pdf")
SHARES_READ = allow("shares.read")
SHARES_CREATE = allow("shares.create")
SHARES_REVOKE = allow("shares.revoke")


class ServiceBusy(HTTPException):
    status_code = 503


class ShareCreate(Input):
    audience: Literal["gp", "pharmacy", "custom"]
    sections: list[Literal["about_me", "goals", "choices", "prescribing", "staying_safe", "next_review_date",
                           "agreement"]] | None = None
    expires_at: dt.datetime | None = None
    passcode: Annotated[str, msgspec.Meta(min_length=4, max_length=64)] | None = None
    large_print: bool = False
    # A keyworker confirms the client is with them and wants this link.
    with_client: bool = False


# --- one copy: HTML and PDF from the same view model -------------------------------------------------

def copy_context(view: CopyView) -> dict[str, Any]:
    reader = "client" if view.audience == "client" else "recipient"
    return {"copy": msgspec.to_builtins(view), "people": People(viewer_role=reader, viewer_name="",
                                                                client_name=view.person),
            "SECTION_WORDS": shares.SECTION_WORDS}


def copy_html(view: CopyView) -> str:
    """The PDF's HTML: the same environment and body macro as the preview page."""
    return ENVIRONMENT.get_template("pdf/copy.html").render(**copy_context(view))


def _matches(request: Request, etag: str) -> bool:
    raw = request.headers.get("if-none-match") or ""
    return any(tag.strip() in (etag, f"W/{etag}", "*") for tag in raw.split(","))


class CopyToServe:
    """What a PDF request needs after its transaction: the key, and the stored bytes or the
    view model to render (built only on a cache miss; nothing at all on a 304)."""

    def __init__(self, request: Request, db: Session, prepared: shares.PreparedCopy) -> None:
        self.key = prepared.key
        self.etag = shares.etag_for(self.key)
        self.plan_id = str(prepared.plan.id)
        large = "-large-print" if prepared.large_print else ""
        self.filename = f"care-plan-version-{prepared.version.number}-{prepared.audience}{large}.pdf"
        self.not_modified = _matches(request, self.etag)
        self.cached = None if self.not_modified else shares.cached_pdf(db, self.key)
        self.view = None if self.not_modified or self.cached is not None else prepared.view(db)


def pdf_bytes(db: Session, copy: CopyToServe, timeout: float) -> bytes:
    """The copy's PDF: the stored bytes, or rendered now (off the event loop, in a worker) and stored."""
    if copy.cached is not None:
        return copy.cached
    view = copy.view
    assert view is not None
    try:
        content = pdf.render_pdf(copy_html(view), timeout=timeout)
    except pdf.RenderBusy as exc:
        raise ServiceBusy(detail=str(exc), headers={"Retry-After": "30"}) from exc
    except pdf.RenderTimeout as exc:
        raise ServiceBusy(detail="The copy took too long to make. Try again, or choose fewer sections.",
                          headers={"Retry-After": "30"}) from exc
    transact(db, lambda: shares.store_pdf(db, copy.key, copy.plan_id, content))
    return content


def pdf_response(db: Session, copy: CopyToServe, timeout: float) -> Response:
    if copy.not_modified:
        return Response(content=b"", status_code=304, headers={"ETag": copy.etag})
    content = pdf_bytes(db, copy, timeout)
    return Response(content=content, media_type="application/pdf",
                    headers={"ETag": copy.etag, "Content-Disposition": f'inline; filename="{copy.filename}"'})


def _timeout(request: Request) -> float:
    return float(request.app.state.settings.pdf_timeout_seconds)


@get("/api/plans/{plan_id:str}/pdf", guards=[PDF], sync_to_thread=True, tags=["shares"],
     summary="The plan as a PDF for one audience", media_type="application/pdf")
def plan_pdf(
    request: Request,
    db_session: DbSession,
    plan_id: FromPath[str],
    audience: FromQuery[Literal["client", "gp", "pharmacy", "custom"]] = "client",
    sections: FromQuery[str | None] = None,
    large_print: Annotated[int, QueryParameter(ge=0, le=1)] = 0,
) -> Response:
    principal = principal_of(request)
    ticked = shares.parse_sections(sections)

    def read() -> CopyToServe:
        prepared = shares.prepare_copy(db_session, principal, plan_id, audience, ticked, bool(large_print),
                                       action="plan.pdf.read")
        return CopyToServe(request, db_session, prepared)

    return pdf_response(db_session, transact(db_session, read), _timeout(request))


# --- shares ---------------------------------------------------------------------------------------------

def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@post("/api/plans/{plan_id:str}/shares", guards=[SHARES_CREATE], sync_to_thread=True, tags=["shares"],
      summary="Make a link to a copy of the plan", status_code=201)
def create_share(request: Request, db_session: DbSession, plan_id: FromPath[str], data: JSONBody[ShareCreate]) -> ShareCreated:
    principal = principal_of(request)
    ticked = frozenset(data.sections) if data.sections is not None else None
    return transact(db_session, lambda: shares.create_share(
        db_session, principal, plan_id, data.audience, ticked=ticked, expires_at=data.expires_at,
        passcode=data.passcode, large_print=data.large_print, with_client=data.with_client,
        base_url=base_url(request)))


@get("/api/plans/{plan_id:str}/shares", guards=[SHARES_READ], sync_to_thread=True, tags=["shares"],
     summary="The links made to this plan: who for, until when, and when each was opened")
def list_shares(request: Request, db_session: DbSession, plan_id: FromPath[str]) -> list[ShareView]:
    principal = principal_of(request)
    return transact(db_session, lambda: shares.list_shares(db_session, principal, plan_id))


@delete("/api/shares/{share_id:str}", guards=[SHARES_REVOKE], sync_to_thread=True, tags=["shares"],
        summary="Stop a link working", status_code=204)
def revoke_share(request: Request, db_session: DbSession, share_id: FromPath[str]) -> None:
    principal = principal_of(request)
    transact(db_session, lambda: shares.revoke_share(db_session, principal, share_id))


# --- the link, for whoever holds it (no login) ----------------------------------------------------------------

def _open(request: Request, db_session: Session, token: str, passcode: str | None) -> Response | Template:
    def read() -> CopyToServe | PasscodeNeeded:
        outcome = shares.open_share(db_session, token, passcode)
        return outcome if isinstance(outcome, PasscodeNeeded) else CopyToServe(request, db_session, outcome)

    outcome = transact(db_session, read)
    if isinstance(outcome, PasscodeNeeded):
        return Template(template_name="pdf/passcode.html", status_code=401 if outcome.wrong else 200,
                        context={"token": token, "wrong": outcome.wrong, "attempts_left": outcome.attempts_left})
    return pdf_response(db_session, outcome, _timeout(request))


@get("/s/{token:str}", sync_to_thread=True, include_in_schema=False)
def open_share(request: Request, db_session: DbSession, token: FromPath[str]) -> Response | Template:
    return _open(request, db_session, token, None)


@post("/s/{token:str}", sync_to_thread=True, include_in_schema=False, status_code=200)
def open_share_with_passcode(
    request: Request, db_session: DbSession, token: FromPath[str],
    data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Response | Template:
    passcode = data.get("passcode")
    passcode = passcode if isinstance(passcode, str) and passcode.strip() else ""
    return _open(request, db_session, token, passcode[:200])


ROUTES: list = [plan_pdf, create_share, list_shares, revoke_share, open_share, open_share_with_passcode]
