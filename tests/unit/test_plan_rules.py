"""Pure rules: plan document changes, agreement state, NHS numbers. (Change sentences: test_changes.py.)"""

from __future__ import annotations

import pytest

from careplans import plan_document as doc
from careplans.rules.agreement import AgreementFacts, agreement_state
from careplans.rules.identifiers import nhs_number_is_valid

CLIENT = doc.Author(id="c", name="Jordan", role="client")
WORKER = doc.Author(id="k", name="Sam", role="keyworker")


def ids():
    n = iter(range(1000))
    return lambda: f"id-{next(n)}"


def test_voice_follows_the_author():
    c = doc.set_about_me(doc.empty_content(), {"what_matters": "My kids"}, CLIENT)
    assert c["about_me"]["what_matters"]["voice"] == "client"
    c = doc.set_about_me(c, {"strengths": "Determined"}, WORKER)
    assert c["about_me"]["strengths"]["voice"] == "worker"


def test_operations_never_mutate_their_input():
    base = doc.empty_content()
    before = doc.canonical_json(base)
    doc.add_goal(base, "g1", {"title": "Walk more", "area": "health"}, CLIENT, ids(), "2026-01-01")
    assert doc.canonical_json(base) == before


def test_disagreement_keeps_both_views_and_plain_text_settles_it():
    c = doc.set_about_me(doc.empty_content(), {"what_helps": "Space"}, CLIENT)
    c = doc.set_about_me(c, {"what_helps": {"different_view": "Structure"}}, WORKER)
    d = c["about_me"]["what_helps"]["disagreement"]
    assert d["client"]["text"] == "Space" and d["worker"]["text"] == "Structure"
    c = doc.set_about_me(c, {"what_helps": "Space, with a weekly call"}, CLIENT)
    assert "disagreement" not in c["about_me"]["what_helps"]
    with pytest.raises(doc.DocumentError):
        doc.set_about_me(doc.empty_content(), {"what_helps": {"different_view": "x"}}, WORKER)


def test_fingerprint_is_stable_and_order_independent():
    assert doc.fingerprint({"a": 1, "b": [1, 2]}) == doc.fingerprint({"b": [1, 2], "a": 1})
    assert doc.fingerprint({"a": 1}) != doc.fingerprint({"a": 2})


@pytest.mark.parametrize("facts,state", [
    (AgreementFacts(3, None, None, None), "awaiting_client"),
    (AgreementFacts(3, 3, None, None), "awaiting_keyworker"),
    (AgreementFacts(3, None, 3, None), "awaiting_client"),
    (AgreementFacts(3, 3, 3, 3), "agreed"),
    (AgreementFacts(4, 3, 3, 3), "changed_since_agreed"),
    (AgreementFacts(4, 4, 3, 3), "awaiting_keyworker"),
    (AgreementFacts(5, 2, None, None), "changed_since_agreed"),
])
def test_agreement_state(facts, state):
    assert agreement_state(facts) == state


@pytest.mark.parametrize("number,ok", [("9434765919", True), ("943 476 5919", True), ("9434765918", False),
                                       ("123456789", False), ("abcdefghij", False)])
def test_nhs_number_checksum(number, ok):
    assert nhs_number_is_valid(number) is ok
