"""Changes stored as data and read as sentences, for each reader (table-driven).

Each row: a change made by one person, and the sentence each kind of reader reads.
A reader who may not see free text (the auditor) never reads a goal's name or
anything anyone wrote; a reader who sees no names reads roles only.
"""

from __future__ import annotations

import pytest

from careplans import changes as ch
from careplans import plan_document as doc
from careplans import policy
from careplans.present import Namer, option_name, sentences

ALEX = doc.Author(id="c1", name="Alex", role="client")
SAM = doc.Author(id="k1", name="Sam", role="keyworker")
ids = iter(f"id-{n}" for n in range(10_000))


def new_id() -> str:
    return next(ids)


def base() -> dict:
    c = doc.add_goal(doc.empty_content(), "g1", {"title": "Get my own flat", "area": "social_functioning",
                                                 "target_date": "2027-03-01"}, ALEX, new_id, "2026-01-01")
    return doc.set_about_me(c, {"what_matters": "My daughter"}, ALEX)


READERS = {
    "client": ch.Reader(id="c1", visibility=policy.visibility("client")),
    "keyworker": ch.Reader(id="k1", visibility=policy.visibility("keyworker")),
    "clinician": ch.Reader(id="d1", visibility=policy.visibility("clinician")),
    "auditor": ch.Reader(id="a1", visibility=policy.visibility("auditor")),
}

CASES = [
    ("target date moved", SAM,
     lambda c: doc.update_goal(c, "g1", {"target_date": "2027-04-01"}, SAM, new_id),
     {"client": "Sam (keyworker) moved the target date of the goal ‘Get my own flat’ from 1 March 2027 to 1 April 2027",
      "keyworker": "You moved the target date of the goal ‘Get my own flat’ from 1 March 2027 to 1 April 2027",
      "clinician": "Sam (keyworker) moved the target date of the goal ‘Get my own flat’ from 1 March 2027 to 1 April 2027",
      "auditor": "A keyworker moved the target date of a goal about home, friends, family and daily life from 1 March 2027 to 1 April 2027"}),
    ("goal status", ALEX,
     lambda c: doc.update_goal(c, "g1", {"status": "achieved"}, ALEX, new_id),
     {"client": "You changed the goal ‘Get my own flat’ from active to achieved",
      "keyworker": "Alex (client) changed the goal ‘Get my own flat’ from active to achieved",
      "auditor": "The client changed a goal about home, friends, family and daily life from active to achieved"}),
    ("goal renamed", ALEX,
     lambda c: doc.update_goal(c, "g1", {"title": "A flat near my daughter"}, ALEX, new_id),
     {"keyworker": "Alex (client) renamed the goal ‘A flat near my daughter’",
      "auditor": "The client renamed a goal about home, friends, family and daily life"}),
    ("goal added", ALEX,
     lambda c: doc.add_goal(c, "g2", {"title": "Sleep better", "area": "health"}, ALEX, new_id, "2026-02-01"),
     {"keyworker": "Alex (client) added the goal ‘Sleep better’",
      "auditor": "The client added a goal about health, body and mind"}),
    ("check-in", ALEX,
     lambda c: doc.add_check_in(c, "g1", "ci1", 7, "Viewing on Friday", ALEX, "2026-02-01T10:00:00+00:00"),
     {"keyworker": "Alex (client) checked in on the goal ‘Get my own flat’: 7 out of 10, with a note",
      "auditor": "The client checked in on a goal about home, friends, family and daily life: 7 out of 10, with a note"}),
    ("about me", ALEX,
     lambda c: doc.set_about_me(c, {"what_matters": "My daughter and football"}, ALEX),
     {"keyworker": "Alex (client) changed ‘What matters to me’",
      "auditor": "The client changed ‘What matters to me’"}),
    ("different view", SAM,
     lambda c: doc.set_about_me(c, {"what_matters": {"different_view": "Keeping the flat"}}, SAM),
     {"client": "Sam (keyworker) added a different view of ‘What matters to me’, keeping both views side by side"}),
    ("choice", ALEX,
     lambda c: doc.add_choice(c, "e1", {"code": "methadone", "name": "Methadone", "kind": "medication"},
                              {"information_given": True, "information_format": "leaflet",
                               "discussed_on": "2026-03-03", "preference": "I'd like to try it",
                               "outcome": "chosen"}, ALEX, "2026-03-03T10:00:00+00:00"),
     {"keyworker": "Alex (client) recorded talking about Methadone on 3 March 2026: information given (a leaflet), "
                   "their preference in their own words, outcome: chosen",
      "auditor": "The client recorded talking about Methadone on 3 March 2026: information given (a leaflet), "
                 "their preference in their own words, outcome: chosen"}),
    ("naloxone", SAM,
     lambda c: doc.set_staying_safe(c, {"naloxone": {"offered": True, "offered_on": "2026-03-03",
                                                     "supplied": True, "product": "nyxoid",
                                                     "supplied_by": "Sam Okafor"}}, SAM),
     {"client": "Sam (keyworker) updated naloxone: offered on 3 March 2026, Nyxoid (nasal spray) supplied",
      "auditor": "A keyworker updated naloxone: offered on 3 March 2026, Nyxoid (nasal spray) supplied"}),
    ("review date", SAM,
     lambda c: doc.set_next_review_date(c, "2027-01-05"),
     {"client": "Sam (keyworker) set the next review date to 5 January 2027"}),
]


