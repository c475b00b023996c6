"""Issue 9: every page a client sees uses plain, respectful words.

No word from this list appears in a client-facing template, in the words the vocabulary
gives clients, in the demo's text, or in any page the demo client can open."""

from __future__ import annotations

import ast
import html
import re
from pathlib import Path

import pytest

from careplans import demo, vocab

ROOT = Path(__file__).resolve().parents[2]
TERMS = ("addict", "addicts", "abuser", "abusers", "clean", "dirty", "non-compliant", "noncompliant",
         "substance misuser", "substance misusers", "service user", "service users", "offending",
         "social functioning", "titrate", "titrating", "titration")
PATTERN = re.compile(r"(?<![\w-])(" + "|".join(re.escape(t).replace(r"\ ", r"\s+") for t in TERMS) + r")(?![\w-])",
                     re.IGNORECASE)
# Pages only staff reach (their words are checked by people, not this list): the
# prescribing pages, the caseload and the staff start page.
STAFF_ONLY = {"prescribing/queue.html", "prescribing/review.html", "caseload.html", "home.html"}
# Vocabularies a client never reads: report words and role names.
NOT_FOR_CLIENTS = {"care plan domain", "role", "relation"}


def found(text: str) -> list[str]:
    return sorted({m.group(0).lower() for m in PATTERN.finditer(text)})


def test_the_check_catches_each_word():
    for term in TERMS:
        assert found(f"Some text with {term.upper()} in it.") == [term.lower()]
    assert found("Cleaner code in a social_functioning column") == []


def client_templates() -> list[Path]:
    base = ROOT / "templates"
    return [p for p in sorted(base.rglob("*.html")) if p.relative_to(base).as_posix() not in STAFF_ONLY]


@pytest.mark.parametrize("path", client_templates(), ids=lambda p: p.relative_to(ROOT / "templates").as_posix())
def test_client_facing_templates(path):
    assert found(path.read_text(encoding="utf-8")) == []


def test_words_the_vocabulary_gives_clients():
    bad = {}
    for name in dir(vocab):
        v = getattr(vocab, name)
        if isinstance(v, vocab.Vocabulary) and v.name not in NOT_FOR_CLIENTS:
            for t in v:
                hits = found(" | ".join((t.words, t.hint, t.phrase, t.mine)))
                if hits:
                    bad[f"{v.name}.{t.code}"] = hits
    assert bad == {}


def test_demo_text():
    tree = ast.parse((ROOT / "careplans" / "demo.py").read_text(encoding="utf-8"))
    codes = {c for v in vars(vocab).values() if isinstance(v, vocab.Vocabulary) for c in v.codes}
    texts = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
             and n.value not in codes]
    assert found("\n".join(texts)) == []


def _visible_text(page: str) -> str:
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_every_page_the_demo_client_opens(app, db, http):
    from tests.conftest import Api

    demo.load_demo(db)
    db.commit()
    client = Api(http, "demo-client", demo.DEMO_PASSWORD)
    plan_id = client.get("/api/me").json()["plan_id"]
    plan = client.plan(plan_id)
    goal_id = plan["goals"][0]["id"]
    paths = ["/my-plan", f"/plans/{plan_id}", f"/plans/{plan_id}/about-me", f"/plans/{plan_id}/goals/new",
             f"/plans/{plan_id}/goals/{goal_id}", f"/plans/{plan_id}/goals/{goal_id}/edit",
             f"/plans/{plan_id}/goals/{goal_id}/check-in", f"/plans/{plan_id}/history",
             f"/plans/{plan_id}/compare?from=1&to={plan['version']}", f"/plans/{plan_id}/versions/1",
             f"/plans/{plan_id}/agreement", f"/plans/{plan_id}/review-date", f"/plans/{plan_id}/who-viewed",
             f"/plans/{plan_id}/staying-safe", f"/plans/{plan_id}/choices"]
    bad = {}
    for path in paths:
        r = client.get(path)
        assert r.status_code == 200, (path, r.status_code)
        hits = found(_visible_text(r.text))
        if hits:
            bad[path] = hits
    assert bad == {}
