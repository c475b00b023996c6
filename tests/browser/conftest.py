"""Browser tests: a real server on a fresh SQLite file, driven by Debian's chromium through Playwright.

- `server`: the app served by uvicorn in a thread on a free 127.0.0.1 port (one per session).
- `browser`: chromium from /usr/bin/chromium (`bash .ci/run` installs it with apt).
- `people`: a keyworker and a client with a fresh plan, unique to each test.
- `axe(page, name)`: runs axe-core (WCAG 2.2 A and AA rules) on the page and fails on any
  violation, printing them readably; `shoot(page, name)` saves a screenshot to
  test-artifacts/screenshots/.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import pytest

os.environ.setdefault("CAREPLANS_ARGON2_PROFILE", "cheapest")

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
PASSWORD = "browser-test-password-1"
SECRET = "browser-test-secret-" + "y" * 32
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    database_url: str


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    import uvicorn

    from api.app import create_app
    from api.settings import Settings
    from careplans.db import upgrade

    database_url = f"sqlite:///{tmp_path_factory.mktemp('browser-db') / 'careplans-browser.db'}"
    upgrade(database_url)
    port = _free_port()
    # Browsers send Host with the port; Litestar's allowed-hosts check compares the whole header.
    hosts = (*Settings().allowed_hosts, f"127.0.0.1:{port}")
    app = create_app(Settings(env="test", database_url=database_url, secret_key=SECRET, allowed_hosts=hosts))
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, name="careplans-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield Server(url=f"http://127.0.0.1:{port}", database_url=database_url)
    uv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser_engine(server: Server):
    from careplans.db import make_engine

    eng = make_engine(server.database_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def playwright_driver():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium); "
                    "`bash .ci/run` does this.", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_driver):
    b = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield b
    b.close()


@dataclass
class Person:
    username: str
    name: str
    id: str | None = None
    role: str | None = None

    def viewer(self):
        from careplans.policy import Principal

        return Principal(id=uuid.UUID(self.id), role=self.role, name=self.name)


@dataclass
class People:
    keyworker: Person
    client: Person
    client_name: str
    plan_id: str
    client_id: str


@pytest.fixture()
def people(browser_engine) -> People:
    """A keyworker and a client with a new plan, unique to this test."""
    from sqlalchemy.orm import Session

    from careplans.policy import Principal
    from careplans import commands, queries
    from careplans.services import accounts, clients

    tag = uuid.uuid4().hex[:8]
    with Session(browser_engine, expire_on_commit=False) as db:
        kw = accounts.create_user(db, f"kw-{tag}", PASSWORD, "keyworker", f"Sam Keyworker {tag[:4]}")
        cl = accounts.create_user(db, f"client-{tag}", PASSWORD, "client", f"Alex {tag[:4]}")
        kw_viewer = Principal(id=kw.id, role="keyworker", name=kw.display_name)
        client = clients.create_client(db, kw_viewer, preferred_name=f"Alex {tag[:4]}",
                                       date_of_birth=dt.date(1988, 6, 1), pronouns="they/them", user_id=cl.id)
        plan = commands.create_plan(db, kw_viewer, client["id"])
        db.commit()
        return People(keyworker=Person(kw.username, kw.display_name, str(kw.id), "keyworker"),
                      client=Person(cl.username, cl.display_name, str(cl.id), "client"),
                      client_name=client["preferred_name"], plan_id=plan.id, client_id=client["id"])


@pytest.fixture()
def fill_plan(browser_engine) -> Callable[[People], dict]:
    """fill_plan(people) → writes About me, two goals with steps and check-ins, the way the demo does."""
    from sqlalchemy.orm import Session

    from careplans import queries
    from careplans.services import goals

    def _fill(p: People) -> dict:
        client, kw = p.client.viewer(), p.keyworker.viewer()
        with Session(browser_engine, expire_on_commit=False) as db:
            v = queries.read_plan(db, kw, p.plan_id, audited=False).version
            v = goals.patch_plan(db, client, p.plan_id, v, {
                "what_matters": "My daughter, and getting back to football on Sundays.",
                "strengths": "Stubborn in a good way. I have stopped before and I know what it takes.",
                "what_helps": "Being told straight. Texts, not phone calls, before 10am.",
            }, None).version
            v = goals.patch_plan(db, kw, p.plan_id, v, {"contact_preferences": "Prefers texts; call them Alex."},
                                 None, "2027-03-01").version
            r, g1 = goals.add_goal(db, client, p.plan_id, v, {
                "title": "Get my own place with a lock on the door", "why": "So my daughter can stay over.",
                "area": "social_functioning", "target_date": "2027-06-01",
                "steps": [{"text": "Fill in the housing form together", "who_helps": "Sam", "when": "next Tuesday"},
                          {"text": "Ask the GP for a support letter", "who_helps": "me", "when": "this month"}]})
            r, g2 = goals.add_goal(db, client, p.plan_id, r.version, {
                "title": "Stay on a steady dose and stop topping up", "why": "I want my mornings back.",
                "area": "drug_alcohol_use"})
            v = r.version
            for rating, note in ((3, "Form started."), (5, None), (6, "Waiting on ID.")):
                v = goals.add_check_in(db, client, p.plan_id, g1.id, v, rating, note)[0].version
            db.commit()
        return {"version": v, "goal_ids": [g1.id, g2.id]}

    return _fill


@pytest.fixture()
def new_context(browser, server) -> Iterator[Callable[..., object]]:
    """new_context(**options) → a fresh browser context (own cookies) with the server as base URL.

    Any error in the console (a Content-Security-Policy refusal, a resource that failed to
    load, a script error) fails the test. The one error a page is meant to show is its own
    status: a page that answers 403, 404 or 422 on purpose is logged by chromium as
    "Failed to load resource" for that page's own address, and is not a fault."""
    opened = []
    problems: list[str] = []

    def _console(message) -> None:
        if message.type != "error":
            return
        text = message.text
        where = (message.location or {}).get("url", "")
        own_page = message.page is not None and where == message.page.url
        if own_page and text.startswith("Failed to load resource: the server responded with a status of 4"):
            return
        problems.append(f"console error at {where}: {text}")

    def _new(**options):
        options.setdefault("viewport", {"width": 1024, "height": 800})
        ctx = browser.new_context(base_url=server.url, **options)
        ctx.set_default_timeout(15_000)
        ctx.on("console", _console)
        ctx.on("weberror", lambda error: problems.append(f"script error: {error.error}"))
        opened.append(ctx)
        return ctx

    yield _new
    for ctx in opened:
        ctx.close()
    assert not problems, "problems in the browser:\n" + "\n".join(problems)


