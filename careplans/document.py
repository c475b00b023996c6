"""The plan document as a typed, versioned structure, and its upgrade chain.

A plan version stores its document as canonical JSON (see `plan_document.canonical_json`),
so its fingerprint is stable. This module says what a document *is*:

- `PlanDocument` and its parts are msgspec Structs. Every write is checked against
  them (`validate`) before it is stored; every read converts into them (`load`).
- `SCHEMA_VERSION` is the shape written today. A stored document of an older shape is
  upgraded on read by a short chain of pure functions (`UPGRADES`), each tested; the
  stored bytes are never rewritten (their fingerprints are what people signed).

Schema history:
1. (no `schema_version` key) the first documents. Plans started before treatment
   choices and staying safe existed have no `choices` or `staying_safe`.
2. `schema_version: 2`; `choices` and `staying_safe` always present.
3. `schema_version: 3`; `substances`: what the plan is about (codes of
   `vocab.SUBSTANCES`, chosen by the person), empty when not said yet.
"""

from __future__ import annotations

from typing import Any, Callable

import msgspec

from careplans import vocab
from careplans.plan_document import SCHEMA_VERSION, empty_staying_safe

# Codes, from the one vocabulary of each concept.
AreaCode = vocab.GOAL_AREAS.literal()
StatusCode = vocab.GOAL_STATUSES.literal()
OutcomeCode = vocab.CHOICE_OUTCOMES.literal()
PreferenceCode = vocab.PREFERENCES.literal()
FormatCode = vocab.INFORMATION_FORMATS.literal()
BBVStatusCode = vocab.BBV_STATUSES.literal()
NSPCode = vocab.NSP_STATUSES.literal()
RiskCode = vocab.RISK_MOMENTS.literal()
NaloxoneProductCode = vocab.NALOXONE_PRODUCTS.literal()
SubstanceCode = vocab.SUBSTANCES.literal()


class Part(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


class Voiced(Part, kw_only=True, omit_defaults=True):
    """Words somebody wrote, with whose words they are: voice "client" (in the person's
    own words) or "worker" (a worker's note); `by` and `by_role` name the writer."""

    text: str
    voice: str
    by: str | None = None
    by_role: str | None = None
    disagreement: Disagreement | None = None


class Disagreement(Part, kw_only=True):
    """“We see this differently”: both views kept side by side."""

    client: Voiced | None = None
    worker: Voiced | None = None


class Step(Part, kw_only=True):
    id: str
    text: Voiced | None
    who_helps: str | None = None
    when: str | None = None


class CheckIn(Part, kw_only=True):
    id: str
    rating: int
    note: Voiced | None = None
    at: str
    by: str | None = None


class Goal(Part, kw_only=True):
    id: str
    title: Voiced | None
    why: Voiced | None = None
    area: AreaCode  # type: ignore[valid-type]
    steps: list[Step] = msgspec.field(default_factory=list)
    target_date: str | None = None
    status: StatusCode  # type: ignore[valid-type]
    created_on: str | None = None
    check_ins: list[CheckIn] = msgspec.field(default_factory=list)


class ChoiceEntry(Part, kw_only=True):
    """One treatment option discussed once (the choice ledger)."""

    id: str
    option: str
    option_name: str
    kind: str
    information_given: bool
    information_format: FormatCode | None = None  # type: ignore[valid-type]
    discussed_on: str
    client_view: Voiced | None = None
    preference: PreferenceCode | None = None  # type: ignore[valid-type]
    preference_words: Voiced | None = None
    outcome: OutcomeCode | None = None  # type: ignore[valid-type]
    reason: Voiced | None = None
    available_locally: bool = True
    unmet_need: bool = False
    recorded_by: str | None = None
    recorded_by_role: str | None = None
    recorded_at: str | None = None


class Naloxone(Part, kw_only=True):
    offered: bool | None = None
    offered_on: str | None = None
    supplied: bool | None = None
    product: NaloxoneProductCode | None = None  # type: ignore[valid-type]
    supplied_on: str | None = None
    supplied_by: str | None = None
    peer_supply: bool | None = None


class RiskMoment(Part, kw_only=True):
    kind: RiskCode  # type: ignore[valid-type]
    date: str | None = None
    note: Voiced | None = None


class StayingSafe(Part, kw_only=True):
    naloxone: Naloxone = msgspec.field(default_factory=Naloxone)
    needle_syringe_access: NSPCode | None = None  # type: ignore[valid-type]
    bbv: dict[str, BBVStatusCode] = msgspec.field(default_factory=dict)  # type: ignore[valid-type]
    overdose_risk_moments: list[RiskMoment] = msgspec.field(default_factory=list)
    notes: Voiced | None = None


class AboutMe(Part, kw_only=True):
    what_matters: Voiced | None = None
    strengths: Voiced | None = None
    what_helps: Voiced | None = None
    what_does_not_help: Voiced | None = None
    contact_preferences: Voiced | None = None
    important_people: Voiced | None = None


class PlanDocument(Part, kw_only=True):
    schema_version: int = SCHEMA_VERSION
    about_me: AboutMe = msgspec.field(default_factory=AboutMe)
    goals: list[Goal] = msgspec.field(default_factory=list)
    choices: list[ChoiceEntry] = msgspec.field(default_factory=list)
    staying_safe: StayingSafe = msgspec.field(default_factory=StayingSafe)
    next_review_date: str | None = None
    substances: list[SubstanceCode] = msgspec.field(default_factory=list)  # type: ignore[valid-type]


class DocumentShapeError(ValueError):
    """A document that does not fit the schema (a bug or a damaged row, never user input)."""


# --- upgrades ------------------------------------------------------------------------------

def _v1_to_v2(doc: dict[str, Any]) -> dict[str, Any]:
    out = dict(doc)
    out.setdefault("choices", [])
    if out.get("staying_safe") is None:
        out["staying_safe"] = empty_staying_safe()
    out["schema_version"] = 2
    return out


def _v2_to_v3(doc: dict[str, Any]) -> dict[str, Any]:
    out = dict(doc)
    out.setdefault("substances", [])
    out["schema_version"] = 3
    return out


# UPGRADES[n] turns a schema-n document into schema n+1.
UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _v1_to_v2, 2: _v2_to_v3}


def schema_version_of(doc: dict[str, Any]) -> int:
    return int(doc.get("schema_version") or 1)


def upgrade(doc: dict[str, Any]) -> dict[str, Any]:
    """The document in today's shape (the input is not changed)."""
    version = schema_version_of(doc)
    if version > SCHEMA_VERSION:
        raise DocumentShapeError(f"document schema {version} is newer than this software ({SCHEMA_VERSION})")
    while version < SCHEMA_VERSION:
        doc = UPGRADES[version](doc)
        version = schema_version_of(doc)
    return doc


def parse(content: str | bytes) -> dict[str, Any]:
    """Stored canonical JSON → a plain document in today's shape."""
    return upgrade(msgspec.json.decode(content))


def validate(doc: dict[str, Any]) -> PlanDocument:
    """Check a plain document against the schema; the typed document, or DocumentShapeError."""
    try:
        return msgspec.convert(doc, PlanDocument)
    except msgspec.ValidationError as exc:
        raise DocumentShapeError(str(exc)) from exc


def load(content: str | bytes) -> PlanDocument:
    return validate(parse(content))
