"""The version store: how a plan version's document is kept and read back.

A plan's document holds every progress check-in ever made, so a version that copied the
whole document would copy every earlier check-in: each write would grow with history.
Instead:

- each check-in is kept once, as a `CheckInRecord` row (append-only, numbered `seq`
  0, 1, 2, ... per plan, with the id of its goal and its canonical JSON);
- a version's `content` is the canonical JSON of its document *without* those check-ins
  (the "base": about me, goals, choices, staying safe...; each goal's `check_ins` empty),
  and `check_ins` says how many of the plan's records belong to it: the first n;
- reading a version is two indexed reads (the version row and its records, one query
  each, whatever the history) and putting each record back at the end of its goal's
  `check_ins`, in `seq` order. The result is the document exactly as it was written:
  `content_of` returns it byte for byte as the canonical JSON stored before this layout.

A version whose `check_ins` is None holds its whole document in `content` (the layout
before migration 0011, kept for any version whose check-ins were not append-only).

Fingerprints (what a signature is on):

- scheme 1: SHA-256 of the whole canonical document. Versions written before 0011 keep
  it (their fingerprints are what people signed).
- scheme 2, versions written since: SHA-256 of "careplans/v2", the number of check-ins n,
  the head of the check-in hash chain after n records, and the base's canonical JSON.
  The chain is chain[0] = 64 zeros, chain[k+1] = SHA-256(canonical JSON of
  [chain[k], goal id, check-in]). So the fingerprint still commits to one exact document
  (the base and every check-in in it, in order), and a write computes it from the
  previous version's chain head and the new check-ins only.
`fingerprint_of` recomputes either scheme from what is stored (`careplans audit verify`).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterable

import msgspec
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from careplans import document
from careplans.models import CheckInRecord, PlanVersion
from careplans.plan_document import canonical_json

GENESIS = "0" * 64
SCHEME_WHOLE = 1
SCHEME_CHAINED = 2


# --- the pure parts ----------------------------------------------------------------------------

def chain_step(prev: str, goal_id: str, body_json: str) -> str:
    """The check-in chain after one more record (`body_json`: its canonical JSON)."""
    return hashlib.sha256(canonical_json([prev, goal_id, body_json]).encode("utf-8")).hexdigest()


def chained_fingerprint(base_json: str, count: int, chain: str) -> str:
    """Scheme 2: the base's canonical JSON and the chain head after `count` check-ins."""
    return hashlib.sha256(f"careplans/v2\n{count}\n{chain}\n{base_json}".encode("utf-8")).hexdigest()


def whole_fingerprint(content_json: str) -> str:
    """Scheme 1: SHA-256 of the whole canonical document."""
    return hashlib.sha256(content_json.encode("utf-8")).hexdigest()


def decode(text: str | bytes) -> Any:
    return msgspec.json.decode(text)