@pytest.mark.parametrize("name,author,change,expected", CASES, ids=[c[0] for c in CASES])
def test_one_sentence_per_thing_changed_for_each_reader(name, author, change, expected):
    before = base()
    after = change(before)
    changes = ch.from_stored(ch.to_stored(ch.derive(before, after)))  # as stored and read back
    assert len(changes) == 1, changes
    who = ch.Author(id=author.id, name=author.name, role=author.role)
    for role, sentence in expected.items():
        assert sentences(changes, who, READERS[role], Namer([after])) == [sentence], role


def test_stored_changes_hold_no_free_text():
    before = base()
    after = doc.update_goal(before, "g1", {"title": "SECRET-TITLE", "why": "SECRET-WHY"}, ALEX, new_id)
    after = doc.set_about_me(after, {"strengths": "SECRET-STRENGTH"}, ALEX)
    after = doc.add_check_in(after, "g1", "ci9", 3, "SECRET-NOTE", ALEX, "2026-02-01T10:00:00+00:00")
    after = doc.add_choice(after, "e9", {"code": "buvidal", "name": "Buvidal", "kind": "medication"},
                           {"information_given": True, "discussed_on": "2026-03-03", "client_view": "SECRET-VIEW",
                            "outcome": "declined", "reason": "SECRET-REASON"}, ALEX, "2026-03-03T10:00:00+00:00")
    stored = repr(ch.to_stored(ch.derive(before, after)))
    assert "SECRET" not in stored


def test_naloxone_edit_is_one_change_not_seven():
    before = base()
    after = doc.set_staying_safe(before, {"naloxone": {"offered": True, "offered_on": "2026-03-03",
                                                       "supplied": True, "product": "prenoxad",
                                                       "supplied_on": "2026-03-03", "peer_supply": True}}, SAM)
    assert len(ch.derive(before, after)) == 1


def test_option_names_come_from_the_catalogue():
    assert option_name("buvidal").startswith("Buprenorphine")


def test_a_check_in_added_is_the_one_change_derive_finds():
    """checkin_write states the change instead of deriving it: the same Change, for a note
    and for none, on a goal among others that already has check-ins."""
    from careplans.checkin_write import _adds_only

    before = doc.add_goal(base(), "g2", {"title": "Walk", "area": "health"}, SAM, new_id, "2026-01-02")
    before = doc.add_check_in(before, "g2", "ci0", 4, None, SAM, "2026-01-03T10:00:00+00:00")
    for cid, note in (("ci1", "A good week"), ("ci2", None)):
        after = doc.add_check_in(before, "g2", cid, 6, note, ALEX, "2026-02-01T10:00:00+00:00")
        item = doc.find_goal(after, "g2")["check_ins"][-1]
        assert _adds_only(before, "g2", cid)
        assert ch.derive(before, after) == [ch.check_in_added("g2", item)]
        assert ch.to_stored([ch.check_in_added("g2", item)]) == ch.to_stored(ch.derive(before, after))
    # Where derive would not match by id, the check-in path derives the changes instead.
    assert not _adds_only(before, "g2", "ci0")  # that id is there already
    twice = {**before, "goals": [*before["goals"], before["goals"][0]]}
    assert not _adds_only(twice, "g2", "ci3")  # two goals with one id
    no_ids = {**before, "goals": [{**g, "check_ins": [{"rating": 1}]} for g in before["goals"]]}
    assert not _adds_only(no_ids, "g2", "ci3")
