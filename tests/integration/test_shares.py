"""Copies of a plan and share links: what each audience's PDF holds (read back with pypdf),
the PDF's structure (tagged, /Lang, /Title, fonts embedded), hostile text that must never
fetch anything, the ETag cache, and share links (hashed tokens, expiry, revoke, passcode,
every open audited)."""

from __future__ import annotations

import datetime as dt
import hashlib
import http.server
import io
import re
import threading
import uuid
from collections import Counter

import pytest
from pypdf import PdfReader
from sqlalchemy import select, update

from careplans import pdf as pdf_render
from careplans.models import AuditEvent, Share

ABOUT = "ABOUT-what-matters-words"
GOAL = "GOAL-title-get-my-own-flat"
WHY = "WHY-so-my-daughter-can-stay"
CHOICE_VIEW = "CHOICEVIEW-cannot-get-to-the-chemist"
RATIONALE = "RATIONALE-settled-on-this-dose"
EXPLAIN = "EXPLAIN-methadone-at-the-pharmacy"
PHARMACY = "PHARMACYNAME-High-Street"
SAFE_NOTES = "SAFENOTES-carry-naloxone-at-night"


def methadone(version: int) -> dict:
    return {"option": "methadone", "product": "methadone_oral_solution", "dose_mg": 60, "frequency": "daily",
            "supervision": "supervised_consumption", "decision": "approved", "rationale": RATIONALE,
            "client_explanation": EXPLAIN, "pharmacy": PHARMACY, "instalment_days": 1, "plan_version": version}


@pytest.fixture()
def filled(world, as_):
    """Plan a with words in every section, a prescribing decision and naloxone supplied."""
    pid = world.plan_ids["a"]
    kw, client, clinician = as_("keyworker_a"), as_("client_a"), as_("clinician_a")
    v = client.plan(pid)["version"]
    r = client.patch(f"/api/plans/{pid}", {"about_me": {"what_matters": ABOUT}}, version=v)
    assert r.status_code == 200, r.text
    v = r.json()["version"]
    r = client.post(f"/api/plans/{pid}/goals", {"title": GOAL, "why": WHY, "area": "social_functioning"}, version=v)
    assert r.status_code == 201, r.text
    goal_id, v = r.json()["id"], r.json()["plan_version"]
    r = client.post(f"/api/plans/{pid}/goals/{goal_id}/check-ins", {"rating": 6, "note": "CHECKIN-note"}, version=v)
    v = r.json()["plan_version"]
    r = kw.post(f"/api/plans/{pid}/choices", {"option": "methadone", "information_given": True,
                                              "discussed_on": "2026-11-01", "client_view": CHOICE_VIEW,
                                              "preference": "preferred"}, version=v)
    assert r.status_code == 201, r.text
    v = r.json()["plan_version"]
    r = kw.patch(f"/api/plans/{pid}", {"staying_safe": {"naloxone": {"offered": True, "supplied": True,
                                                                     "product": "nyxoid"},
                                                        "notes": SAFE_NOTES}}, version=v)
    assert r.status_code == 200, r.text
    v = r.json()["version"]
    r = clinician.post(f"/api/plans/{pid}/prescribing", methadone(v))
    assert r.status_code == 201, r.text
    return {"pid": pid, "client": client, "kw": kw, "clinician": clinician, "goal_id": goal_id}


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def get_pdf(api, pid: str, query: str = "audience=client", **kw):
    r = api.get(f"/api/plans/{pid}/pdf?{query}", **kw)
    return r


# --- what each audience's copy holds -------------------------------------------------------------------

