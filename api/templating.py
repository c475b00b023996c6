"""One Jinja environment (autoescape on) for pages and PDFs, and the static asset routes.

Templates come from templates/ first, then the nhsuk-frontend-jinja package (its
macros target nhsuk-frontend 10.6, the version package-lock.json installs). The
package asks for ChainableUndefined: its macros read nested optional parameters
such as `params.hint.text`.

Globals for every template:
- csrf_field()      the hidden `_csrf_token` input for a POST form (Markup)
- current_viewer()  the logged-in Principal, or None on pages open to everyone
- progress_chart(check_ins)  geometry for the SVG progress chart (careplans.views)
- ABOUT_ME_LABELS, GOAL_AREAS, GOAL_STATUSES  labels for forms
Filters: date, datetime, fingerprint, voice_label(people), area_words, status_words,
agreement_words, option_name, yes_no, words(table), possessive (see careplans.views); mg (a dose: "16 mg", careplans.present.dose_text).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any, Mapping

from jinja2 import ChainableUndefined, ChoiceLoader, Environment, FileSystemLoader, PackageLoader, pass_context
from litestar import Response, get
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.utils.scope.state import ScopeState
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.utils.empty import value_or_default
from markupsafe import Markup, escape

from api.forms import date_hint
from api.security import CSRF_COOKIE
from careplans import views, vocab
from careplans.present import dose_text

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
NHSUK_DIST = ROOT / "node_modules" / "nhsuk-frontend" / "dist" / "nhsuk"


def _request(context: Mapping[str, Any]):
    return context.get("request")


@pass_context
def csrf_field(context: Mapping[str, Any]) -> Markup:
    """The hidden CSRF input. After a GET the middleware put the token in the scope; a POST
    that it checked carries it too; a login POST without a session falls back to the cookie."""
    request = _request(context)
    token = ""
    if request is not None:
        token = value_or_default(ScopeState.from_scope(request.scope).csrf_token, "")
        if not token:
            token = request.cookies.get(CSRF_COOKIE, "")
    return Markup('<input type="hidden" name="_csrf_token" value="{}">').format(escape(token))


@pass_context
def current_viewer(context: Mapping[str, Any]):
    request = _request(context)
    if request is None:
        return None
    from careplans.policy import Principal

    user = request.scope.get("user")
    return user if isinstance(user, Principal) else None


@pass_context
def may(context: Mapping[str, Any], action: str) -> bool:
    """In a template: may the logged-in person take this policy action? (careplans.policy)"""
    from careplans import policy

    return policy.may(current_viewer(context), action)


def option_name(code: Any) -> str:
    from careplans.catalogue import option_by_code

    option = option_by_code(str(code)) if code else None
    return option.name if option is not None else str(code or "")


AREA_CHOICES = [(t.code, t.words, t.hint) for t in vocab.GOAL_AREAS]
STATUS_CHOICES = [(t.code, t.words, t.hint) for t in vocab.GOAL_STATUSES]

WORD_TABLES = {
    "bbv": views.BBV_LABELS,
    "bbv_status": views.BBV_STATUS_WORDS,
    "nsp": views.NSP_WORDS,
    "risk": views.RISK_WORDS,
    "outcome": views.OUTCOME_WORDS,
    "preference": views.PREFERENCE_WORDS,
    "format": views.FORMAT_WORDS,
    "decision": views.DECISION_WORDS,
}


MY_WORD_TABLES = {"bbv_status": vocab.BBV_STATUSES.my_table(), "nsp": vocab.NSP_STATUSES.my_table()}


def _words(value: Any, table: str, mine: bool = False) -> str:
    """A code in words; `mine=True`: in the client's own voice where the vocabulary has it."""
    return views.words(value, MY_WORD_TABLES.get(table, WORD_TABLES[table]) if mine else WORD_TABLES[table])


def _naloxone_words(naloxone: Any, mine: bool = False) -> list[str]:
    from careplans.present import naloxone_words

    return naloxone_words(naloxone if isinstance(naloxone, dict) else None, mine)


