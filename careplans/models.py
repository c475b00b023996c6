"""Database models.

The plan's content lives in append-only `plan_versions` rows as canonical JSON
with its SHA-256 fingerprint; `plans` points at the current version so a read is
one indexed join. `goals` and `check_ins` are projections of that content kept in
step on every write, for queries and reports (they hold no free text).
Relationships are lazy="raise": a missing eager load fails loudly instead of
issuing one query per row.
"""

from __future__ import annotations

import datetime as dt
import uuid

from advanced_alchemy.base import DefaultBase, UUIDAuditBase, UUIDBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import JSON, BigInteger, Boolean, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

ROLES = ("client", "keyworker", "clinician", "auditor", "admin")
STAFF_RELATIONS = ("keyworker", "prescriber")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class User(UUIDAuditBase):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    # Diamorphine for addiction may only be prescribed under a Home Office licence.
    home_office_licence: Mapped[str | None] = mapped_column(String(64), default=None)


class Client(UUIDAuditBase):
    __tablename__ = "clients"

    client_reference: Mapped[str] = mapped_column(String(16), unique=True)
    preferred_name: Mapped[str] = mapped_column(String(120))
    pronouns: Mapped[str | None] = mapped_column(String(40), default=None)
    date_of_birth: Mapped[dt.date] = mapped_column(Date)
    nhs_number: Mapped[str | None] = mapped_column(String(10), default=None)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), unique=True, default=None)
    # NDTMS dates, kept so an extract can be built later.
    triage_date: Mapped[dt.date | None] = mapped_column(Date, default=None)
    discharged_on: Mapped[dt.date | None] = mapped_column(Date, default=None)

    assignments: Mapped[list[CaseloadAssignment]] = relationship(back_populates="client", lazy="raise")


class CaseloadAssignment(UUIDAuditBase):
    """A member of staff working with a client: their keyworker, or a prescribing clinician."""

    __tablename__ = "caseload_assignments"
    __table_args__ = (UniqueConstraint("client_id", "staff_user_id", "relation"),)

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id"), index=True)
    staff_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    relation: Mapped[str] = mapped_column(String(16))
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)

    client: Mapped[Client] = relationship(back_populates="assignments", lazy="raise")


class Plan(UUIDAuditBase):
    __tablename__ = "plans"

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id"), unique=True)
    version: Mapped[int] = mapped_column(Integer)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="active")
    start_date: Mapped[dt.date] = mapped_column(Date)
    # Latest signature of each party, and the latest version both signed.
    client_signed_version: Mapped[int | None] = mapped_column(Integer, default=None)
    keyworker_signed_version: Mapped[int | None] = mapped_column(Integer, default=None)
    agreed_version: Mapped[int | None] = mapped_column(Integer, default=None)
    agreed_fingerprint: Mapped[str | None] = mapped_column(String(64), default=None)


class PlanVersion(UUIDBase):
    """One committed state of a plan. Never updated or deleted."""

    __tablename__ = "plan_versions"
    __table_args__ = (UniqueConstraint("plan_id", "number"),)

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plans.id"))
    number: Mapped[int] = mapped_column(Integer)
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    author_role: Mapped[str] = mapped_column(String(16))
    author_name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    content: Mapped[str] = mapped_column(Text)  # canonical JSON
    fingerprint: Mapped[str] = mapped_column(String(64))
    changed_paths: Mapped[list[str]] = mapped_column(JSON, default=list)
    # What changed from the previous version, as data (careplans.changes.Change): section,
    # item, field, kind, and values only where they are codes, dates or numbers. Rendered
    # as sentences for each reader at read time; never a copy of anything anyone wrote.
    changes: Mapped[list[dict]] = mapped_column(JSON, default=list)


class Goal(UUIDBase):
    """Projection of a goal in the current plan version (no free text)."""

    __tablename__ = "goals"

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plans.id"), index=True)
    area: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    target_date: Mapped[dt.date | None] = mapped_column(Date, default=None)
    created_in_version: Mapped[int] = mapped_column(Integer)
    updated_in_version: Mapped[int] = mapped_column(Integer)


class CheckIn(UUIDBase):
    """Projection of a progress check-in (0-10)."""

    __tablename__ = "check_ins"

    goal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("goals.id"), index=True)
    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plans.id"), index=True)
    rating: Mapped[int] = mapped_column(Integer)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    recorded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    plan_version: Mapped[int] = mapped_column(Integer)