def log_in(page, person: Person, expect_path: str | None = None) -> None:
    page.goto("/login")
    page.fill("#username", person.username)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Log in')")
    page.wait_for_load_state()
    if expect_path:
        assert page.url.split("?")[0].endswith(expect_path), page.url


def _describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v.get('impact')}): {v['help']}  {v.get('helpUrl', '')}")
        for node in v.get("nodes", [])[:5]:
            lines.append(f"    at {', '.join(map(str, node.get('target', [])))}")
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            if summary:
                lines.append(f"       {summary[:300]}")
    return "\n".join(lines)


def axe(page, name: str) -> None:
    """axe-core on the page as it is now: 0 violations of the WCAG 2.2 A and AA rules."""
    # The app's CSP allows no inline script, so add_script_tag (which inlines the file) is
    # refused, as it should be. The same file is evaluated through the DevTools protocol.
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;true")
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        AXE_TAGS,
    )
    violations = result["violations"]
    assert not violations, f"axe found {len(violations)} accessibility problem(s) on {name} ({page.url}):\n" + \
        _describe(violations)


def shoot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def check(page, name: str, screenshot: bool = False) -> None:
    """Every page a test visits goes through axe; the main ones are also photographed."""
    axe(page, name)
    if screenshot:
        shoot(page, name)


def no_horizontal_scroll(page) -> tuple[int, int]:
    return tuple(page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]"))


def dump(value) -> str:  # pragma: no cover - debugging aid
    return json.dumps(value, indent=2, default=str)
