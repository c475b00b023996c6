"""Assessments through the JSON API: answers kept as the person chose, each answer seen
only by those the person allowed, enforced in the query for every reader."""

from __future__ import annotations

import datetime as dt

from careplans import assessments, queries
from careplans.audit import verify


def _version(api, pid) -> int:
    return api.plan(pid)["version"]


def _post(api, pid, body):
    return api.post(f"/api/plans/{pid}/assessments", body, version=_version(api, pid))


SAFE = [
    {"question": "worker_preference", "value": "woman"},
    {"question": "safer_places", "value": "SECRET-ONLY-ME near the door", "visibility": "only_me"},
    {"question": "safer_times", "value": "SECRET-KEYWORKER mornings", "visibility": "me_and_keyworker"},
    {"question": "distress_helps", "value": "SECRET-CARE-TEAM a break", "visibility": "care_team"},
    {"question": "people_involved", "value": "SECRET-SHAREABLE my sister", "visibility": "shareable"},
    {"question": "hard_touch", "status": "prefer_not_to_say"},
    {"question": "talk_about_past", "status": "not_now"},
]


def test_questionnaires_are_listed_with_versions_and_questions(as_):
    api = as_("auditor")
    items = api.get("/api/questionnaires").json()
    assert {q["code"]: q["version"] for q in items}["pc_ptsd_5"] == 1
    one = api.get("/api/questionnaires/pc_ptsd_5").json()
    assert one["is_screen"] and "not a diagnosis" in one["screen_notice"]
    assert one["sections"][1]["asked_only_if"] == {"question": "gate", "equals": True}
    assert one["sections"][0]["content_note"]
    assert api.get("/api/questionnaires/nope").status_code == 404


def test_each_reader_sees_only_the_answers_the_person_allowed(world, as_, db):
    pid = world.plan_ids["a"]
    client = as_("client_a")
    r = _post(client, pid, {"questionnaire": "feel_safe", "answers": SAFE})
    assert r.status_code == 201, r.text
    created = r.json()
    assert r.headers["etag"] == f'"{created["plan_version"]}"'
    by_q = {a["question"]: a for a in created["answers"]}
    # The client's own default is the most private: only me.
    assert by_q["worker_preference"]["visibility"] == "only_me"
    assert by_q["hard_touch"]["status"] == "prefer_not_to_say" and by_q["hard_touch"]["value"] is None
    assert by_q["talk_about_past"]["status"] == "not_now"
    assert by_q["safer_places"]["value"] == {"text": "SECRET-ONLY-ME near the door", "voice": "client",
                                             "by": "Client A"}
    # Questions not reached were finished as "not now": stored answers, never blanks.
    assert by_q["distress_signs"]["status"] == "not_now"
    assert created["answered"] == created["questions"] == 12

    expected = {
        "client_a": {"SECRET-ONLY-ME", "SECRET-KEYWORKER", "SECRET-CARE-TEAM", "SECRET-SHAREABLE"},
        "keyworker_a": {"SECRET-KEYWORKER", "SECRET-CARE-TEAM", "SECRET-SHAREABLE"},
        "clinician_a": {"SECRET-CARE-TEAM", "SECRET-SHAREABLE"},
    }
    for who, allowed in expected.items():
        body = as_(who).get(f"/api/plans/{pid}/assessments").text
        for secret in ("SECRET-ONLY-ME", "SECRET-KEYWORKER", "SECRET-CARE-TEAM", "SECRET-SHAREABLE"):
            assert (secret in body) == (secret in allowed), (who, secret)
    # Absent, not blanked: the keyworker's list has no row at all for the private answers.
    kw = as_("keyworker_a").get(f"/api/plans/{pid}/assessments/{created['id']}").json()
    assert "safer_places" not in {a["question"] for a in kw["answers"]}
    assert "worker_preference" not in {a["question"] for a in kw["answers"]}
    # Auditors: never an answer; counts only.
    assert as_("auditor").get(f"/api/plans/{pid}/assessments").status_code == 403
    counts = as_("auditor").get("/api/audit/assessments")
    assert counts.status_code == 200 and "SECRET" not in counts.text
    assert any(c["questionnaire"] == "feel_safe" and c["answers"] >= 12 for c in counts.json())
    # Other caseloads: not found.
    assert as_("keyworker_b").get(f"/api/plans/{pid}/assessments").status_code == 404
    # Copies carry shareable answers only.
    shared = assessments.shareable_answers(db, pid, "gp")
    text = repr(shared)
    assert "SECRET-SHAREABLE" in text and "SECRET-CARE-TEAM" not in text and "SECRET-ONLY-ME" not in text
    assert assessments.shareable_answers(db, pid, "pharmacy") == []
    assert "SECRET-ONLY-ME" not in repr(assessments.shareable_answers(db, pid, "client"))
    assert assessments.shareable_answers(db, pid, "gp", up_to_version=created["plan_version"] - 1) == []


