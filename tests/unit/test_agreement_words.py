"""Every agreement state, in words, for each reader (issue 9: states that never contradict themselves)."""

from __future__ import annotations

import pytest

from careplans import policy
from careplans.present import AgreementView, agreement_words, dose_text, fingerprint_label

ALEX, SAM = "u-alex", "u-sam"
NAMES = {"client": "Alex", "keyworker": "Sam Okafor"}
READER_IDS = {"client": ALEX, "keyworker": SAM, "clinician": "u-dr", "auditor": "u-audit"}


def sig(role: str, version: int, day: str) -> dict:
    who = {"client": ("Alex Person", ALEX), "keyworker": ("Sam Okafor", SAM)}[role]
    return {"role": role, "version": version, "by": who[0], "by_id": who[1], "at": f"2026-03-{day}T10:00:00+00:00"}


def view(current: int, client: int | None, keyworker: int | None, agreed: int | None) -> AgreementView:
    return AgreementView(state="", version=agreed, fingerprint=None, current_version=current, current_fingerprint="ab" * 32,
                         client_signed_version=client, keyworker_signed_version=keyworker)


STATES = {
    # name: (agreement facts, signatures oldest first)
    "nobody_signed": (view(3, None, None, None), []),
    "client_signed": (view(3, 3, None, None), [sig("client", 3, "03")]),
    "keyworker_signed": (view(3, None, 3, None), [sig("keyworker", 3, "03")]),
    "keyworker_signed_earlier_too": (view(5, 5, 3, None), [sig("keyworker", 3, "01"), sig("client", 5, "03")]),
    "agreed": (view(4, 4, 4, 4), [sig("client", 4, "02"), sig("keyworker", 4, "03")]),
    "changed_since_agreed": (view(6, 4, 4, 4), [sig("client", 4, "02"), sig("keyworker", 4, "03")]),
    "signed_once_then_changed": (view(5, 2, None, None), [sig("client", 2, "03")]),
}

EXPECTED = {
    ("nobody_signed", "client"): ("Not agreed yet", "Not agreed yet: nobody has signed version 3.", True),
    ("nobody_signed", "keyworker"): ("Not agreed yet", "Not agreed yet: nobody has signed version 3.", True),
    ("nobody_signed", "clinician"): ("Not agreed yet", "Not agreed yet: nobody has signed version 3.", False),
    ("nobody_signed", "auditor"): ("Not agreed yet", "Not agreed yet: nobody has signed version 3.", False),
    ("client_signed", "client"): ("Waiting for Sam Okafor to sign",
                                  "Agreed by you on 3 March 2026; Sam Okafor has not signed yet.", False),
    ("client_signed", "keyworker"): ("Waiting for you to sign",
                                     "Agreed by Alex on 3 March 2026; you have not signed yet.", True),
    ("client_signed", "clinician"): ("Waiting for Sam Okafor to sign",
                                     "Agreed by Alex on 3 March 2026; Sam Okafor has not signed yet.", False),
    ("client_signed", "auditor"): ("Waiting for the keyworker to sign",
                                   "Agreed by the client on 3 March 2026; the keyworker has not signed yet.", False),
    ("keyworker_signed", "client"): ("Waiting for you to sign",
                                     "Agreed by Sam Okafor on 3 March 2026; you have not signed yet.", True),
    ("keyworker_signed", "keyworker"): ("Waiting for Alex to sign",
                                        "Agreed by you on 3 March 2026; Alex has not signed yet.", False),
    ("keyworker_signed", "clinician"): ("Waiting for Alex to sign",
                                        "Agreed by Sam Okafor on 3 March 2026; Alex has not signed yet.", False),
    ("keyworker_signed", "auditor"): ("Waiting for the client to sign",
                                      "Agreed by the keyworker on 3 March 2026; the client has not signed yet.", False),
    ("keyworker_signed_earlier_too", "client"): (
        "Waiting for Sam Okafor to sign",
        "Agreed by you on 3 March 2026; Sam Okafor has not signed this version (only version 3) yet.", False),
    ("keyworker_signed_earlier_too", "keyworker"): (
        "Waiting for you to sign",
        "Agreed by Alex on 3 March 2026; you have not signed this version (only version 3) yet.", True),
    ("keyworker_signed_earlier_too", "clinician"): (
        "Waiting for Sam Okafor to sign",
        "Agreed by Alex on 3 March 2026; Sam Okafor has not signed this version (only version 3) yet.", False),
    ("keyworker_signed_earlier_too", "auditor"): (
        "Waiting for the keyworker to sign",
        "Agreed by the client on 3 March 2026; the keyworker has not signed this version (only version 3) yet.", False),
    ("agreed", "client"): ("Agreed by both", "Agreed by both on 3 March 2026: you and Sam Okafor signed version 4.", False),
    ("agreed", "keyworker"): ("Agreed by both", "Agreed by both on 3 March 2026: you and Alex signed version 4.", False),
    ("agreed", "clinician"): ("Agreed by both",
                              "Agreed by both on 3 March 2026: Alex and Sam Okafor signed version 4.", False),
    ("agreed", "auditor"): ("Agreed by both",
                            "Agreed by both on 3 March 2026: the client and the keyworker signed version 4.", False),
    ("changed_since_agreed", "client"): ("Changed since agreed", "Changed since you both agreed on 3 March 2026.", True),
    ("changed_since_agreed", "keyworker"): ("Changed since agreed", "Changed since you both agreed on 3 March 2026.",
                                            True),
    ("changed_since_agreed", "clinician"): ("Changed since agreed",
                                            "Changed since Alex and Sam Okafor agreed on 3 March 2026.", False),
    ("changed_since_agreed", "auditor"): ("Changed since agreed",
                                          "Changed since the client and the keyworker agreed on 3 March 2026.", False),
    ("signed_once_then_changed", "client"): (
        "Not agreed yet", "Not agreed yet: you signed version 2 on 3 March 2026, and the plan has changed since.", True),
    ("signed_once_then_changed", "keyworker"): (
        "Not agreed yet", "Not agreed yet: Alex signed version 2 on 3 March 2026, and the plan has changed since.", True),
    ("signed_once_then_changed", "clinician"): (
        "Not agreed yet", "Not agreed yet: Alex signed version 2 on 3 March 2026, and the plan has changed since.", False),
    ("signed_once_then_changed", "auditor"): (
        "Not agreed yet",
        "Not agreed yet: the client signed version 2 on 3 March 2026, and the plan has changed since.", False),
}


