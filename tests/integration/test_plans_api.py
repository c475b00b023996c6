"""The plan through the JSON API: versions, If-Match, diffs, goals, check-ins, agreement."""

from __future__ import annotations


def test_plan_read_has_etag_and_contract_fields(as_, world):
    kw = as_("keyworker_a")
    r = kw.get(f"/api/plans/{world.plan_ids['a']}")
    assert r.status_code == 200
    assert r.headers["etag"] == '"1"'
    body = r.json()
    for key in ("id", "client_id", "version", "status", "agreement", "about_me", "goals", "choices",
                "prescribing", "staying_safe", "next_review_date"):
        assert key in body
    assert body["agreement"]["state"] in ("agreed", "awaiting_client", "awaiting_keyworker", "changed_since_agreed")


def test_patch_needs_if_match_and_refuses_stale_with_both_versions(as_, world):
    client = as_("client_a")
    pid = world.plan_ids["a"]
    assert client.patch(f"/api/plans/{pid}", {"about_me": {"what_matters": "My dog"}}).status_code == 428
    r = client.patch(f"/api/plans/{pid}", {"about_me": {"what_matters": "My dog"}}, version=1)
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == '"2"'
    assert r.json()["about_me"]["what_matters"] == {"text": "My dog", "voice": "client", "by": "Client A",
                                                   "by_role": "client"}
    kw = as_("keyworker_a")
    stale = kw.patch(f"/api/plans/{pid}", {"about_me": {"what_matters": "Their dog"}}, version=1)
    assert stale.status_code == 409
    body = stale.json()
    assert body["current_version"] == 2 and body["your_version"] == 1
    assert body["current"]["about_me"]["what_matters"]["text"] == "My dog"
    assert stale.headers["content-type"].startswith("application/problem+json")


def test_voice_comes_from_the_writer_not_the_request(as_, world):
    kw = as_("keyworker_a")
    pid = world.plan_ids["a"]
    r = kw.patch(f"/api/plans/{pid}", {"about_me": {"strengths": {"text": "x", "voice": "client"}}}, version=1)
    assert r.status_code == 422  # no way to claim a voice
    r = kw.patch(f"/api/plans/{pid}", {"about_me": {"strengths": "Gets to every appointment"}}, version=1)
    assert r.json()["about_me"]["strengths"]["voice"] == "worker"


def test_we_see_this_differently_keeps_both_views(as_, world):
    pid = world.plan_ids["a"]
    client = as_("client_a")
    v = client.patch(f"/api/plans/{pid}", {"about_me": {"what_helps": "Being left alone for a bit"}}, version=1).json()["version"]
    kw = as_("keyworker_a")
    r = kw.patch(f"/api/plans/{pid}", {"about_me": {"what_helps": {"different_view": "Regular check-ins"}}}, version=v)
    assert r.status_code == 200, r.text
    field = r.json()["about_me"]["what_helps"]
    assert field["text"] == "Being left alone for a bit"
    assert field["disagreement"]["client"]["text"] == "Being left alone for a bit"
    assert field["disagreement"]["worker"]["text"] == "Regular check-ins"
    summaries = [v["summary"] for v in kw.get(f"/api/plans/{pid}/versions").json()]
    assert any("added a different view of ‘What helps when things are hard’, keeping both views side by side" in s
               for s in summaries)


def test_goals_check_ins_history_and_plain_language_diff(as_, world):
    pid = world.plan_ids["a"]
    client = as_("client_a")
    r = client.post(f"/api/plans/{pid}/goals", {"title": "Get my own flat", "why": "For my kids",
                                                "area": "social_functioning", "target_date": "2027-03-01",
                                                "steps": [{"text": "Housing form", "who_helps": "Sam", "when": "Tuesday"}]},
                    version=1)
    assert r.status_code == 201, r.text
    goal = r.json()
    assert goal["plan_version"] == 2 and goal["status"] == "active" and goal["title"]["voice"] == "client"
    kw = as_("keyworker_a")
    r = kw.patch(f"/api/plans/{pid}/goals/{goal['id']}", {"target_date": "2027-05-01"}, version=2)
    assert r.status_code == 200, r.text
    r = client.post(f"/api/plans/{pid}/goals/{goal['id']}/check-ins", {"rating": 7, "note": "Viewing booked"}, version=3)
    assert r.status_code == 201 and r.json()["rating"] == 7 and r.json()["plan_version"] == 4
    assert client.post(f"/api/plans/{pid}/goals/{goal['id']}/check-ins", {"rating": 11}, version=4).status_code == 422

    versions = client.get(f"/api/plans/{pid}/versions").json()
    assert [v["version"] for v in versions] == [1, 2, 3, 4]
    assert versions[2]["summary"] == ("Keyworker A (keyworker) moved the target date of the goal ‘Get my own flat’ "
                                      "from 1 March 2027 to 1 May 2027.")
    assert versions[2]["changes"] == [versions[2]["summary"].rstrip(".")]
    assert versions[2]["author"] == "Keyworker A" and versions[2]["role"] == "keyworker"

    diff = client.get(f"/api/plans/{pid}/diff?from=2&to=4").json()
    by_path = {c["path"]: c for c in diff["changes"]}
    target = by_path[f"goals[{goal['id']}].target_date"]
    assert target["before"] == "2027-03-01" and target["after"] == "2027-05-01"
    assert target["by"] == "Keyworker A (keyworker)"
    assert target["summary"] == ("Keyworker A (keyworker) moved the target date of the goal ‘Get my own flat’ "
                                 "from 1 March 2027 to 1 May 2027")

    old = client.get(f"/api/plans/{pid}/versions/2").json()
    assert old["goals"][0]["target_date"] == "2027-03-01" and old["version"] == 2


def test_agreement_binds_to_a_version_and_any_change_unsettles_it(as_, world):
    pid = world.plan_ids["a"]
    client, kw = as_("client_a"), as_("keyworker_a")
    r = client.post(f"/api/plans/{pid}/agreements", {"version": 1})
    assert r.status_code == 201 and r.json()["agreement"]["state"] == "awaiting_keyworker"
    r = kw.post(f"/api/plans/{pid}/agreements", {"version": 1})
    agreement = r.json()["agreement"]
    assert agreement["state"] == "agreed" and agreement["version"] == 1 and len(agreement["fingerprint"]) == 64
    kw.patch(f"/api/plans/{pid}", {"next_review_date": "2027-01-15"}, version=1)
    assert client.plan(pid)["agreement"]["state"] == "changed_since_agreed"
    assert client.post(f"/api/plans/{pid}/agreements", {"version": 1}).status_code == 409
    assert client.post(f"/api/plans/{pid}/agreements", {"version": 2}).json()["agreement"]["state"] == "awaiting_keyworker"


def test_client_sees_who_viewed_their_plan(as_, world):
    pid = world.plan_ids["a"]
    as_("clinician_a").get(f"/api/plans/{pid}")
    log = as_("client_a").get(f"/api/plans/{pid}/access-log").json()["items"]
    assert any(e["who"] == "Clinician A" and e["action"] == "plan.read" for e in log)
