"""The NHS.UK stylesheet is served without remote fonts, so the CSP has nothing to refuse (issue 10, item 8)."""

from __future__ import annotations

from api.app import CSP


def test_the_stylesheet_loads_nothing_from_another_site(http):
    r = http.get("/static/nhsuk-frontend.css")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/css")
    css = r.text
    assert "@font-face" not in css and "https://" not in css, "remote fonts would be refused by the CSP"
    assert ".nhsuk-header" in css and "Arial" in css  # the design system itself, with its fallback fonts
    assert "font-src 'self'" in CSP


def test_pages_link_the_served_stylesheet(http):
    page = http.get("/login").text
    assert '<link rel="stylesheet" href="/static/nhsuk-frontend.css">' in page
    assert "nhsuk-frontend.min.css" not in page