def test_the_table_covers_every_state_for_every_reader():
    assert set(EXPECTED) == {(s, r) for s in STATES for r in READER_IDS}


@pytest.mark.parametrize(("state", "reader"), sorted(EXPECTED))
def test_agreement_state_in_words(state, reader):
    ag, signatures = STATES[state]
    words = agreement_words(ag, signatures, NAMES, policy.visibility(reader), READER_IDS[reader])
    assert (words.headline, words.sentence, words.reader_may_sign) == EXPECTED[(state, reader)]
    if reader == "auditor":
        assert "Alex" not in words.sentence and "Sam" not in words.sentence
    # Never the contradiction people met: nobody has signed, yet "waiting for the client".
    if state == "nobody_signed":
        assert "Waiting" not in words.headline


def test_changed_since_agreed_points_at_what_changed():
    ag, signatures = STATES["changed_since_agreed"]
    words = agreement_words(ag, signatures, NAMES, policy.visibility("client"), ALEX)
    assert (words.compare_from, words.compare_to, words.tone) == (4, 6, "changed")


def test_a_new_keyworker_is_not_told_they_signed_what_an_earlier_one_did():
    ag, signatures = STATES["keyworker_signed"]
    words = agreement_words(ag, signatures, {"client": "Alex", "keyworker": "Priya Shah"},
                            policy.visibility("keyworker"), "u-priya")
    assert words.sentence == "Agreed by Sam Okafor on 3 March 2026; Alex has not signed yet."


def test_fingerprint_and_dose_read_calmly():
    assert fingerprint_label(7, "3f9a21c0" + "0" * 56) == "v7 · 3f9a 21c0"
    assert [dose_text(v) for v in (16.0, 2.5, 60, None)] == ["16 mg", "2.5 mg", "60 mg", ""]


def test_history_reads_as_visits_newest_first_with_repeats_counted():
    import datetime as dt

    from careplans import changes as ch
    from careplans.present import group_visits

    sam = ch.Author(id="u-sam", name="Sam Okafor", role="keyworker")
    alex = ch.Author(id=ALEX, name="Alex", role="client")
    t0 = dt.datetime(2026, 3, 3, 10, 0, tzinfo=dt.timezone.utc)
    fp = "3f9a21c0" + "0" * 56

    def v(n, who, minutes, *lines):
        return {"number": n, "author": who, "at": t0 + dt.timedelta(minutes=minutes), "fingerprint": fp,
                "lines": list(lines)}

    subject = "Sam Okafor (keyworker)"
    versions = [
        v(1, sam, 0),
        v(2, sam, 5, f"{subject} changed ‘What matters to me’"),
        v(3, sam, 9, f"{subject} changed ‘What matters to me’", f"{subject} updated naloxone: offered on 3 March 2026"),
        v(4, alex, 30, "You checked in on the goal ‘Home’: 6 out of 10"),
        v(5, sam, 60 * 26, f"{subject} set the next review date to 1 June 2026"),
    ]
    reader = ch.Reader(id=ALEX, visibility=policy.visibility("client"))
    visits = group_visits(versions, reader)
    assert [(x.who, x.first_version, x.last_version) for x in visits] == [
        (subject, 5, 5), ("You", 4, 4), (subject, 1, 3)]
    assert visits[2].lines == ["Started the plan", "Changed ‘What matters to me’ (twice)",
                               "Updated naloxone: offered on 3 March 2026"]
    assert visits[1].lines == ["Checked in on the goal ‘Home’: 6 out of 10"]
    assert visits[2].label == "v3 · 3f9a 21c0"
