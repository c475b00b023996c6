"""The view models of the presentation step (careplans.present): typed msgspec Structs
the JSON API returns (so `/schema` documents them) and pages render, and the `Snapshot`
a query reads a plan version into."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import msgspec

from careplans import changes as ch
from careplans.document import AboutMe, ChoiceEntry, Goal, StayingSafe, Voiced


class View(msgspec.Struct, kw_only=True):
    pass


class AgreementWords(View):
    """The agreement state in words for one reader ("Agreed by Alex on 3 March 2026;
    Sam Okafor has not signed yet."), shared by pages, the API and printed copies."""

    headline: str          # short, for a tag: "Not agreed yet", "Waiting for you to sign", ...
    sentence: str          # the whole state in one sentence
    tone: str              # "agreed", "waiting", "changed" or "not_agreed" (the tag's colour)
    reader_may_sign: bool  # the reader is a party who has not signed this version
    compare_from: int | None = None  # "see what changed": from this version ...
    compare_to: int | None = None    # ... to the current one


class AgreementView(View):
    state: str
    version: int | None
    fingerprint: str | None
    current_version: int
    current_fingerprint: str
    client_signed_version: int | None
    keyworker_signed_version: int | None
    current_label: str = ""  # "v7 · 3f9a 21c0": the version and a short fingerprint, to read out and compare
    agreed_label: str | None = None
    words: AgreementWords | None = None


class Finding(View):
    code: str | None = None
    field: str | None = None
    message: str | None = None
    source: str | None = None
    reason: str | None = None


class DecisionView(View):
    id: str
    plan_id: str
    plan_version: int
    fingerprint: str
    decision: str
    option: str
    option_name: str
    product: str | None
    product_name: str | None
    dose_mg: float | None
    frequency: str | None
    frequency_name: str | None
    supervision: str | None
    supervision_name: str | None
    instalment_days: int | None
    pharmacy: str | None
    start_date: str | None
    review_date: str | None
    rationale: Voiced | None
    client_explanation: Voiced | None
    acknowledged_warnings: list[Finding]
    suggestions: list[Finding]
    clinical_context: dict[str, Any]
    home_office_licence: str | None
    by: str | None
    by_role: str
    at: str
    summary: str


class PlanView(View):
    id: str
    client_id: str
    version: int
    status: str
    fingerprint: str
    updated_at: str
    schema_version: int
    agreement: AgreementView | None
    about_me: AboutMe | None
    goals: list[Goal]
    choices: list[ChoiceEntry]
    prescribing: list[DecisionView]
    staying_safe: StayingSafe | None
    next_review_date: str | None
    label: str = ""  # this version and its short fingerprint: "v7 · 3f9a 21c0"
    substances: list[str] = msgspec.field(default_factory=list)
    """What the plan is about (codes of vocab.SUBSTANCES); read with the treatment choices."""


class PlanVersionView(PlanView, kw_only=True):
    author: str | None
    role: str
    at: str
    summary: str
    is_current: bool


class ChoiceEntryView(ChoiceEntry, kw_only=True):
    summary: str


class VersionEntry(View):
    version: int
    author: str | None
    role: str
    at: str
    summary: str
    changes: list[str]
    fingerprint: str
    label: str = ""  # "v7 · 3f9a 21c0"


class DiffChange(View):
    path: str
    before: Any
    after: Any
    by: str | None
    summary: str
    what: str = ""  # the summary without its subject, for pages that group changes by who made them


class DiffView(View):
    from_: int = msgspec.field(name="from")
    to: int
    changes: list[DiffChange]


# --- the snapshot a query reads ---------------------------------------------------------------

@dataclass
class Snapshot:
    """One plan version as read: the plan row's facts, the document, the decisions."""

    id: str
    client_id: str
    status: str
    current_version: int
    current_fingerprint: str
    agreement_state: str
    agreed_version: int | None
    agreed_fingerprint: str | None
    client_signed_version: int | None
    keyworker_signed_version: int | None
    version: int
    fingerprint: str
    created_at: dt.datetime
    content: dict[str, Any]
    decisions: list[dict[str, Any]] = field(default_factory=list)
    author_id: str | None = None
    author_name: str | None = None
    author_role: str | None = None
    changes: list[ch.Change] = field(default_factory=list)
    # Every signature on the plan, oldest first ({"version", "role", "by", "by_id", "at"}), and the
    # names of the two parties ({"client": preferred name, "keyworker": current keyworker's name}),
    # for the agreement state in words. Empty when the caller did not read them.
    signatures: list[dict[str, Any]] = field(default_factory=list)
    party_names: dict[str, str | None] = field(default_factory=dict)


def iso(at: dt.datetime) -> str:
    return at.astimezone(dt.timezone.utc).isoformat(timespec="seconds")
