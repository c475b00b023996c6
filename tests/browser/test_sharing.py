"""Share my plan, in the browser, on a 320 px screen with the keyboard alone: preview a copy,
make a link, copy it, open it as the recipient, stop it, and download my own copy."""

from __future__ import annotations

import io

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from tests.browser.conftest import check, log_in, no_horizontal_scroll, shoot
from tests.browser.test_keyboard_and_no_js import FOCUSED, tab_to

pytestmark = pytest.mark.browser
# Making a PDF on a busy machine (worker processes starting, other suites running) can take
# far longer than a page: wait for it rather than fail.
RENDER_MS = 120_000


def test_client_shares_and_stops_a_link_with_the_keyboard_on_a_small_screen(new_context, people, fill_plan, browser,
                                                                           server):
    fill_plan(people)
    ctx = new_context(viewport={"width": 320, "height": 720}, accept_downloads=True)
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    page = ctx.new_page()
    log_in(page, people.client, "/my-plan")

    tab_to(page, "Share my plan")
    page.keyboard.press("Enter")
    page.wait_for_url("**/share")
    check(page, "share-320", screenshot=True)
    width, client_width = no_horizontal_scroll(page)
    assert width <= client_width

    # Preview what the GP gets: the GP copy holds goals, never About me.
    tab_to(page, "Preview what the GP will get")
    page.keyboard.press("Enter")
    page.wait_for_url("**/share/preview?audience=gp")
    main = page.inner_text("main")
    assert "Get my own place with a lock on the door" in main
    assert "getting back to football" not in main
    check(page, "share-preview-gp-320", screenshot=True)
    tab_to(page, "Back to sharing")
    page.keyboard.press("Enter")
    page.wait_for_url("**/share")

    # Make a link for the GP.
    tab_to(page, "audience-1")
    page.keyboard.press("Space")
    tab_to(page, "Make the link")
    page.keyboard.press("Enter")
    page.wait_for_selector("#share-link")
    url = page.input_value("#share-link")
    assert "/s/" in url
    check(page, "share-created-320", screenshot=True)
    tab_to(page, "Copy link")
    page.keyboard.press("Enter")
    # A locator assertion, not wait_for_function: that compiles its predicate with eval in the
    # page, which the Content-Security-Policy (script-src 'self') refuses once it has to poll.
    expect(page.locator("#share-link-status")).to_contain_text("copied", timeout=15000)
    assert page.evaluate("navigator.clipboard.readText()") == url

    # The recipient opens it without logging in.
    recipient = browser.new_context()
    try:
        opened = recipient.request.get(url, timeout=RENDER_MS)
        assert opened.status == 200 and opened.headers["content-type"].startswith("application/pdf")
        text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(opened.body())).pages)
        assert "Get my own place" in text and "football" not in text
    finally:
        recipient.close()

    # It shows as opened once; stop it.
    page.goto("/plans/" + people.plan_id + "/share")
    assert "Opened 1 time" in page.inner_text("#share-list")
    tab_to(page, "Stop this link")
    page.keyboard.press("Enter")
    page.wait_for_url("**/share?saved=revoked")
    assert "Stopped" in page.inner_text("#share-list")
    shoot(page, "share-stopped-320")
    recipient = browser.new_context()
    try:
        assert recipient.request.get(url, timeout=RENDER_MS).status == 404
    finally:
        recipient.close()

    # Download my own copy.
    page.goto("/plans/" + people.plan_id + "/share")
    tab_to(page, "Download my copy (PDF)")
    assert "Download my copy" in page.evaluate(FOCUSED)
    with page.expect_download(timeout=RENDER_MS) as download:
        page.keyboard.press("Enter")
    path = download.value.path()
    with open(path, "rb") as f:
        content = f.read()
    assert content.startswith(b"%PDF")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)
    assert "getting back to football" in text.replace("\n", " ")


def test_share_pages_at_375px_for_each_role(new_context, people, fill_plan):
    fill_plan(people)
    ctx = new_context(viewport={"width": 375, "height": 800})
    page = ctx.new_page()
    log_in(page, people.keyworker)
    page.goto(f"/plans/{people.plan_id}/share")
    assert "is with me and wants to share this" in page.inner_text("main")
    check(page, "share-keyworker-375", screenshot=True)
    page.click("text=Make the link")
    page.wait_for_load_state()
    assert "There is a problem" in page.inner_text("main")
    check(page, "share-keyworker-errors-375", screenshot=True)
    for audience in ("client", "pharmacy", "custom"):
        page.goto(f"/plans/{people.plan_id}/share/preview?audience={audience}")
        check(page, f"share-preview-{audience}-375", screenshot=True)