EVERY_WORD = [ABOUT, GOAL, WHY, CHOICE_VIEW, EXPLAIN, PHARMACY, SAFE_NOTES]
EXPECT = {
    # query: (must contain, must not contain)
    "audience=client": ([ABOUT, GOAL, WHY, CHOICE_VIEW, EXPLAIN, PHARMACY, SAFE_NOTES, "Methadone"], []),
    "audience=gp": ([GOAL, WHY, CHOICE_VIEW, EXPLAIN, SAFE_NOTES, "Methadone", "60 mg"], [ABOUT]),
    "audience=pharmacy": (["Methadone", "60 mg", "Supervision", "Pick-up", "Naloxone supplied: Yes"],
                          [ABOUT, GOAL, WHY, CHOICE_VIEW, EXPLAIN, SAFE_NOTES, RATIONALE, "CHECKIN-note"]),
    "audience=custom&sections=goals": ([GOAL, WHY], [ABOUT, CHOICE_VIEW, EXPLAIN, PHARMACY, SAFE_NOTES,
                                                      "Methadone"]),
    "audience=gp&sections=prescribing": (["Methadone", EXPLAIN], [ABOUT, GOAL, CHOICE_VIEW, SAFE_NOTES]),
}


@pytest.mark.parametrize("query", list(EXPECT))
def test_each_audience_copy_holds_only_what_it_may(filled, query):
    r = get_pdf(filled["client"], filled["pid"], query)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/pdf")
    text = flat(pdf_text(r.content))
    must, must_not = EXPECT[query]
    for word in must:
        assert flat(word) in text, f"{query}: {word!r} missing"
    for word in must_not:
        assert flat(word) not in text, f"{query}: {word!r} must not be in this copy"
    # Rationale is the clinician's note to the team: no copy carries it.
    assert flat(RATIONALE) not in text
    plan = filled["client"].plan(filled["pid"])
    assert flat(f"fingerprint {plan['fingerprint'][:12]}") in text
    assert flat(f"version {plan['version']}") in text
    assert "Page1of" in text


def test_pdf_is_tagged_titled_in_english_with_fonts_embedded(filled):
    r = get_pdf(filled["client"], filled["pid"], "audience=gp")
    reader = PdfReader(io.BytesIO(r.content))
    root = reader.trailer["/Root"]
    assert "/StructTreeRoot" in root, "a tagged PDF has a structure tree"
    assert bool(root["/MarkInfo"]["/Marked"])
    assert root["/Lang"] == "en-GB"
    assert reader.metadata.title == "Person A’s care plan, version %d" % filled["client"].plan(filled["pid"])["version"]
    assert "/EmbeddedFiles" not in (root.get("/Names") or {})
    fonts = 0
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts")
            descriptor = (descendants[0].get_object() if descendants else font)["/FontDescriptor"]
            assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), font["/BaseFont"]
            assert "Atkinson" in font["/BaseFont"], f"only the bundled font is used: {font['/BaseFont']}"
            fonts += 1
    assert fonts >= 1
    # Headings are tagged as headings, in order.
    kinds = Counter()

    def walk(node):
        node = node.get_object()
        if isinstance(node, dict) or hasattr(node, "get"):
            kind = node.get("/S")
            if kind is not None:
                kinds[str(kind)] += 1
            kids = node.get("/K")
            if kids is not None:
                for kid in (kids if isinstance(kids, list) else [kids]):
                    if hasattr(kid, "get_object") and hasattr(kid.get_object(), "get"):
                        walk(kid)

    walk(root["/StructTreeRoot"])
    assert kinds["/H1"] == 1 and kinds["/H2"] >= 3


def _body_sizes(content: bytes) -> Counter:
    sizes: Counter = Counter()

    def visit(text, cm, tm, font, size):
        if text.strip():
            sizes[round(size * abs(tm[0]) * abs(cm[0]), 1)] += len(text.strip())

    for page in PdfReader(io.BytesIO(content)).pages:
        page.extract_text(visitor_text=visit)
    return sizes


def test_large_print_copy_is_at_least_18_point(filled):
    normal = get_pdf(filled["client"], filled["pid"], "audience=client").content
    large = get_pdf(filled["client"], filled["pid"], "audience=client&large_print=1").content
    body_normal = _body_sizes(normal).most_common(1)[0][0]
    body_large = _body_sizes(large).most_common(1)[0][0]
    assert body_normal < 18 <= body_large, (body_normal, body_large)
    assert len(PdfReader(io.BytesIO(large)).pages) > len(PdfReader(io.BytesIO(normal)).pages)