def assemble(base: dict[str, Any], records: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Put check-ins back into their goals (`records`: (goal id, check-in) in seq order).
    Changes and returns `base` (pass a freshly decoded one). A record whose goal is not in
    the document belongs to no goal of this version and is left out."""
    by_goal: dict[str, list[Any]] = {}
    for goal_id, item in records:
        by_goal.setdefault(goal_id, []).append(item)
    if not by_goal:
        return base
    goals = base.get("goals")
    for goal in goals if isinstance(goals, list) else ():
        if isinstance(goal, dict):
            items = by_goal.get(goal.get("id"))  # type: ignore[arg-type]
            if items:
                goal["check_ins"] = list(goal.get("check_ins") or []) + items
    return base


def split(doc: dict[str, Any], log: dict[str, list[str]]) -> tuple[dict[str, Any], list[tuple[str, str]]] | None:
    """A whole document as (base, new records), given the records the plan already holds
    (`log`: goal id → their canonical JSON, in seq order); None when its check-ins are not
    those records followed by new ones (then the version keeps its whole document)."""
    goals = doc.get("goals")
    if not isinstance(goals, list):
        return doc, []
    seen: set[str] = set()
    base_goals: list[Any] = []
    new: list[tuple[str, str]] = []
    for goal in goals:
        gid = goal.get("id") if isinstance(goal, dict) else None
        if not isinstance(gid, str):
            base_goals.append(goal)
            continue
        if gid in seen:
            return None
        seen.add(gid)
        have = log.get(gid, [])
        items = goal.get("check_ins")
        if not isinstance(items, list):
            if have:
                return None
            base_goals.append(goal)
            continue
        bodies = [canonical_json(item) for item in items]
        if bodies[:len(have)] != have:
            return None
        new.extend((gid, b) for b in bodies[len(have):])
        base_goals.append({**goal, "check_ins": []})
    return {**doc, "goals": base_goals}, new


@dataclass
class Stored:
    """What a new version stores: its row's document fields and its new check-in records."""

    content: str
    fingerprint: str
    scheme: int
    check_ins: int | None
    chain: str | None
    records: list[tuple[str, str, str]] = field(default_factory=list)  # (goal id, body, chain)

    def row_fields(self) -> dict[str, Any]:
        return {"content": self.content, "fingerprint": self.fingerprint, "fingerprint_scheme": self.scheme,
                "check_ins": self.check_ins, "check_in_chain": self.chain}


def stored_as(base: dict[str, Any], new: list[tuple[str, str]], count: int, chain: str) -> Stored:
    """A version from its base and new records, after `count` records ending in `chain`."""
    return appended(canonical_json(base), new, count, chain)


def appended(base_json: str, new: list[tuple[str, str]], count: int, chain: str) -> Stored:
    """A version from its base's canonical JSON and new records (goal id, canonical JSON of
    the check-in), after `count` records ending in `chain`. A change that only adds
    check-ins keeps the previous version's base as it is stored."""
    records = []
    for goal_id, body in new:
        chain = chain_step(chain, goal_id, body)
        records.append((goal_id, body, chain))
    count += len(new)
    return Stored(base_json, chained_fingerprint(base_json, count, chain), SCHEME_CHAINED, count, chain, records)


def whole(doc: dict[str, Any]) -> Stored:
    """A version that keeps its whole document (scheme 1)."""
    text = canonical_json(doc)
    return Stored(text, whole_fingerprint(text), SCHEME_WHOLE, None, None)


def first_version(doc: dict[str, Any]) -> Stored:
    """The first version of a new plan."""
    parts = split(doc, {})
    return whole(doc) if parts is None else stored_as(parts[0], parts[1], 0, GENESIS)


def next_version(current: PlanVersion, after: dict[str, Any]) -> Stored | None:
    """The version after `current` (a version holding its check-ins as records), given the
    changed base `after`: every check-in in it is new, since the base had none. None when
    it cannot be kept that way (the caller then keeps the whole document)."""
    parts = split(after, {})
    if parts is None:
        return None
    return stored_as(parts[0], parts[1], int(current.check_ins or 0), current.check_in_chain or GENESIS)


# --- reading -------------------------------------------------------------------------------------

def holds_records(pv: PlanVersion) -> bool:
    return bool(pv.check_ins)


def base_document(pv: PlanVersion) -> dict[str, Any]:
    """The version's document without its check-in records, in today's shape: all a
    write needs (check-ins are only ever added), and enough for goal names."""
    return document.parse(pv.content)


def self_contained(pv: PlanVersion) -> dict[str, Any]:
    """The document of a version that holds no check-in records (else ask `document`)."""
    if holds_records(pv):
        raise ValueError("this plan version keeps check-ins as records: read it with versions.document(db, pv)")
    return document.parse(pv.content)


def _records(db: Session, plan_id: uuid.UUID, count: int) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in db.execute(
        select(CheckInRecord.goal_id, CheckInRecord.body)
        .where(CheckInRecord.plan_id == plan_id, CheckInRecord.seq < count).order_by(CheckInRecord.seq))]


def raw_document(db: Session, pv: PlanVersion) -> dict[str, Any]:
    """The version's document as it was written (not upgraded to today's shape)."""
    base = decode(pv.content)
    if pv.check_ins is None:
        return base
    # Read even when there are none yet, so a read is the same statements for every plan.
    records = _records(db, pv.plan_id, int(pv.check_ins or 0))
    items = decode("[" + ",".join(b for _, b in records) + "]")  # one decode for them all
    return assemble(base, zip((g for g, _ in records), items))


def document_of(db: Session, pv: PlanVersion) -> dict[str, Any]:
    """The version's whole document in today's shape (two statements at most)."""
    return document.upgrade(raw_document(db, pv))


