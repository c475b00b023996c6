"""The treatment options page: a summary first, the plan's substances first, each option on its own."""

from __future__ import annotations

import re

from tests.integration.test_admin import CSRF_FIELD


def _names_in_summary(html: str) -> list[str]:
    table = html.split('class="nhsuk-table cp-options-summary"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<a href="#option-([a-z_]+)">', table)


def test_the_client_chooses_what_the_plan_is_about_and_those_options_come_first(as_, world):
    client = as_("client_a")
    pid = world.plan_ids["a"]
    page = client.get(f"/plans/{pid}/choices").text
    assert "not said yet what this plan is about" in page
    everything = _names_in_summary(page)
    assert {"methadone", "acamprosate", "contingency_management"} <= set(everything)
    # Every option opens on its own, and the outcome list has one "Not decided yet" only.
    assert page.count('<details class="nhsuk-details cp-option"') == len(everything)
    assert page.count("Nothing decided in this conversation") == 0
    form = page.split('id="option-acamprosate"', 1)[1].split("</details>", 1)[0]
    assert form.count("Not decided yet") == 1

    token = CSRF_FIELD.search(page).group(1)
    version = client.plan(pid)["version"]
    r = client.client.post(f"/plans/{pid}/substances", data={"substances": ["alcohol", "stimulants"],
                                                             "based_on": str(version), "_csrf_token": token},
                           follow_redirects=False)
    assert r.status_code == 303
    plan = client.plan(pid)
    assert plan["substances"] == ["alcohol", "stimulants"] and plan["version"] == version + 1
    page = client.get(f"/plans/{pid}/choices").text
    assert "This plan is about alcohol and cocaine, crack or amphetamines." in page
    first = _names_in_summary(page)
    assert first[:5] == ["alcohol_assisted_withdrawal", "acamprosate", "naltrexone_alcohol", "disulfiram", "nalmefene"]
    assert "contingency_management" in first and "methadone" not in first
    assert "Options for other substances" in page
    # The change reads as a sentence in the history.
    history = client.get(f"/plans/{pid}/history").text
    assert "aid the plan is about alcohol and cocaine, crack or amphetamines" in history  # "You said …" or, in a visit, "Said …"


def test_an_unknown_substance_is_refused_and_a_reader_cannot_set_it(as_, world):
    client = as_("client_a")
    pid = world.plan_ids["a"]
    page = client.get(f"/plans/{pid}/choices").text
    token = CSRF_FIELD.search(page).group(1)
    version = client.plan(pid)["version"]
    r = client.client.post(f"/plans/{pid}/substances", data={"substances": "booze", "based_on": str(version),
                                                             "_csrf_token": token})
    assert r.status_code == 422 and "Choose from the list" in r.text
    assert client.plan(pid)["version"] == version
    clinician = as_("clinician_a")
    r = clinician.client.post(f"/plans/{pid}/substances", data={"substances": "alcohol", "based_on": str(version),
                                                                "_csrf_token": clinician.csrf})
    assert r.status_code == 403


def test_the_json_api_sets_and_returns_what_the_plan_is_about(as_, world):
    client = as_("client_a")
    pid = world.plan_ids["a"]
    version = client.plan(pid)["version"]
    r = client.patch(f"/api/plans/{pid}", json={"substances": ["opioids", "alcohol"]}, version=version)
    assert r.status_code == 200, r.text
    assert r.json()["substances"] == ["opioids", "alcohol"]
    r = client.patch(f"/api/plans/{pid}", json={"substances": ["booze"]}, version=version + 1)
    assert r.status_code in (400, 422) and "substances" in r.text
    assert as_("clinician_a").plan(pid)["substances"] == ["opioids", "alcohol"]


def test_the_audit_log_accounts_for_a_substances_change(as_, world, db, app):
    from careplans import audit

    client = as_("client_a")
    pid = world.plan_ids["a"]
    version = client.plan(pid)["version"]
    r = client.patch(f"/api/plans/{pid}", {"substances": ["alcohol"]}, version=version)
    assert r.status_code == 200, r.text
    result = audit.verify(db)
    assert result.ok, result
