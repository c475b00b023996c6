""""Take my plan with me": one download holding the PDF copy, the FHIR record and a README.

- /plans/{id}/take-with-me            what the pack is and a button to download it; a keyworker
                                      chooses one of the client's live links (the receiving service)
- /plans/{id}/take-with-me/pack.zip   the ZIP (`?share=` for a receiving service's copy)

Who may make which pack is the policy's (`plans.export`, `pack_needs_share`); what each file
holds is the copy's and the export's visibility. Works without JavaScript; the shares script
shows a "making your pack" message while it is prepared.
"""

from __future__ import annotations

import datetime as dt

from litestar import Request, Response, get
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from api.controllers.pages_common import load_plan, page, plain
from api.controllers.shares import CopyToServe, pdf_bytes
from api.deps import DbSession, transact
from api.guards import EXPORT, principal_of
from careplans import exports, policy, shares, views


@get("/plans/{plan_id:str}/take-with-me", guards=[EXPORT], sync_to_thread=True, include_in_schema=False)
def take_with_me(request: Request, db_session: DbSession, plan_id: FromPath[str]) -> Template:
    principal = principal_of(request)

    def read() -> dict:
        context = load_plan(db_session, principal, plan_id)
        needs_share = policy.pack_needs_share(principal)
        links = []
        if needs_share and policy.may(principal, "shares.read"):
            links = [s for s in shares.list_shares(db_session, principal, plan_id) if s.state == "live"]
        context.update(needs_share=needs_share, links=plain(links), can_see_links=policy.may(principal, "shares.read"))
        return context

    return page("exports/take_with_me.html", **transact(db_session, read))


@get("/plans/{plan_id:str}/take-with-me/pack.zip", guards=[EXPORT], sync_to_thread=True, include_in_schema=False)
def pack(request: Request, db_session: DbSession, plan_id: FromPath[str],
         share: FromQuery[str | None] = None) -> Response:
    principal = principal_of(request)
    timeout = float(request.app.state.settings.pdf_timeout_seconds)

    def read():
        target = exports.pack_for(db_session, principal, plan_id, share)
        prepared = shares.prepare_copy(db_session, principal, plan_id, target.audience, target.sections,
                                       target.large_print, action="plan.export.pack")
        copy = CopyToServe(request, db_session, prepared)
        bundle = exports.fhir_bundle(db_session, principal, plan_id, audience=target.audience,
                                     sections=target.sections)
        return target, prepared, copy, bundle

    target, prepared, copy, bundle = transact(db_session, read)
    copy.not_modified = False  # a pack is a download, never a 304 of the PDF inside it
    content = pdf_bytes(db_session, copy, timeout)
    readme = exports.pack_readme(prepared.person, target.audience_words, prepared.version.number,
                                 prepared.version.fingerprint, views.format_date(dt.date.today()))
    name = f"care-plan-version-{prepared.version.number}-{target.audience}.zip"
    return Response(exports.pack_zip(content, bundle, readme), media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


ROUTES = [take_with_me, pack]
