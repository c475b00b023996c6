"""Database models.

The plan's content lives in append-only `plan_versions` rows as canonical JSON
with its SHA-256 fingerprint, its check-ins kept once in `check_in_records`
(careplans.versions, docs/versions.md); `plans` points at the current version so a
read is one indexed join and one query for the check-ins. `goals` and `check_ins` are projections of that content kept in
step on every write, for queries and reports (they hold no free text).
Relationships are lazy="raise": a missing eager load fails loudly instead of
issuing one query per row.
"""

from __future__ import annotations

import datetime as dt
import uuid

from advanced_alchemy.base import DefaultBase, UUIDAuditBase, UUIDBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import (JSON, BigInteger, Boolean, Date, Float, ForeignKey, Index, Integer, LargeBinary, String, Text,
                        UniqueConstraint, false)
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
    # Set when an administrator gives a temporary password (shown to them once, stored only
    # as a hash): the person chooses their own at their next login.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Client(UUIDAuditBase):
    __tablename__ = "clients"

    client_reference: Mapped[str] = mapped_column(String(16), unique=True)
    preferred_name: Mapped[str] = mapped_column(String(120))
    pronouns: Mapped[str | None] = mapped_column(String(40), default=None)
    # Optional: an administrator adds a person by name, pronouns and NHS number; their
    # keyworker records the date of birth.
    date_of_birth: Mapped[dt.date | None] = mapped_column(Date, default=None)
    nhs_number: Mapped[str | None] = mapped_column(String(10), default=None)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), unique=True, default=None)
    # The treatment episode, as data for the national return (NDTMS; careplans.ndtms):
    # referral, triage, discharge date and reason (codes in vocab.DISCHARGE_REASONS) and
    # whether the person consents to their record being reported (None: not asked yet).
    referral_date: Mapped[dt.date | None] = mapped_column(Date, default=None)
    triage_date: Mapped[dt.date | None] = mapped_column(Date, default=None)
    discharged_on: Mapped[dt.date | None] = mapped_column(Date, default=None)
    discharge_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    consent_to_report: Mapped[bool | None] = mapped_column(Boolean, default=None)

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
    start_date: Mapped[dt.date] = mapped_column(Date, index=True)  # reports filter plans by it
    # Latest signature of each party, and the latest version both signed.
    client_signed_version: Mapped[int | None] = mapped_column(Integer, default=None)
    keyworker_signed_version: Mapped[int | None] = mapped_column(Integer, default=None)
    agreed_version: Mapped[int | None] = mapped_column(Integer, default=None)
    agreed_fingerprint: Mapped[str | None] = mapped_column(String(64), default=None)
    # The current version's next review date, kept in step by every new version
    # (commands.change_plan), so the reports count reviews overdue without reading documents.
    next_review_date: Mapped[dt.date | None] = mapped_column(Date, default=None, index=True)


class PlanReference(DefaultBase):
    """A plan's pseudonymous reference (`policy.pseudonym(secret, "plan", id)`, "P-…"),
    kept so an auditor's reference finds the plan by an index instead of hashing every
    plan. Keyed by `key_id`, a fingerprint of the secret (never the secret), so a new
    secret makes new references. Filled by `careplans.references` for plans that have
    none yet; the reference is an HMAC, so it cannot be turned back into the plan's id."""

    __tablename__ = "plan_references"
    __table_args__ = (Index("ix_plan_references_key_reference", "key_id", "reference"),)

    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plans.id"), primary_key=True)
    reference: Mapped[str] = mapped_column(String(16))


class Intervention(UUIDAuditBase):
    """One treatment intervention in the episode, as data for the national return: its
    type (pharmacological, psychosocial, recovery support), setting, and start and end
    dates (codes in vocab.INTERVENTION_TYPES / INTERVENTION_SETTINGS). No free text."""

    __tablename__ = "interventions"

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id"), index=True)
    plan_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("plans.id"), index=True, default=None)
    intervention_type: Mapped[str] = mapped_column(String(24))
    setting: Mapped[str] = mapped_column(String(24))
    start_date: Mapped[dt.date] = mapped_column(Date, index=True)
    end_date: Mapped[dt.date | None] = mapped_column(Date, default=None)
    recorded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))


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
    # Canonical JSON of the document without the check-ins kept as rows (`check_ins` below
    # says how many of the plan's CheckInRecord rows belong to it); the whole document
    # when `check_ins` is None. Read a version's document with careplans.versions.
    content: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(64))
    # 1: SHA-256 of the whole canonical document; 2: SHA-256 over `content` and the head
    # of the check-in hash chain (careplans.versions explains both).
    fingerprint_scheme: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    check_ins: Mapped[int | None] = mapped_column(Integer, default=None)
    check_in_chain: Mapped[str | None] = mapped_column(String(64), default=None)
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