def test_preview_page_is_the_copy(filled):
    client = filled["client"]
    r = client.get(f"/plans/{filled['pid']}/share/preview?audience=pharmacy")
    assert r.status_code == 200
    assert "Methadone" in r.text and GOAL not in r.text and ABOUT not in r.text and EXPLAIN not in r.text
    r = client.get(f"/plans/{filled['pid']}/share/preview?audience=gp")
    assert GOAL in r.text and ABOUT not in r.text


def test_copies_are_scoped_and_audited(filled, as_, db):
    pid = filled["pid"]
    assert get_pdf(as_("client_b"), pid).status_code == 404
    assert get_pdf(as_("keyworker_b"), pid).status_code == 404
    assert get_pdf(as_("auditor"), pid).status_code == 403
    assert get_pdf(filled["client"], pid, "audience=keyworker").status_code == 422
    assert get_pdf(filled["client"], pid, "audience=custom&sections=nonsense").status_code == 422
    before = db.execute(select(AuditEvent.seq).where(AuditEvent.plan_id == pid, AuditEvent.action == "plan.pdf.read")
                        ).all()
    db.rollback()
    get_pdf(filled["client"], pid, "audience=gp")
    after = db.execute(select(AuditEvent.seq).where(AuditEvent.plan_id == pid, AuditEvent.action == "plan.pdf.read")
                       ).all()
    assert len(after) == len(before) + 1


# --- hostile text ----------------------------------------------------------------------------------------

class _Listener:
    def __init__(self) -> None:
        self.hits: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                outer.hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "text/css")
                self.end_headers()
                self.wfile.write(b"body{}")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def corpus(port: int) -> list[str]:
    base = f"http://127.0.0.1:{port}"
    return [
        '<a rel="attachment" href="file:///etc/passwd">passwd</a>',
        f'<style>@import url("{base}/import.css");</style>',
        f'<img src="{base}/img.png" alt="x">',
        f'<svg xmlns="http://www.w3.org/2000/svg"><image href="{base}/svg-image.png" width="9" height="9"/></svg>',
        '<link rel="attachment" href="file:///etc/passwd">',
        f'<object data="{base}/object"></object><iframe src="{base}/iframe"></iframe>',
    ]


def test_fetcher_refuses_everything_but_bundled_fonts_even_in_raw_html():
    """The renderer itself, given the corpus as markup (as if escaping failed): nothing is fetched."""
    with _Listener() as listener:
        html = ("<!doctype html><html lang='en-GB'><head><title>t</title><style>"
                f"@import url('http://127.0.0.1:{listener.port}/top.css');"
                "@font-face{font-family:X;src:url(file:///etc/passwd)}</style></head><body>"
                + "".join(corpus(listener.port)) + "</body></html>")
        content, refused = pdf_render.render_pdf_bytes(html)
        assert listener.hits == []
    assert any(u.startswith("file:///etc/passwd") for u in refused)
    assert any("127.0.0.1" in u for u in refused)
    reader = PdfReader(io.BytesIO(content))
    assert "/EmbeddedFiles" not in (reader.trailer["/Root"].get("/Names") or {})
    assert "root:" not in pdf_text(content)
    # The bundled fonts are served; nothing else.
    fetch = pdf_render.fetcher()
    with pytest.raises(ValueError):
        fetch.fetch("file:///etc/passwd")
    with pytest.raises(ValueError):
        fetch.fetch("data:text/css,body{}")
    assert fetch.allowed, "the bundled fonts are installed (npm ci)"
    assert fetch.fetch(next(iter(fetch.allowed))).read()[:4] == b"\x00\x01\x00\x00"  # TrueType, from the WOFF2