def test_the_client_narrows_and_widens_and_the_change_is_kept(world, as_, db):
    pid = world.plan_ids["a"]
    client, kw = as_("client_a"), as_("keyworker_a")
    created = _post(client, pid, {"questionnaire": "feel_safe", "answers": [
        {"question": "safer_times", "value": "NARROWME evenings", "visibility": "care_team"}]}).json()
    url = f"/api/plans/{pid}/assessments/{created['id']}/answers/safer_times"
    assert "NARROWME" in as_("clinician_a").get(f"/api/plans/{pid}/assessments").text
    assert client.patch(url, {"visibility": "only_me"}).status_code == 428
    r = client.patch(url, {"visibility": "only_me"}, version=_version(client, pid))
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == f'"{_version(client, pid)}"'
    assert "NARROWME" not in as_("clinician_a").get(f"/api/plans/{pid}/assessments").text
    assert "NARROWME" not in kw.get(f"/api/plans/{pid}/assessments").text
    # Only the person decides: the keyworker cannot change it, nor reach an answer they cannot see.
    assert kw.patch(url, {"visibility": "shareable"}, version=_version(kw, pid)).status_code == 403
    r = client.patch(url, {"visibility": "me_and_keyworker"}, version=_version(client, pid))
    assert r.status_code == 200
    assert "NARROWME" in kw.get(f"/api/plans/{pid}/assessments").text
    # The history says a change was made, never which answer or to what.
    history = kw.get(f"/api/plans/{pid}/versions").json()
    lines = " ".join(v["summary"] for v in history)
    assert "changed who can see some assessment answers" in lines
    assert "NARROWME" not in lines and "safer_times" not in lines
    assert "What helps me feel safe" not in lines  # only the person reads which questionnaire
    assert "What helps me feel safe" in " ".join(v["summary"] for v in client.get(f"/api/plans/{pid}/versions").json())
    log = client.get(f"/api/plans/{pid}/access-log").json()
    assert "assessment.visibility" in str(log)
    assert verify(db).ok


def test_writes_carry_if_match_and_bad_values_name_the_question(world, as_):
    pid = world.plan_ids["a"]
    kw = as_("keyworker_a")
    body = {"questionnaire": "top", "stage": "start", "answers": [{"question": "days_alcohol", "value": 29}]}
    assert kw.post(f"/api/plans/{pid}/assessments", body).status_code == 428
    stale = {**body, "answers": []}
    r = kw.post(f"/api/plans/{pid}/assessments", stale, version=_version(kw, pid) - 1)
    assert r.status_code == 409 and r.json()["current_version"] == _version(kw, pid)
    r = kw.post(f"/api/plans/{pid}/assessments", body, version=_version(kw, pid))
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "answers.0.days_alcohol"
    body["answers"] = [{"question": "days_alcohol", "value": 28}, {"question": "days_opioids", "value": 0}]
    r = kw.post(f"/api/plans/{pid}/assessments", body, version=_version(kw, pid))
    assert r.status_code == 201, r.text
    # The keyworker's default: the person and their keyworker.
    assert {a["visibility"] for a in r.json()["answers"]} == {"me_and_keyworker"}
    assert r.json()["stage"] == "start"
    missing_stage = {"questionnaire": "top", "answers": []}
    r = kw.post(f"/api/plans/{pid}/assessments", missing_stage, version=_version(kw, pid))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "stage"
    r = kw.post(f"/api/plans/{pid}/assessments", {"questionnaire": "barc10", "answers": [
        {"question": "energy", "value": "7"}]}, version=_version(kw, pid))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "answers.0.energy"
    r = kw.post(f"/api/plans/{pid}/assessments", {"questionnaire": "barc10", "answers": [
        {"question": "energy", "value": "6", "status": "not_now"}]}, version=_version(kw, pid))
    assert r.status_code == 422


