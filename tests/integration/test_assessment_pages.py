"""Assessment pages without JavaScript: start, a content note with skip and stop, save
part-way and come back, finish, change who sees an answer; what each role sees."""

from __future__ import annotations

import re

from careplans import assessments, queries


def _csrf(page: str) -> str:
    return re.search(r'name="_csrf_token" value="([^"]+)"', page).group(1)


def _version(page: str) -> str:
    return re.search(r'name="based_on" value="(\d+)"', page).group(1)


def _login(app, world, key):
    from litestar.testing import TestClient

    c = TestClient(app)
    r = c.get("/login")
    r = c.post("/login", data={"username": world.username(key), "password": "test-password-123",
                               "_csrf_token": _csrf(r.text)}, follow_redirects=True)
    assert r.status_code == 200, r.text[:300]
    return c


def test_a_client_starts_stops_at_a_note_comes_back_and_finishes(app, world, db):
    pid = world.plan_ids["a"]
    c = _login(app, world, "client_a")
    hub = c.get(f"/plans/{pid}/assessments")
    assert hub.status_code == 200 and "What helps me feel safe" in hub.text
    assert "A screen, not a diagnosis" in hub.text
    r = c.post(f"/plans/{pid}/assessments", data={"_csrf_token": _csrf(hub.text), "based_on": _version(hub.text),
                                                   "questionnaire": "feel_safe"})
    assert r.status_code == 200  # followed to part 1
    assert "part 1 of 6" in r.text and "0 of 12 questions answered" in r.text
    part1_url = str(r.url)
    aid = re.search(r"/assessments/([0-9a-f-]{36})/part/1", part1_url).group(1)
    r = c.post(part1_url, data={"_csrf_token": _csrf(r.text), "based_on": _version(r.text), "action": "next",
                                "answer-worker_preference": "woman",
                                "answer-worker_preference_words": "", "status-worker_preference_words": "not_now"})
    assert "part 2 of 6" in r.text and "2 of 12 questions answered" in r.text
    r = c.post(str(r.url), data={"_csrf_token": _csrf(r.text), "based_on": _version(r.text), "action": "next",
                                 "answer-safer_places": "PAGESECRET near a window",
                                 "visibility-safer_places": "only_me", "answer-safer_times": "Mornings",
                                 "visibility-safer_times": "me_and_keyworker"})
    r = c.post(str(r.url), data={"_csrf_token": _csrf(r.text), "based_on": _version(r.text), "action": "next"})
    # Part 4 has a content note: it comes first, with skip and stop.
    assert "part 4 of 6" in r.text and "Skip this part" in r.text and "Stop for now" in r.text
    assert "You do not need to give any detail" in r.text
    assert 'name="answer-hard_touch"' not in r.text
    stop = re.search(r'href="([^"]*saved=stopped)"', r.text).group(1)
    r = c.get(stop)
    assert "Your answers so far are saved" in r.text and "Carry on where you left off" in r.text
    # Come back: nothing lost.
    r = c.get(f"/plans/{pid}/assessments/{aid}/part/2?ready=1")
    assert "PAGESECRET near a window" in r.text
    r = c.get(f"/plans/{pid}/assessments/{aid}/part/4")
    r = c.post(f"/plans/{pid}/assessments/{aid}/part/4", data={"_csrf_token": _csrf(r.text),
                                                               "based_on": _version(r.text), "action": "skip"})
    assert "part 5 of 6" in r.text
    r = c.post(str(r.url).split("?")[0], data={"_csrf_token": _csrf(r.text), "based_on": _version(r.text),
                                               "action": "skip"})
    assert "part 6 of 6" in r.text
    r = c.post(str(r.url), data={"_csrf_token": _csrf(r.text), "based_on": _version(r.text), "action": "next",
                                 "status-people_involved": "prefer_not_to_say"})
    assert "That is the last part" in r.text
    r = c.post(str(r.url), data={"_csrf_token": _csrf(r.text), "based_on": _version(r.text)})
    assert "Thank you. Your answers are saved." in r.text
    assert "Prefer not to say" in r.text and "Not now" in r.text
    # The keyworker does not see the answer kept to the person, and sees the one shared.
    kw = _login(app, world, "keyworker_a")
    seen = kw.get(f"/plans/{pid}/assessments/{aid}")
    assert seen.status_code == 200 and "PAGESECRET" not in seen.text and "Mornings" in seen.text
    # Change who sees one answer: widen to the keyworker.
    r = c.get(f"/plans/{pid}/assessments/{aid}/answers/safer_places/visibility")
    r = c.post(f"/plans/{pid}/assessments/{aid}/answers/safer_places/visibility",
               data={"_csrf_token": _csrf(r.text), "based_on": _version(r.text), "visibility": "me_and_keyworker"})
    assert "Who can see that answer is changed" in r.text
    assert "PAGESECRET" in kw.get(f"/plans/{pid}/assessments/{aid}").text
    assert kw.get(f"/plans/{pid}/assessments/{aid}/answers/safer_places/visibility").status_code == 403
    # Carry-forward: a new assessment starts from these answers, saying when they were given.
    hub = c.get(f"/plans/{pid}/assessments")
    r = c.post(f"/plans/{pid}/assessments", data={"_csrf_token": _csrf(hub.text), "based_on": _version(hub.text),
                                                   "questionnaire": "feel_safe"})
    r = c.post(str(r.url), data={"_csrf_token": _csrf(r.text), "based_on": _version(r.text), "action": "next",
                                 "answer-worker_preference": "woman"})
    assert "PAGESECRET near a window" in r.text and "Keep it, or change it" in r.text
    later = assessments.left_for_later(db, world.viewer("client_a"), queries.parse_id(pid))
    assert any(x["question"] == "talk_about_past" for x in later)


def test_bad_numbers_are_refused_naming_the_question_and_keep_what_was_typed(app, world):
    pid = world.plan_ids["a"]
    c = _login(app, world, "keyworker_a")
    hub = c.get(f"/plans/{pid}/assessments")
    r = c.post(f"/plans/{pid}/assessments", data={"_csrf_token": _csrf(hub.text), "based_on": _version(hub.text),
                                                   "questionnaire": "top", "stage": "start"})
    assert "part 1 of 4" in r.text
    url = str(r.url).split("?")[0]
    r = c.get(url + "?ready=1")
    r = c.post(url, data={"_csrf_token": _csrf(r.text), "based_on": _version(r.text), "action": "next",
                          "answer-days_alcohol": "30", "answer-days_cannabis": "12"})
    assert r.status_code == 422
    assert 'href="#answer-days_alcohol"' in r.text and "from 0 to 28" in r.text
    assert 'value="12"' in r.text