def content_of(db: Session, plan_id: uuid.UUID, number: int) -> str:
    """The canonical JSON of one version, exactly as it was written."""
    pv = db.execute(select(PlanVersion).where(PlanVersion.plan_id == plan_id,
                                              PlanVersion.number == number)).scalar_one()
    if not holds_records(pv):
        return pv.content
    return canonical_json(raw_document(db, pv))


def stored_bytes(db: Session, plan_id: uuid.UUID) -> int:
    """Bytes held for this plan's version documents and its check-in records."""
    versions = db.execute(select(func.coalesce(func.sum(func.length(PlanVersion.content)), 0))
                          .where(PlanVersion.plan_id == plan_id)).scalar_one()
    records = db.execute(select(func.coalesce(func.sum(func.length(CheckInRecord.body)), 0))
                         .where(CheckInRecord.plan_id == plan_id)).scalar_one()
    return int(versions) + int(records)


def log_of(db: Session, plan_id: uuid.UUID) -> tuple[dict[str, list[str]], int, str]:
    """The plan's records by goal, how many there are, and the chain head after them."""
    log: dict[str, list[str]] = {}
    count, chain = 0, GENESIS
    for goal_id, body, link in db.execute(
            select(CheckInRecord.goal_id, CheckInRecord.body, CheckInRecord.chain)
            .where(CheckInRecord.plan_id == plan_id).order_by(CheckInRecord.seq)):
        log.setdefault(goal_id, []).append(body)
        count, chain = count + 1, link
    return log, count, chain


def add_records(db: Session | Connection, plan_id: uuid.UUID, version: int, stored: Stored) -> None:
    """Insert a new version's check-in records (one executemany)."""
    if not stored.records:
        return
    first = int(stored.check_ins or 0) - len(stored.records)
    db.execute(CheckInRecord.__table__.insert(), [
        {"id": uuid.uuid4(), "plan_id": plan_id, "seq": first + i, "goal_id": goal_id, "body": body,
         "chain": chain, "plan_version": version}
        for i, (goal_id, body, chain) in enumerate(stored.records)])


# --- checking -----------------------------------------------------------------------------------

def fingerprints_of(db: Session, rows: list[PlanVersion]) -> dict[tuple[str, int], str]:
    """The fingerprint each version's stored document has now, by its scheme (for
    `careplans audit verify`): one query for the records of all their plans."""
    plan_ids = {pv.plan_id for pv in rows if holds_records(pv) or pv.fingerprint_scheme == SCHEME_CHAINED}
    logs: dict[uuid.UUID, list[tuple[str, str, Any]]] = {}
    if plan_ids:
        for plan_id, goal_id, body in db.execute(
                select(CheckInRecord.plan_id, CheckInRecord.goal_id, CheckInRecord.body)
                .where(CheckInRecord.plan_id.in_(plan_ids)).order_by(CheckInRecord.plan_id, CheckInRecord.seq)):
            logs.setdefault(plan_id, []).append((goal_id, body, None))
    chains: dict[uuid.UUID, list[str]] = {}
    decoded: dict[uuid.UUID, list[tuple[str, Any]]] = {}
    out: dict[tuple[str, int], str] = {}
    for pv in rows:
        log = logs.get(pv.plan_id, [])
        n = int(pv.check_ins or 0)
        if pv.fingerprint_scheme == SCHEME_CHAINED:
            if pv.plan_id not in chains:
                links = [GENESIS]
                for goal_id, body, _ in log:
                    links.append(chain_step(links[-1], goal_id, body))
                chains[pv.plan_id] = links
            links = chains[pv.plan_id]
            out[(str(pv.plan_id), pv.number)] = (chained_fingerprint(pv.content, n, links[n]) if n < len(links)
                                                 else "missing check-in records")
        elif holds_records(pv):
            if pv.plan_id not in decoded:
                decoded[pv.plan_id] = [(g, decode(b)) for g, b, _ in log]
            items = decoded[pv.plan_id][:n]
            out[(str(pv.plan_id), pv.number)] = whole_fingerprint(canonical_json(assemble(decode(pv.content), items)))
        else:
            out[(str(pv.plan_id), pv.number)] = whole_fingerprint(canonical_json(decode(pv.content)))
    return out
