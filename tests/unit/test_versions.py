"""The version store's pure parts: a document split into a base and check-in records
reads back as the same bytes; what is not append-only is refused; the chained
fingerprint changes with any check-in."""

from __future__ import annotations

import copy

from careplans import versions
from careplans.plan_document import canonical_json, empty_content


def _doc(check_ins: dict[str, list[int]]) -> dict:
    doc = empty_content()
    for gid, numbers in check_ins.items():
        doc["goals"].append({"id": gid, "title": {"text": f"Goal {gid} ✓", "voice": "client"}, "area": "health",
                             "status": "active", "check_ins": [{"id": f"{gid}-{n}", "rating": n, "at": "2026-01-01",
                                                                "note": None} for n in numbers]})
    return doc


def _read_back(base: dict, log: list[tuple[str, str]]) -> str:
    return canonical_json(versions.assemble(versions.decode(canonical_json(base)),
                                            [(g, versions.decode(b)) for g, b in log]))


def test_split_and_assemble_read_back_the_same_bytes_version_after_version():
    history = [_doc({"a": []}), _doc({"a": [1]}), _doc({"a": [1, 2], "b": [3]}), _doc({"b": [3, 4], "a": [1, 2]})]
    log: dict[str, list[str]] = {}
    flat: list[tuple[str, str]] = []
    for doc in history:
        parts = versions.split(copy.deepcopy(doc), log)
        assert parts is not None
        base, new = parts
        assert all(g["check_ins"] == [] for g in base["goals"])
        for goal_id, body in new:
            log.setdefault(goal_id, []).append(body)
        flat += new
        assert _read_back(base, flat) == canonical_json(doc)
    assert [g for g, _ in flat] == ["a", "a", "b", "b"]


def test_a_check_in_taken_out_or_a_goal_twice_is_refused():
    log = {"a": [canonical_json({"id": "a-1", "rating": 1, "at": "2026-01-01", "note": None})]}
    assert versions.split(_doc({"a": []}), log) is None  # the record is no longer there
    assert versions.split(_doc({"a": [2]}), log) is None  # another in its place
    twice = _doc({"a": [1]})
    twice["goals"].append(copy.deepcopy(twice["goals"][0]))
    assert versions.split(twice, {}) is None


def test_a_record_of_a_goal_no_longer_in_the_plan_is_left_out():
    base = _doc({"b": []})
    assert versions.assemble(base, [("a", {"id": "a-1"})]) == _doc({"b": []})


def test_the_chained_fingerprint_changes_with_any_check_in_and_its_goal():
    doc = _doc({"a": [1, 2], "b": [3]})
    base, new = versions.split(doc, {})
    stored = versions.stored_as(base, new, 0, versions.GENESIS)
    assert stored.scheme == versions.SCHEME_CHAINED and stored.check_ins == 3
    assert stored.fingerprint == versions.chained_fingerprint(stored.content, 3, stored.records[-1][2])
    changed = [(g, b.replace('"rating":2', '"rating":9')) for g, b in new]
    assert versions.stored_as(base, changed, 0, versions.GENESIS).fingerprint != stored.fingerprint
    moved = [("b" if i == 0 else g, b) for i, (g, b) in enumerate(new)]
    assert versions.stored_as(base, moved, 0, versions.GENESIS).fingerprint != stored.fingerprint
    # Extending from the chain head gives the same as computing from the start.
    first = versions.stored_as(base, new[:2], 0, versions.GENESIS)
    rest = versions.stored_as(base, new[2:], first.check_ins, first.chain)
    assert rest.fingerprint == stored.fingerprint


def test_a_whole_version_keeps_the_scheme_1_fingerprint_of_the_document():
    doc = _doc({"a": [1]})
    stored = versions.whole(doc)
    assert stored.check_ins is None and stored.content == canonical_json(doc)
    assert stored.fingerprint == versions.whole_fingerprint(canonical_json(doc))