def test_a_fully_skipped_assessment_saves(world, as_):
    pid = world.plan_ids["a"]
    client = as_("client_a")
    r = _post(client, pid, {"questionnaire": "pc_ptsd_5", "answers": []})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "complete"
    # Only the gate was asked (the five follow a "yes"); it is kept as "not now".
    assert [(a["question"], a["status"]) for a in body["answers"]] == [("gate", "not_now")]
    assert body["score"]["value"] is None and body["score"]["is_screen"]
    assert "not a diagnosis" in body["score"]["notice"]


def test_scores_come_from_visible_answers_only(world, as_):
    pid = world.plan_ids["a"]
    client = as_("client_a")
    answers = [{"question": c, "value": "6", "visibility": "me_and_keyworker"} for c in (
        "important_things", "happy_with_life", "energy", "community", "support_friends", "fulfilling",
        "living_space", "responsibility", "professionals")]
    answers.append({"question": "progress", "value": "6", "visibility": "only_me"})
    created = _post(client, pid, {"questionnaire": "barc10", "answers": answers}).json()
    assert created["score"]["value"] == 60
    kw = as_("keyworker_a").get(f"/api/plans/{pid}/assessments/{created['id']}").json()
    assert kw["score"]["value"] is None and kw["score"]["complete"] is False


def test_carry_forward_and_saving_part_way(world, as_, db):
    pid = world.plan_ids["a"]
    client = as_("client_a")
    first = _post(client, pid, {"questionnaire": "feel_safe", "answers": [
        {"question": "safer_places", "value": "By the window"}]}).json()
    # A second assessment, started part-way: it starts from the first's answers.
    second = _post(client, pid, {"questionnaire": "feel_safe", "finished": False, "answers": []}).json()
    assert second["status"] == "in_progress" and second["answers"] == []
    me = world.viewer("client_a")
    carried = assessments.carried_forward(db, me, queries.parse_id(pid), "feel_safe",
                                          before=queries.parse_id(second["id"]))
    assert carried["safer_places"]["value"] == "By the window"
    assert carried["safer_places"]["answered_at"] is not None
    # Someone else who may not see the answer is offered nothing to carry forward.
    assert "safer_places" not in assessments.carried_forward(db, world.viewer("keyworker_a"),
                                                             queries.parse_id(pid), "feel_safe")
    url = f"/api/plans/{pid}/assessments/{second['id']}/answers"
    r = client.post(url, {"answers": [{"question": "safer_places", "value": "By the window"}]},
                    version=_version(client, pid))
    assert r.status_code == 200 and r.json()["status"] == "in_progress" and r.json()["answered"] == 1
    r = client.post(url, {"answers": [], "finished": True}, version=_version(client, pid))
    assert r.json()["status"] == "complete" and r.json()["answered"] == 12
    later = assessments.left_for_later(db, me, queries.parse_id(pid))
    assert any(x["question"] == "talk_about_past" for x in later)
    assert first["id"] != second["id"]


def test_latest_top_review_date_per_plan(world, as_, db):
    pid = world.plan_ids["a"]
    kw = as_("keyworker_a")
    for stage, day in (("start", "2026-01-05"), ("review", "2026-04-02"), ("review", "2026-07-01")):
        r = kw.post(f"/api/plans/{pid}/assessments", {"questionnaire": "top", "stage": stage, "taken_on": day,
                                                       "answers": []}, version=_version(kw, pid))
        assert r.status_code == 201
    dates = assessments.latest_top_review_dates(db)
    assert dates[pid] == dt.date(2026, 7, 1)
    assert world.plan_ids["b"] not in dates