def test_hostile_text_in_every_free_text_field_fetches_nothing(world, as_):
    pid = world.plan_ids["a"]
    client, kw, clinician = as_("client_a"), as_("keyworker_a"), as_("clinician_a")
    with _Listener() as listener:
        words = " ".join(corpus(listener.port))
        v = client.plan(pid)["version"]
        about = {k: words for k in ("what_matters", "strengths", "what_helps", "what_does_not_help",
                                    "contact_preferences", "important_people")}
        r = client.patch(f"/api/plans/{pid}", {"about_me": about}, version=v)
        assert r.status_code == 200, r.text
        v = r.json()["version"]
        r = client.post(f"/api/plans/{pid}/goals", {"title": words[:200], "why": words, "area": "health",
                                                    "steps": [{"text": words[:1000], "who_helps": words[:200],
                                                               "when": words[:200]}]}, version=v)
        assert r.status_code == 201, r.text
        goal_id, v = r.json()["id"], r.json()["plan_version"]
        r = client.post(f"/api/plans/{pid}/goals/{goal_id}/check-ins", {"rating": 3, "note": words}, version=v)
        assert r.status_code == 201, r.text
        v = r.json()["plan_version"]
        r = kw.post(f"/api/plans/{pid}/choices", {"option": "methadone", "information_given": True,
                                                  "discussed_on": "2026-11-01", "client_view": words,
                                                  "preference": words, "outcome": "declined", "reason": words},
                    version=v)
        assert r.status_code == 201, r.text
        v = r.json()["plan_version"]
        r = kw.patch(f"/api/plans/{pid}", {"staying_safe": {
            "naloxone": {"offered": True, "supplied": True, "supplied_by": words[:200]}, "notes": words,
            "overdose_risk_moments": [{"kind": "prison_release", "note": words}]}}, version=v)
        assert r.status_code == 200, r.text
        v = r.json()["version"]
        body = {**methadone(v), "rationale": words, "client_explanation": words, "pharmacy": words[:200]}
        r = clinician.post(f"/api/plans/{pid}/prescribing", body)
        assert r.status_code == 201, r.text
        contents = [get_pdf(client, pid, q).content
                    for q in ("audience=client", "audience=gp", "audience=pharmacy", "audience=client&large_print=1")]
        share = client.post(f"/api/plans/{pid}/shares", {"audience": "gp"}).json()
        contents.append(as_("client_b").client.get(share["url"]).content)
        preview = client.get(f"/plans/{pid}/share/preview?audience=client").text
        assert listener.hits == [], f"the renderer fetched {listener.hits}"
    for content in contents:
        reader = PdfReader(io.BytesIO(content))
        assert "/EmbeddedFiles" not in (reader.trailer["/Root"].get("/Names") or {})
        text = pdf_text(content)
        assert "root:x:0:0" not in text
    client_text = flat(pdf_text(contents[0]))
    for fragment in ('<a rel="attachment" href="file:///etc/passwd">', "<img src=", "@import url(",
                     "<svg xmlns=", '<link rel="attachment"'):
        assert flat(fragment) in client_text, f"{fragment!r} shows as literal text"
    assert "&lt;img src=" in preview and "<img src=\"http://127.0.0.1" not in preview


# --- cache ------------------------------------------------------------------------------------------------

