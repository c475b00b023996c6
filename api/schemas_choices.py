"""Request bodies for treatment choices and prescribing decisions.

Unknown fields are refused (no mass assignment). Text written by people has limits;
the person's voice is set by the server from who wrote it, never taken from here.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from api.schemas import Input, LongText, Short

Outcome = Literal["chosen", "declined", "not_suitable", "not_available", "undecided"]
Decision = Literal["approved", "approved_with_changes", "declined"]
Code = Annotated[str, Meta(min_length=1, max_length=64)]
Mg = Annotated[float, Meta(ge=-1_000_000, le=1_000_000)]


class ChoiceCreate(Input):
    """One ledger entry: one option, one conversation."""

    option: Code
    information_given: bool
    discussed_on: dt.date
    information_format: Short | None = None
    client_view: LongText | None = None
    # true / false, "preferred" / "open" / "not_preferred", or the person's own words.
    preference: bool | LongText | None = None
    outcome: Outcome | None = None
    reason: LongText | None = None


class WarningAcknowledgement(Input):
    code: Code
    reason: Annotated[str, Meta(max_length=2000)]


class DecisionCreate(Input):
    """A prescribing decision about one exact plan version."""

    plan_version: Annotated[int, Meta(ge=1)]
    option: Code
    decision: Decision
    rationale: Annotated[str, Meta(max_length=4000)]
    client_explanation: Annotated[str, Meta(max_length=4000)]
    product: Code | None = None
    dose_mg: Mg | None = None
    frequency: Code | None = None
    supervision: Code | None = None
    acknowledged_warnings: Annotated[list[WarningAcknowledgement], Meta(max_length=50)] = msgspec.field(
        default_factory=list)
    instalment_days: Annotated[int, Meta(ge=-1000, le=1000)] | None = None
    pharmacy: Short | None = None
    start_date: dt.date | None = None
    review_date: dt.date | None = None
    # Clinical context for the rules (careplans.rules.medication.PrescribingProposal).
    is_new_start: bool | None = None
    previous_dose_mg: Mg | None = None
    starting_dose_mg: Mg | None = None
    days_since_start: Annotated[int, Meta(ge=0, le=100_000)] | None = None
    weeks_on_weekly_buvidal: Annotated[int, Meta(ge=0, le=10_000)] | None = None
    current_methadone_dose_mg: Mg | None = None
    hours_since_last_methadone_dose: Annotated[float, Meta(ge=0, le=1_000_000)] | None = None
    hours_since_last_short_acting_opioid: Annotated[float, Meta(ge=0, le=1_000_000)] | None = None
    current_sublingual_buprenorphine_mg: Mg | None = None
    co_use: Annotated[list[Code], Meta(max_length=10)] | None = None
    pregnant: bool | None = None
    severe_hepatic_impairment: bool | None = None
    cardiac_risk: bool | None = None
    qtc_ms: Annotated[float, Meta(ge=0, le=2000)] | None = None
    sex: Literal["female", "male", "other", "not_recorded"] | None = None
    objective_withdrawal_confirmed: bool | None = None
    nation: Literal["england", "wales", "scotland", "northern_ireland"] | None = None
    on_opioid_treatment: bool | None = None
    sadq_score: Annotated[int, Meta(ge=0, le=60)] | None = None
    withdrawal_seizures_or_dt_history: bool | None = None
    inpatient_withdrawal: bool | None = None
    withdrawal_symptoms: bool | None = None
    weight_kg: Annotated[float, Meta(gt=0, le=500)] | None = None
    age_years: Annotated[int, Meta(ge=0, le=130)] | None = None
    hours_since_last_drink: Annotated[float, Meta(ge=0, le=1_000_000)] | None = None
    alcohol_g_per_day: Annotated[float, Meta(ge=0, le=5000)] | None = None
