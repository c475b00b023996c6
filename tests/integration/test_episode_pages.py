"""The treatment dates page: the keyworker records referral, triage, consent, leaving
treatment and interventions; the administrator the dates only; nobody else reaches it."""

from __future__ import annotations

import datetime as dt

from tests.integration.test_admin import CSRF_FIELD


def _date(prefix: str, day: dt.date | None) -> dict[str, str]:
    if day is None:
        return {f"{prefix}[{p}]": "" for p in ("day", "month", "year")}
    return {f"{prefix}[day]": str(day.day), f"{prefix}[month]": str(day.month), f"{prefix}[year]": str(day.year)}


def test_keyworker_records_the_episode_and_interventions(as_, world):
    kw = as_("keyworker_a")
    cid, pid = world.client_ids["a"], world.plan_ids["a"]
    assert f'href="/clients/{cid}/episode"' in kw.get(f"/plans/{pid}").text
    page = kw.get(f"/clients/{cid}/episode")
    assert page.status_code == 200 and "Treatment dates for Person A" in page.text
    token = CSRF_FIELD.search(page.text).group(1)
    today = dt.date.today()
    form = {**_date("referral_date", today - dt.timedelta(days=9)), **_date("triage_date", today - dt.timedelta(days=8)),
            **_date("discharged_on", None), "discharge_reason": "", "consent_to_report": "yes", "_csrf_token": token}
    r = kw.client.post(f"/clients/{cid}/episode", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    episode = kw.get(f"/api/clients/{cid}/episode").json()
    assert episode["referral_date"] == (today - dt.timedelta(days=9)).isoformat()
    assert episode["consent_to_report"] is True

    # leaving treatment without a reason: refused, naming the field, what was typed kept
    bad = {**form, **_date("discharged_on", today)}
    r = kw.client.post(f"/clients/{cid}/episode", data=bad, follow_redirects=False)
    assert r.status_code == 422 and "Give the reason the person left treatment." in r.text
    assert 'href="#discharge_reason"' in r.text

    r = kw.client.post(f"/clients/{cid}/interventions", follow_redirects=False, data={
        "intervention_type": "psychosocial", "setting": "community", **_date("start_date", today - dt.timedelta(days=7)),
        **_date("end_date", None), "_csrf_token": token})
    assert r.status_code == 303, r.text[:500]
    item = kw.get(f"/api/clients/{cid}/episode").json()["interventions"][0]
    page = kw.get(f"/clients/{cid}/episode").text
    assert "Talking support (psychosocial)" in page and f"/interventions/{item['id']}/end" in page
    r = kw.client.post(f"/clients/{cid}/interventions/{item['id']}/end", follow_redirects=False,
                       data={**_date(f"end-{item['id']}", today - dt.timedelta(days=8)), "_csrf_token": token})
    assert r.status_code == 422 and "The end date cannot be before the start." in r.text
    r = kw.client.post(f"/clients/{cid}/interventions/{item['id']}/end", follow_redirects=False,
                       data={**_date(f"end-{item['id']}", today), "_csrf_token": token})
    assert r.status_code == 303
    assert kw.get(f"/api/clients/{cid}/episode").json()["interventions"][0]["end_date"] == today.isoformat()


def test_who_reaches_the_page(as_, world):
    cid = world.client_ids["a"]
    assert as_("keyworker_b").get(f"/clients/{cid}/episode").status_code == 404
    assert as_("clinician_a").get(f"/clients/{cid}/episode").status_code == 403
    assert as_("auditor").get(f"/clients/{cid}/episode").status_code == 403
    assert as_("client_a").get(f"/clients/{cid}/episode").status_code == 403
    admin = as_("admin")
    page = admin.get(f"/clients/{cid}/episode")
    assert page.status_code == 200 and "Save the dates" in page.text and "Add the intervention" not in page.text
    assert f'href="/clients/{cid}/episode"' in admin.get("/admin").text
