"""The typed plan document and its upgrade chain."""

from __future__ import annotations

import json

import pytest

from careplans import document
from careplans import plan_document as doc

# A document as the first release stored it: no schema_version, no choices, no staying safe.
VERSION_1 = {
    "about_me": {"what_matters": {"text": "My kids", "voice": "client", "by": "Jordan", "by_role": "client"},
                 "strengths": None, "what_helps": None, "what_does_not_help": None, "contact_preferences": None,
                 "important_people": None},
    "goals": [{"id": "g1", "title": {"text": "Walk more", "voice": "client", "by": "Jordan", "by_role": "client"},
               "why": None, "area": "health", "steps": [], "target_date": None, "status": "active",
               "created_on": "2026-01-01", "check_ins": []}],
    "next_review_date": "2027-01-01",
}


def test_a_stored_version_1_document_reads_as_the_current_schema():
    typed = document.load(json.dumps(VERSION_1))
    assert typed.schema_version == document.SCHEMA_VERSION == 3
    assert typed.substances == []
    assert typed.choices == [] and typed.staying_safe.bbv["hiv_test"] == "not_discussed"
    assert typed.goals[0].title.text == "Walk more" and typed.about_me.what_matters.voice == "client"


def test_upgrade_does_not_change_its_input():
    original = json.dumps(VERSION_1, sort_keys=True)
    document.upgrade(VERSION_1)
    assert json.dumps(VERSION_1, sort_keys=True) == original


def test_new_documents_carry_the_schema_version_and_validate():
    assert doc.empty_content()["schema_version"] == document.SCHEMA_VERSION
    document.validate(doc.empty_content())


@pytest.mark.parametrize("bad", [
    {**doc.empty_content(), "goals": [{"id": "g", "title": None, "area": "space_travel", "status": "active"}]},
    {**doc.empty_content(), "surprise": 1},
    {**doc.empty_content(), "schema_version": 99},
])
def test_documents_that_do_not_fit_are_refused(bad):
    with pytest.raises(document.DocumentShapeError):
        document.validate(document.upgrade(bad))


def test_a_version_2_document_gains_no_substances_and_a_choice_of_substances_validates():
    v2 = {**doc.empty_content(), "schema_version": 2}
    del v2["substances"]
    upgraded = document.upgrade(v2)
    assert upgraded["schema_version"] == 3 and upgraded["substances"] == []
    chosen = doc.set_substances(upgraded, ["stimulants", "alcohol", "alcohol"])
    assert chosen["substances"] == ["alcohol", "stimulants"]
    assert document.validate(chosen).substances == ["alcohol", "stimulants"]
    with pytest.raises(doc.DocumentError):
        doc.set_substances(upgraded, ["booze"])
