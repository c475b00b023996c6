"""Typed request bodies. Unknown fields are refused (no mass assignment); text has limits."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from careplans import vocab

LongText = Annotated[str, Meta(max_length=4000)]
Title = Annotated[str, Meta(min_length=1, max_length=200)]
Short = Annotated[str, Meta(max_length=200)]
Substance = vocab.SUBSTANCES.literal()
Area = Literal["drug_alcohol_use", "health", "offending", "social_functioning", "harm_reduction"]
GoalStatus = Literal["proposed", "active", "achieved", "paused", "let_go"]


class Input(Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class LoginRequest(Input):
    username: Annotated[str, Meta(min_length=1, max_length=64)]
    password: Annotated[str, Meta(min_length=1, max_length=1024)]


class ClientCreate(Input):
    preferred_name: Annotated[str, Meta(min_length=1, max_length=120)]
    date_of_birth: dt.date
    pronouns: Annotated[str, Meta(max_length=40)] | None = None
    nhs_number: Annotated[str, Meta(max_length=14)] | None = None
    keyworker_id: Annotated[str, Meta(max_length=40)] | None = None


class DifferentView(Input):
    """“We see this differently”: keep the current words and add mine beside them."""

    different_view: Annotated[str, Meta(min_length=1, max_length=4000)]


AboutMeValue = LongText | DifferentView | None


class AboutMePatch(Input):
    what_matters: AboutMeValue | UnsetType = UNSET
    strengths: AboutMeValue | UnsetType = UNSET
    what_helps: AboutMeValue | UnsetType = UNSET
    what_does_not_help: AboutMeValue | UnsetType = UNSET
    contact_preferences: AboutMeValue | UnsetType = UNSET
    important_people: AboutMeValue | UnsetType = UNSET


class NaloxonePatch(Input):
    offered: bool | None | UnsetType = UNSET
    offered_on: dt.date | None | UnsetType = UNSET
    supplied: bool | None | UnsetType = UNSET
    product: Literal["prenoxad", "nyxoid"] | None | UnsetType = UNSET
    supplied_on: dt.date | None | UnsetType = UNSET
    supplied_by: Short | None | UnsetType = UNSET
    peer_supply: bool | None | UnsetType = UNSET


BBVStatus = Literal["not_discussed", "offered", "done", "declined", "not_now"]


class BBVPatch(Input):
    hepatitis_b_test: BBVStatus | UnsetType = UNSET
    hepatitis_c_test: BBVStatus | UnsetType = UNSET
    hiv_test: BBVStatus | UnsetType = UNSET
    hepatitis_b_vaccination: BBVStatus | UnsetType = UNSET


class RiskMoment(Input):
    kind: Literal["prison_release", "after_detox", "break_in_treatment", "hospital_discharge", "other"]
    date: dt.date | None = None
    note: LongText | None = None


class StayingSafePatch(Input):
    naloxone: NaloxonePatch | UnsetType = UNSET
    needle_syringe_access: Literal["has_access", "needs_access", "not_needed", "not_discussed"] | None | UnsetType = UNSET
    bbv: BBVPatch | UnsetType = UNSET
    overdose_risk_moments: Annotated[list[RiskMoment], Meta(max_length=20)] | UnsetType = UNSET
    notes: LongText | None | UnsetType = UNSET


class PlanPatch(Input):
    about_me: AboutMePatch | UnsetType = UNSET
    staying_safe: StayingSafePatch | UnsetType = UNSET
    next_review_date: dt.date | None | UnsetType = UNSET
    # What the plan is about (vocab.SUBSTANCES), one or several; [] for "not said yet".
    substances: Annotated[list[Substance], Meta(max_length=10)] | UnsetType = UNSET  # type: ignore[valid-type]


class Step(Input):
    text: Annotated[str, Meta(min_length=1, max_length=1000)]
    who_helps: Short | None = None
    when: Short | None = None
    id: Annotated[str, Meta(max_length=40)] | None = None


class GoalCreate(Input):
    title: Title
    area: Area
    why: LongText | None = None
    steps: Annotated[list[Step], Meta(max_length=30)] = msgspec.field(default_factory=list)
    target_date: dt.date | None = None
    status: GoalStatus | None = None


class GoalPatch(Input):
    title: Title | UnsetType = UNSET
    why: LongText | None | UnsetType = UNSET
    area: Area | UnsetType = UNSET
    steps: Annotated[list[Step], Meta(max_length=30)] | UnsetType = UNSET
    target_date: dt.date | None | UnsetType = UNSET
    status: GoalStatus | UnsetType = UNSET


class CheckInCreate(Input):
    rating: Annotated[int, Meta(ge=0, le=10)]
    note: LongText | None = None


class AgreementCreate(Input):
    version: Annotated[int, Meta(ge=1, le=2**31 - 1)]
    statement: LongText | None = None


def to_plain(struct: Struct) -> dict:
    """A struct as plain values for the domain: UNSET fields left out, dates as ISO strings."""
    out = {}
    for name in struct.__struct_fields__:
        value = getattr(struct, name)
        if value is UNSET:
            continue
        out[name] = _plain(value)
    return out


def _plain(value):
    if isinstance(value, Struct):
        return to_plain(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


# --- response bodies that are not plan views (those are careplans.present) -------------------

class Output(Struct, kw_only=True):
    pass


class AccessLogEntry(Output):
    at: str
    who: str
    role: str | None
    action: str
    what: str


class AccessLog(Output):
    items: list[AccessLogEntry]

    @classmethod
    def from_items(cls, items: list[dict]) -> AccessLog:
        return msgspec.convert({"items": items}, cls)


class Me(Output, omit_defaults=True):
    id: str
    username: str | None
    role: str
    display_name: str
    client_id: str | None = None  # for a client: their own record and plan
    plan_id: str | None = None


class LoginResult(Output):
    user: Me
    csrf_token: str


class Health(Output):
    status: str


class ClientView(Output):
    id: str
    client_reference: str
    preferred_name: str
    pronouns: str | None
    keyworker_id: str | None
    plan_id: str | None
    date_of_birth: str | None = None
    nhs_number: str | None = None
    plan_version: int | None = None
    agreement_state: str | None = None
    agreement_headline: str | None = None  # the state in words for the reader ("Waiting for you to sign")
    agreement_tone: str | None = None
    next_review_date: str | None = None


class ClientList(Output):
    items: list[ClientView]
    total: int
    limit: int
    offset: int


class ProductView(Output):
    code: str
    name: str
    form: str | None
    route: str | None
    strengths: list[Any]
    dose_must_be_a_strength: bool
    strengths_mg: list[float]
    frequencies: list[str]
    controlled_drug_schedule: Any
    professional_administration_only: bool
    home_office_licence_required: bool
    notes: str | None
    source: str | None


class OptionView(Output):
    code: str
    name: str
    kind: str
    plain_description: str
    available_locally: bool
    qs23_category: str | None
    source: str | None
    products: list[ProductView] | None = None


class QueueReason(Output):
    code: str
    text: str


class LastDecision(Output):
    plan_version: int
    decision: str
    option: str
    review_date: str | None
    at: str


class QueueItem(Output):
    plan_id: str
    client_id: str
    client_name: str
    client_reference: str
    plan_version: int
    fingerprint: str
    waiting_since: str
    reasons: list[QueueReason]
    last_decision: LastDecision | None


class Queue(Output):
    items: list[QueueItem]


class DecisionList(Output):
    items: list[Any]
    plan_version: int


class AuditVerify(Output):
    ok: bool
    events: int
    head: str
    first_bad: int | None = None
    problem: str | None = None
    versions_checked: int = 0


class AuditEventView(Output):
    seq: int
    at: str
    action: str
    actor: str | None
    actor_role: str | None
    plan: str | None
    client: str | None
    detail: dict[str, Any]
    hash: str


class AuditEvents(Output):
    items: list[AuditEventView]
    next_after: int


class AckView(Output):
    code: str | None
    source: str | None
    reason_given: bool


class AuditDecisionView(Output):
    id: str | None
    plan: str | None
    client: str | None
    clinician: str | None
    plan_version: int
    fingerprint: str
    decision: str
    option: str
    product: str | None
    dose_mg: float | None
    frequency: str | None
    supervision: str | None
    instalment_days: int | None
    start_date: str | None
    review_date: str | None
    decided_at: str
    has_rationale: bool
    has_client_explanation: bool
    licence_recorded: bool
    acknowledged_warnings: list[AckView]


class AuditDecisions(Output):
    items: list[AuditDecisionView]
    next_after: int


def out(value: Any, type_: Any) -> Any:
    """A service's plain result as its typed response body."""
    return msgspec.convert(value, type_)