def test_same_copy_is_served_byte_identical_with_etag_and_304(filled):
    client, pid = filled["client"], filled["pid"]
    first = get_pdf(client, pid, "audience=gp")
    second = get_pdf(client, pid, "audience=gp")
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    etag = first.headers["etag"]
    assert etag == second.headers["etag"]
    r = get_pdf(client, pid, "audience=gp", headers={"If-None-Match": etag})
    assert r.status_code == 304 and r.content == b""
    assert get_pdf(client, pid, "audience=pharmacy").headers["etag"] != etag
    assert get_pdf(client, pid, "audience=gp&large_print=1").headers["etag"] != etag
    v = client.plan(pid)["version"]
    assert client.patch(f"/api/plans/{pid}", {"next_review_date": "2027-03-01"}, version=v).status_code == 200
    changed = get_pdf(client, pid, "audience=gp", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert flat(f"version {v + 1}") in flat(pdf_text(changed.content))


# --- shares ---------------------------------------------------------------------------------------------------

def _path(url: str) -> str:
    return "/" + url.split("://", 1)[-1].split("/", 1)[1]


def test_share_link_token_is_random_hashed_and_each_open_is_audited(filled, http, db):
    client, pid = filled["client"], filled["pid"]
    r = client.post(f"/api/plans/{pid}/shares", {"audience": "pharmacy"})
    assert r.status_code == 201, r.text
    body = r.json()
    token = body["url"].rsplit("/s/", 1)[1]
    assert len(token) >= 43  # 256 bits, URL-safe base64
    row = db.execute(select(Share).where(Share.id == uuid.UUID(body["id"]))).scalar_one()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    raw = db.execute(select(Share.__table__).where(Share.__table__.c.id == row.id)).one()
    assert all(token not in str(value) for value in raw)
    events = db.execute(select(AuditEvent.detail).where(AuditEvent.plan_id == pid)).scalars().all()
    assert not any(token in d for d in events)
    expires = dt.datetime.fromisoformat(body["expires_at"])
    assert dt.timedelta(days=13, hours=23) < expires - dt.datetime.now(dt.timezone.utc) <= dt.timedelta(days=14)

    http.cookies.clear()
    opened = http.get(f"/s/{token}")
    assert opened.status_code == 200 and opened.headers["content-type"].startswith("application/pdf")
    text = flat(pdf_text(opened.content))
    assert "Methadone" in text and flat(GOAL) not in text
    assert http.get(f"/s/{token}").status_code == 200
    listed = client.get(f"/api/plans/{pid}/shares").json()
    mine = next(s for s in listed if s["id"] == body["id"])
    assert mine["state"] == "live" and len(mine["uses"]) == 2
    log = client.get(f"/api/plans/{pid}/access-log").json()
    items = log["items"] if isinstance(log, dict) else log
    assert sum(1 for e in items if e["action"] == "share.open") == 2
    assert any(e["what"] == "opened a copy you shared by link" for e in items)
    assert http.get(f"/s/{token[:-1]}x").status_code == 404
    assert http.get("/s/not-a-token").status_code == 404


def test_revoked_and_expired_links_are_not_found(filled, http, db, as_):
    client, pid = filled["client"], filled["pid"]
    a = client.post(f"/api/plans/{pid}/shares", {"audience": "gp"}).json()
    b = client.post(f"/api/plans/{pid}/shares", {"audience": "gp"}).json()
    http.cookies.clear()
    assert http.get(_path(a["url"])).status_code == 200
    assert as_("client_b").delete(f"/api/shares/{a['id']}").status_code == 404
    assert as_("keyworker_b").delete(f"/api/shares/{a['id']}").status_code == 404
    assert as_("clinician_a").delete(f"/api/shares/{a['id']}").status_code == 403
    assert client.delete(f"/api/shares/{a['id']}").status_code == 204
    assert http.get(_path(a["url"])).status_code == 404
    db.execute(update(Share).where(Share.id == uuid.UUID(b["id"]))
               .values(expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)))
    db.commit()
    assert http.get(_path(b["url"])).status_code == 404
    states = {s["id"]: s["state"] for s in client.get(f"/api/plans/{pid}/shares").json()}
    assert states[a["id"]] == "revoked" and states[b["id"]] == "expired"


def test_share_input_rules(filled, as_):
    client, kw, pid = filled["client"], filled["kw"], filled["pid"]
    far = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=91)).isoformat()
    assert client.post(f"/api/plans/{pid}/shares", {"audience": "gp", "expires_at": far}).status_code == 422
    past = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)).isoformat()
    assert client.post(f"/api/plans/{pid}/shares", {"audience": "gp", "expires_at": past}).status_code == 422
    ninety = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=90)).isoformat()
    assert client.post(f"/api/plans/{pid}/shares", {"audience": "gp", "expires_at": ninety}).status_code == 201
    assert client.post(f"/api/plans/{pid}/shares", {"audience": "client"}).status_code == 422
    assert client.post(f"/api/plans/{pid}/shares", {"audience": "custom"}).status_code == 422
    assert client.post(f"/api/plans/{pid}/shares", {"audience": "gp", "token": "x"}).status_code == 422
    assert as_("client_b").post(f"/api/plans/{pid}/shares", {"audience": "gp"}).status_code == 404
    assert as_("clinician_a").post(f"/api/plans/{pid}/shares", {"audience": "gp"}).status_code == 403
    # A keyworker only together with the client; the share records both.
    r = kw.post(f"/api/plans/{pid}/shares", {"audience": "gp"})
    assert r.status_code == 422 and "together with the client" in r.text
    r = kw.post(f"/api/plans/{pid}/shares", {"audience": "gp", "with_client": True})
    assert r.status_code == 201
    listed = {s["id"]: s for s in client.get(f"/api/plans/{pid}/shares").json()}
    assert listed[r.json()["id"]]["created_by_role"] == "keyworker" and listed[r.json()["id"]]["with_client"]