class CheckInRecord(UUIDBase):
    """A progress check-in as written, kept once (append-only) rather than copied into every
    later version's document. A version holds the plan's first `PlanVersion.check_ins` of
    them, each put back into its goal in `seq` order. `chain` is the hash chain over the
    plan's records up to this one (careplans.versions.chain_step)."""

    __tablename__ = "check_in_records"
    __table_args__ = (UniqueConstraint("plan_id", "seq"),)

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plans.id"))
    seq: Mapped[int] = mapped_column(Integer)
    goal_id: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)  # canonical JSON of the check-in, as in the document
    chain: Mapped[str] = mapped_column(String(64))
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
    discussed_on: Mapped[dt.date] = mapped_column(Date, index=True)  # reports filter conversations by it
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


class Share(UUIDBase):
    """A link the client made to one copy of their plan (careplans.shares).

    The token is never stored: only its SHA-256. The share names the plan version
    that was shared, the audience and the sections the client ticked; it expires,
    can be revoked, and each use is an audit event ("share.open"). An optional
    passcode (argon2 hash) is told to the recipient separately; wrong attempts are
    counted and the link stops working after a few."""

    __tablename__ = "shares"

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plans.id"), index=True)
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id"), index=True)
    plan_version: Mapped[int] = mapped_column(Integer)
    fingerprint: Mapped[str] = mapped_column(String(64))
    audience: Mapped[str] = mapped_column(String(16))
    sections: Mapped[list[str]] = mapped_column(JSON, default=list)
    large_print: Mapped[bool] = mapped_column(Boolean, default=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    passcode_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    revoked_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), default=None)
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_by_role: Mapped[str] = mapped_column(String(16))
    # A keyworker makes a share only together with the client: the share records both.
    with_client: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)


class PdfCopy(DefaultBase):
    """A rendered PDF, kept so the same copy is served again byte for byte (ETag).

    `key` is the SHA-256 of everything the copy depends on: plan, version, agreement
    state, audience, sections, large print, the date printed on it and the template
    revision. A new plan version makes a new key, so an old copy is never served for it."""

    __tablename__ = "pdf_copies"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plans.id"), index=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
class Assessment(UUIDBase):
    """One go at a questionnaire with the person: its version, the stage (TOP: start,
    review, exit) and the date it is about. The answers are rows of their own, each
    with the visibility the person chose, so every read filters them in SQL."""

    __tablename__ = "assessments"

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plans.id"), index=True)
    questionnaire: Mapped[str] = mapped_column(String(40), index=True)
    questionnaire_version: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str | None] = mapped_column(String(16), default=None)
    status: Mapped[str] = mapped_column(String(16), default="in_progress")
    taken_on: Mapped[dt.date] = mapped_column(Date)
    started_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    recorded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    recorded_role: Mapped[str] = mapped_column(String(16))
    plan_version: Mapped[int] = mapped_column(Integer)  # the plan version its last save made
    # The part of the questionnaire to carry on from, when saved part-way (pages).
    resume_part: Mapped[int | None] = mapped_column(Integer, default=None)


class AssessmentAnswer(UUIDBase):
    """One answer: a value, or "prefer not to say" / "not now" (never a blank), and who
    may see it (careplans.policy.answer_scope reads `visibility` inside every query)."""

    __tablename__ = "assessment_answers"
    __table_args__ = (UniqueConstraint("assessment_id", "question"),)

    assessment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("assessments.id"), index=True)
    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plans.id"), index=True)
    question: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(24))
    value: Mapped[str | None] = mapped_column(Text, default=None)  # JSON of the value when answered
    visibility: Mapped[str] = mapped_column(String(24), index=True)
    answered_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    answered_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    answered_role: Mapped[str] = mapped_column(String(16))
    answered_by_name: Mapped[str] = mapped_column(String(120))


class AnswerVisibilityChange(UUIDBase):
    """The person narrowed or widened who sees one answer: kept, never overwritten."""

    __tablename__ = "answer_visibility_changes"

    answer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("assessment_answers.id"), index=True)
    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plans.id"), index=True)
    before: Mapped[str] = mapped_column(String(24))
    after: Mapped[str] = mapped_column(String(24))
    changed_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
class FeedbackResponse(UUIDBase):
    """"Was I heard?": the client's answers after a plan was agreed or reviewed.

    Three optional 1-5 answers (None: not answered), an optional comment in the client's
    own words, and whether they chose to pass the comment on to the service anonymously.
    A skipped invitation is a row with `skipped` set and no answers, so it is not asked
    again for that version. Auditors read only totals per quarter and question
    (`careplans.reports`); the comment stays with the client and their keyworker."""

    __tablename__ = "feedback_responses"
    __table_args__ = (UniqueConstraint("plan_id", "plan_version"),)

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plans.id"), index=True)
    plan_version: Mapped[int] = mapped_column(Integer)
    asked_after: Mapped[str] = mapped_column(String(16))  # "agreed" or "reviewed"
    listened: Mapped[int | None] = mapped_column(Integer, default=None)
    options_explained: Mapped[int | None] = mapped_column(Integer, default=None)
    plan_is_mine: Mapped[int | None] = mapped_column(Integer, default=None)
    comment: Mapped[str | None] = mapped_column(Text, default=None)
    pass_on: Mapped[bool] = mapped_column(Boolean, default=False)
    skipped: Mapped[bool] = mapped_column(Boolean, default=False)
    answered_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow, index=True)


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