def bdi(value: Any) -> Markup:
    """Text a person typed, isolated so its direction cannot reorder the words around it."""
    return Markup('<bdi>{}</bdi>').format("" if value is None else value)


def bdi_possessive(name: Any) -> Markup:
    """“<bdi>Sam</bdi>’s”: the possessive of a name, the name isolated (never in <title>)."""
    name = str(name or "").strip()
    if not name:
        return Markup("the client’s")
    return Markup('<bdi>{}</bdi>{}').format(name, "’" if name.endswith("s") else "’s")


def make_environment() -> Environment:
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(str(TEMPLATES)), PackageLoader("nhsuk_frontend_jinja", "templates")]),
        autoescape=True,
        undefined=ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(csrf_field=csrf_field, current_viewer=current_viewer, may=may, date_hint=date_hint)
    env.filters.update(
        date=views.format_date,
        datetime=views.format_datetime,
        fingerprint=views.short_fingerprint,
        area_words=views.area_words,
        status_words=views.status_words,
        agreement_words=views.agreement_words,
        voice_label=views.voice_label,
        possessive=views.possessive,
        bdi=bdi,
        bdi_possessive=bdi_possessive,
        option_name=option_name,
        mg=dose_text,
        yes_no=views.yes_no,
        words=_words,
        naloxone_words=_naloxone_words,
    )
    env.globals.update(MY_WORD_TABLES=MY_WORD_TABLES)
    env.globals.update(ABOUT_ME_LABELS=views.ABOUT_ME_LABELS, progress_chart=views.progress_chart,
                       GOAL_AREAS=AREA_CHOICES, GOAL_STATUSES=STATUS_CHOICES)
    return env


ENVIRONMENT = make_environment()


def template_config() -> TemplateConfig:
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(ENVIRONMENT))


# The NHS.UK stylesheet declares its typeface, Frutiger, with @font-face rules that load it from
# assets.nhs.uk. Frutiger is licensed: it is not in npm and cannot be self-hosted here, and the
# Content-Security-Policy (font-src 'self') rightly refuses the remote files, an error in the
# console on every page. The stylesheet is therefore served without its @font-face rules: text
# uses the rest of NHS.UK's font stack, Arial then the system sans-serif, as the NHS.UK
# guidance allows where Frutiger is not available. See docs/security.md ("Fonts").
NHSUK_CSS = NHSUK_DIST / "nhsuk-frontend.min.css"
FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}")
STYLESHEET_NOTE = ("/* nhsuk-frontend without its web-font rules (Frutiger from the NHS.UK asset server is refused by "
                   "the CSP; text falls back to Arial, sans-serif). Built by api/templating.py. */\n")


@functools.cache
def nhsuk_stylesheet_text() -> str:
    css = FONT_FACE.sub("", NHSUK_CSS.read_text(encoding="utf-8"))
    if "assets.nhs.uk" in css:  # a new release loading something else from there: fail loudly, not in the console
        raise RuntimeError("nhsuk-frontend.min.css refers to assets.nhs.uk outside @font-face; update api/templating.py")
    return STYLESHEET_NOTE + css


@get("/static/nhsuk-frontend.css", exclude_from_auth=True, include_in_schema=False, sync_to_thread=False)
def nhsuk_stylesheet() -> Response[str]:
    return Response(nhsuk_stylesheet_text(), media_type="text/css; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=3600"})


def static_routers() -> list:
    routers = [nhsuk_stylesheet, create_static_files_router(path="/static/app", directories=[TEMPLATES / "static"], name="app-static",
                                          include_in_schema=False, opt={"exclude_from_auth": True})]
    if NHSUK_DIST.exists():
        routers.append(create_static_files_router(path="/static/nhsuk", directories=[NHSUK_DIST], name="nhsuk-static",
                                                  include_in_schema=False, opt={"exclude_from_auth": True}))
        # The NHS.UK stylesheet refers to its icons as /assets/images/...
        routers.append(create_static_files_router(path="/assets", directories=[NHSUK_DIST / "assets"],
                                                  name="nhsuk-assets", include_in_schema=False,
                                                  opt={"exclude_from_auth": True}))
    return routers