def test_passcode_attempts_are_limited(filled, http):
    client, pid = filled["client"], filled["pid"]
    share = client.post(f"/api/plans/{pid}/shares", {"audience": "gp", "passcode": "blue-kettle"}).json()
    path = _path(share["url"])
    http.cookies.clear()
    form = http.get(path)
    assert form.status_code == 200 and "Enter the passcode" in form.text
    ok = http.post(path, data={"passcode": "blue-kettle"})
    assert ok.status_code == 200 and ok.headers["content-type"].startswith("application/pdf")
    for attempt in range(1, 5):
        wrong = http.post(path, data={"passcode": "wrong"})
        assert wrong.status_code == 401 and f"{5 - attempt} tr" in wrong.text
    assert http.post(path, data={"passcode": "wrong"}).status_code == 404
    assert http.post(path, data={"passcode": "blue-kettle"}).status_code == 404
    states = {s["id"]: s["state"] for s in client.get(f"/api/plans/{pid}/shares").json()}
    assert states[share["id"]] == "locked"


def test_share_serves_the_version_shared_and_says_when_the_plan_changed(filled, http):
    client, pid = filled["client"], filled["pid"]
    shared_version = client.plan(pid)["version"]
    share = client.post(f"/api/plans/{pid}/shares", {"audience": "custom", "sections": ["about_me"]}).json()
    r = client.patch(f"/api/plans/{pid}", {"about_me": {"what_matters": "NEWER-words"}}, version=shared_version)
    assert r.status_code == 200
    http.cookies.clear()
    text = flat(pdf_text(http.get(_path(share["url"])).content))
    assert flat(ABOUT) in text and "NEWER-words" not in text
    assert flat(f"version {shared_version}") in text
    assert flat("The plan has changed since this was shared") in text


def test_page_images_of_each_audience(filled):
    """Page images of each audience's copy in test-artifacts/pdf/, to look at; none is blank."""
    import pypdfium2

    from tests.browser.conftest import ROOT

    out = ROOT / "test-artifacts" / "pdf"
    out.mkdir(parents=True, exist_ok=True)
    for query, name in (("audience=client", "client"), ("audience=gp", "gp"), ("audience=pharmacy", "pharmacy"),
                        ("audience=custom&sections=goals,staying_safe", "custom"),
                        ("audience=client&large_print=1", "client-large-print")):
        document = pypdfium2.PdfDocument(get_pdf(filled["client"], filled["pid"], query).content)
        for number in range(min(len(document), 2)):
            image = document[number].render(scale=1.3).to_pil()
            image.save(out / f"{name}-page-{number + 1}.png")
            assert sum(1 for n in image.convert("L").resize((60, 85)).histogram() if n) > 5, f"{name} page {number + 1} is blank"
        document.close()


def test_only_answers_marked_shareable_reach_a_copy(filled):
    """Assessments: a `shareable` answer is printed on the GP copy and the client's own copy,
    a care-team or only-me answer never is, and the pharmacy copy holds no answers."""
    client, pid = filled["client"], filled["pid"]
    version = client.plan(pid)["version"]
    r = client.post(f"/api/plans/{pid}/assessments", {"questionnaire": "feel_safe", "answers": [
        {"question": "safer_times", "value": "SHAREABLE-mornings before eleven", "visibility": "shareable"},
        {"question": "safer_places", "value": "CARETEAM-room near the door", "visibility": "care_team"},
        {"question": "hard_other", "value": "ONLYME-blinds down", "visibility": "only_me"}]}, version=version)
    assert r.status_code == 201, r.text
    for query, shows in (("audience=gp", True), ("audience=client", True), ("audience=pharmacy", False)):
        text = flat(pdf_text(get_pdf(client, pid, query).content))
        assert (flat("SHAREABLE-mornings before eleven") in text) is shows, query
        assert flat("CARETEAM-room") not in text and flat("ONLYME-blinds") not in text, query
