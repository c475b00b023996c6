"""Every form on every page, sent with odd values, gets a clear answer and never a 500 (issue 10,
item 1). Schemathesis (test_fuzz_api.py) covers the JSON API from its schema; pages have no
schema, so this crawls them as each role, finds each form, and sends it again with one field
at a time replaced by something people (or attackers) do type: nothing, "²", a number too
large for any column, other scripts' digits, an impossible date, very long text, markup, a
field sent twice.
"""

from __future__ import annotations

import os
import time
from html.parser import HTMLParser
from urllib.parse import urlencode, urlsplit

from tests.conftest import Api

ODD = ["", "²", "9" * 25, "2026-13-45", "x" * 5000]
FIELDS_PER_FORM = 6  # the options form has a hundred fields and a page that takes a while to render
SKIP_ACTIONS = ("/logout", "/deactivate", "/account/password", "/s/")
MAX_PAGES = 60
# Some pages take a good part of a second to render again with their errors: the run stops
# sending after this many seconds (CAREPLANS_FORM_FUZZ_SECONDS), having done whole forms.
BUDGET = float(os.environ.get("CAREPLANS_FORM_FUZZ_SECONDS", "60"))


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.forms: list[dict] = []
        self._form: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href", "").startswith("/"):
            self.links.append(a["href"].split("#")[0])
        elif tag == "form":
            self._form = {"action": a.get("action") or "", "method": (a.get("method") or "get").lower(), "fields": []}
            self.forms.append(self._form)
        elif self._form is not None and tag in ("input", "textarea", "select") and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                self._form["fields"].append((a["name"], a.get("value", ""), False))
            else:
                self._form["fields"].append((a["name"], a.get("value") or "", True))

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None


def _crawl(api: Api, starts: list[str]) -> dict[tuple[str, str], tuple[str, dict]]:
    """(method, action) → (page it was on, the form) for every form reachable from `starts`."""
    seen: set[str] = set()
    queue = list(starts)
    forms: dict[tuple[str, str], tuple[str, dict]] = {}
    while queue and len(seen) < MAX_PAGES:
        url = queue.pop(0)
        path = urlsplit(url).path
        if url in seen or path.startswith(("/static", "/assets", "/api/", "/s/")) or path.endswith((".zip", ".pdf", ".csv")) \
                or "/logout" in path:
            continue
        seen.add(url)
        r = api.get(url)
        assert r.status_code < 500, (url, r.status_code)
        if "text/html" not in r.headers.get("content-type", ""):
            continue
        parser = _Page()
        parser.feed(r.text)
        queue += [link for link in parser.links if link not in seen]
        for form in parser.forms:
            action = form["action"] or path
            if not action.startswith(SKIP_ACTIONS) and not any(s in action for s in SKIP_ACTIONS):
                forms.setdefault((form["method"], urlsplit(action).path), (url, form))
    return forms


def _send(api: Api, method: str, action: str, pairs: list[tuple[str, str]]):
    if method == "get":
        return api.client.get(f"{action}?{urlencode(pairs)}")
    return api.client.post(action, content=urlencode(pairs).encode(), follow_redirects=False,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})


def test_every_form_answers_odd_values_without_a_server_error(as_, world, db):
    from careplans.services import goals

    pid = world.plan_ids["a"]
    goals.add_goal(db, world.viewer("keyworker_a"), pid, 1, {"title": "Walk each morning", "area": "health"})
    db.commit()
    sent = 0
    failures: list[str] = []
    done: set[tuple[str, str]] = set()  # each form once, by the first role that reaches it
    stop = time.monotonic() + BUDGET
    for key in ("keyworker_a", "client_a", "clinician_a", "auditor", "admin"):
        api = as_(key)
        forms = _crawl(api, ["/", f"/plans/{pid}", "/audit", "/admin", "/prescribing/queue"])
        for (method, action), (page, form) in sorted(forms.items()):
            shape = (method, action.replace(pid, "{plan}"))
            if shape in done or time.monotonic() > stop:
                continue
            done.add(shape)
            base = [(name, value) for name, value, on in form["fields"] if on]
            names = sorted({name for name, _, _ in form["fields"] if name != "_csrf_token"})
            names = names[::max(1, len(names) // FIELDS_PER_FORM)][:FIELDS_PER_FORM]
            for name in names:
                others = [(n, v) for n, v in base if n != name]
                for value in ODD + [None]:
                    pairs = others + ([(name, "1"), (name, "2")] if value is None else [(name, value)])
                    r = _send(api, method, action, pairs)
                    sent += 1
                    if r.status_code >= 500:
                        failures.append(f"{key}: {method.upper()} {action} {name}={value!r:.40} → {r.status_code}")
                    if r.status_code == 401:  # a form that ended the session: log in again
                        api = as_(key)
    print(f"\nform fuzz: {sent} requests to {len(done)} forms, {len(failures)} server errors")
    assert len(done) >= 5 and sent > 100
    assert not failures, "\n".join(failures[:30])
