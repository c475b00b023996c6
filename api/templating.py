"""One Jinja environment (autoescape on) for pages and PDFs, and the static asset routes."""

from __future__ import annotations

from pathlib import Path

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, select_autoescape
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
NHSUK_DIST = ROOT / "node_modules" / "nhsuk-frontend" / "dist" / "nhsuk"


def make_environment() -> Environment:
    return Environment(
        loader=ChoiceLoader([FileSystemLoader(str(TEMPLATES)), PackageLoader("nhsuk_frontend_jinja", "templates")]),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


ENVIRONMENT = make_environment()


def template_config() -> TemplateConfig:
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(ENVIRONMENT))


def static_routers() -> list:
    routers = [create_static_files_router(path="/static/app", directories=[TEMPLATES / "static"], name="app-static",
                                          include_in_schema=False, opt={"exclude_from_auth": True})]
    if NHSUK_DIST.exists():
        routers.append(create_static_files_router(path="/static/nhsuk", directories=[NHSUK_DIST], name="nhsuk-static",
                                                  include_in_schema=False, opt={"exclude_from_auth": True}))
    return routers
