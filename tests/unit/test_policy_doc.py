"""docs/security.md says who may do what and who reads what; the policy module decides it.
The two must agree: a change to either without the other fails here."""

from __future__ import annotations

import re
from pathlib import Path

from careplans import policy

DOC = (Path(__file__).resolve().parents[2] / "docs" / "security.md").read_text(encoding="utf-8")
ROLES = ["client", "keyworker", "clinician", "auditor", "admin"]


def _rows(heading: str) -> list[list[str]]:
    section = DOC.split(heading, 1)[1].split("\n## ", 1)[0]
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in section.splitlines()
            if line.startswith("|") and not line.startswith("|---")]
    return rows[1:]  # without the header


def test_the_actions_table_is_the_policy():
    documented = {}
    for cells in _rows("## Who may do what"):
        action = cells[0].strip("`")
        documented[action] = frozenset(r for r, c in zip(ROLES, cells[1:]) if c == "yes")
    assert documented == policy.ACTIONS


def test_the_audience_table_is_the_policy():
    documented = {cells[0]: cells for cells in _rows("## What of a plan each audience reads")}
    assert set(documented) == set(policy.AUDIENCES)
    for name, vis in policy.AUDIENCES.items():
        cells = documented[name]
        sections = set(re.findall(r"[a-z_]+", cells[1].split("(")[0])) & set(policy.SECTIONS)
        assert sections == set(vis.sections), name
        assert [c == "yes" for c in cells[2:6]] == [vis.free_text, vis.names, vis.identity, vis.history], name


def test_the_answer_table_is_the_policy():
    documented = {}
    for cells in _rows("## Which assessment answers each audience reads"):
        documented[cells[0]] = frozenset(level for level, c in zip(policy.ANSWER_LEVELS, cells[1:]) if c == "yes")
    assert documented == policy.ANSWER_AUDIENCES
    assert set(documented) == set(policy.AUDIENCES)