class Agreement(UUIDBase):
    """A signature on one exact plan version (its fingerprint). Append-only."""

    __tablename__ = "agreements"

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plans.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    fingerprint: Mapped[str] = mapped_column(String(64))
    signer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    signer_role: Mapped[str] = mapped_column(String(16))
    statement: Mapped[str | None] = mapped_column(Text, default=None)
    signed_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)


class AuditEvent(DefaultBase):
    """Append-only, hash-chained log of every write and every read of plan content."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    actor_id: Mapped[str | None] = mapped_column(String(36), index=True)
    actor_role: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(48))
    plan_id: Mapped[str | None] = mapped_column(String(36), index=True)
    client_id: Mapped[str | None] = mapped_column(String(36))
    detail: Mapped[str] = mapped_column(Text)  # canonical JSON; never free text
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(DefaultBase):
    """The chain's head: one row, locked by every writer so the chain never forks."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class ChoiceEntry(UUIDBase):
    """Projection of one treatment-options ledger entry (the entry itself lives in the
    plan content, so it is in the version history). No free text: for queries and the
    choice report only. `id` is the entry's id in the content."""

    __tablename__ = "choice_entries"

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plans.id"), index=True)
    option: Mapped[str] = mapped_column(String(40), index=True)
    option_kind: Mapped[str] = mapped_column(String(16))
    information_given: Mapped[bool] = mapped_column(Boolean)
    information_format: Mapped[str | None] = mapped_column(String(32), default=None)
    discussed_on: Mapped[dt.date] = mapped_column(Date)
    # "preferred", "open", "not_preferred", "stated" (said in their own words) or None.
    preference: Mapped[str | None] = mapped_column(String(16), default=None)
    # True when the person said they want this option, or chose it.
    preferred: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome: Mapped[str | None] = mapped_column(String(16), default=None)
    has_reason: Mapped[bool] = mapped_column(Boolean, default=False)
    has_client_view: Mapped[bool] = mapped_column(Boolean, default=False)
    available_locally: Mapped[bool] = mapped_column(Boolean, default=True)
    unmet_need: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    recorded_role: Mapped[str] = mapped_column(String(16))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    plan_version: Mapped[int] = mapped_column(Integer)


class PrescribingDecision(UUIDBase):
    """A clinician's prescribing decision about one exact plan version (its fingerprint).

    Append-only: a new decision supersedes an older one; none is ever edited.
    `acknowledged_warnings` keeps each rule warning the clinician accepted, with the
    rule's code, message and source and the clinician's reason."""

    __tablename__ = "prescribing_decisions"

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plans.id"), index=True)
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id"), index=True)
    plan_version: Mapped[int] = mapped_column(Integer)
    fingerprint: Mapped[str] = mapped_column(String(64))
    clinician_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    clinician_name: Mapped[str] = mapped_column(String(120))
    home_office_licence: Mapped[str | None] = mapped_column(String(64), default=None)
    decision: Mapped[str] = mapped_column(String(24))
    option: Mapped[str] = mapped_column(String(40))
    product: Mapped[str | None] = mapped_column(String(64), default=None)
    dose_mg: Mapped[float | None] = mapped_column(Float, default=None)
    frequency: Mapped[str | None] = mapped_column(String(32), default=None)
    supervision: Mapped[str | None] = mapped_column(String(48), default=None)
    instalment_days: Mapped[int | None] = mapped_column(Integer, default=None)
    pharmacy: Mapped[str | None] = mapped_column(String(200), default=None)
    start_date: Mapped[dt.date | None] = mapped_column(Date, default=None)
    review_date: Mapped[dt.date | None] = mapped_column(Date, default=None, index=True)
    rationale: Mapped[str] = mapped_column(Text)
    client_explanation: Mapped[str] = mapped_column(Text)
    acknowledged_warnings: Mapped[list[dict]] = mapped_column(JSON, default=list)
    suggestions: Mapped[list[dict]] = mapped_column(JSON, default=list)
    clinical_context: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)


class LoginThrottle(DefaultBase):
    """Failed logins counted per key ("addr:1.2.3.4", "acct:name", "pair:name|1.2.3.4").

    A soft, growing delay instead of a hard lock: nobody can lock a person out for good,
    and keys are usernames as typed, so a known and an unknown username answer alike.
    """

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    first_failure_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    blocked_until: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None,
                                                              index=True)
