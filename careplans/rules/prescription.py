"""A proposed prescription, what the rules find about it, and what every prescribing rule shares.

The rules themselves live in one module per medicine or concern (methadone,
buprenorphine, buvidal, diamorphine, co_use, whole_proposal, and for alcohol
alcohol_withdrawal, acamprosate, naltrexone, disulfiram, nalmefene); careplans.rules.medication
loads their data from `careplans/catalogue/dose_rules.toml` and runs them. The
underscored names here are shared by those modules only, not by callers outside
careplans.rules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from careplans.catalogue import CatalogueError, Option, Product

__all__ = ["Finding", "PrescribingProposal", "RuleFn", "RuleResult", "rule_registrar"]


@dataclass(frozen=True)
class PrescribingProposal:
    option: str
    product: str
    dose_mg: float
    frequency: str
    supervision: str
    instalment_days: int | None = None
    """Days covered by one instalment prescription."""
    is_new_start: bool = False
    """First prescription of this medication (a start, not a change)."""
    previous_dose_mg: float | None = None
    """The daily dose before this change."""
    starting_dose_mg: float | None = None
    """The daily dose this medication was started at (for titration checks)."""
    days_since_start: int | None = None
    """Days since this medication was started."""
    weeks_on_weekly_buvidal: int | None = None
    current_methadone_dose_mg: float | None = None
    """Daily methadone dose when switching to Buvidal."""
    hours_since_last_methadone_dose: float | None = None
    hours_since_last_short_acting_opioid: float | None = None
    current_sublingual_buprenorphine_mg: float | None = None
    """Daily sublingual buprenorphine dose when switching to Buvidal."""
    co_use: frozenset[str] = frozenset()
    """Any of "benzodiazepines", "gabapentinoids", "alcohol", "sedatives"."""
    pregnant: bool = False
    severe_hepatic_impairment: bool = False
    cardiac_risk: bool = False
    """Heart or liver disease, electrolyte problems, QT-prolonging or CYP3A4-inhibiting drugs."""
    qtc_ms: float | None = None
    """Most recent QTc, if an ECG has been done."""
    sex: str | None = None
    """"female" or "male" selects the QTc level of concern; anything else uses the lower level."""
    objective_withdrawal_confirmed: bool = False
    prescriber_home_office_licence: str | None = None
    nation: str = "england"
    """"england", "wales", "scotland" or "northern_ireland": instalment forms differ."""
    # Alcohol (DOMAIN.md, "Alcohol").
    on_opioid_treatment: bool = False
    """Taking methadone, buprenorphine or another opioid medicine now."""
    sadq_score: int | None = None
    """Severity of Alcohol Dependence Questionnaire total (0-60)."""
    withdrawal_seizures_or_dt_history: bool = False
    """Has had withdrawal seizures or delirium tremens before."""
    inpatient_withdrawal: bool = False
    """The assisted withdrawal is planned as an inpatient (not in the community)."""
    withdrawal_symptoms: bool = False
    """Has alcohol withdrawal symptoms now, or needs immediate withdrawal."""
    weight_kg: float | None = None
    age_years: int | None = None
    hours_since_last_drink: float | None = None
    alcohol_g_per_day: float | None = None
    """Usual grams of alcohol a day (one UK unit is 8 g)."""

    def __post_init__(self) -> None:
        # Accept any iterable (a list from JSON) but keep the value hashable.
        object.__setattr__(self, "co_use", frozenset(self.co_use))


@dataclass(frozen=True)
class Finding:
    code: str
    field: str
    message: str
    source: str


@dataclass(frozen=True)
class RuleResult:
    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    suggestions: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing blocks the prescription (warnings may still need acknowledging)."""
        return not self.errors

    def unacknowledged(self, acknowledged: Iterable[str]) -> list[Finding]:
        """Warnings whose code is not among `acknowledged`."""
        done = set(acknowledged)
        return [w for w in self.warnings if w.code not in done]


# ---------------------------------------------------------------------------
# Rule data
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Spec:
    code: str
    severity: str
    check: bool
    applies_to: frozenset[str]
    description: str
    message: str
    source: str
    params: Mapping[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.params[key]

    def applies(self, option_code: str) -> bool:
        return "*" in self.applies_to or option_code in self.applies_to

    def finding(self, field_name: str, source: str | None = None, **values: Any) -> Finding:
        try:
            message = self.message.format_map(values)
        except (KeyError, IndexError, ValueError) as exc:
            raise CatalogueError(f"rule {self.code}: message template does not fit: {exc}") from exc
        return Finding(self.code, field_name, message, source or self.source)


@dataclass(frozen=True)
class _Data:
    specs: Mapping[str, _Spec]
    ceilings: Mapping[str, Mapping[str, Any]]
    conversion_bands: tuple[Mapping[str, Any], ...]
    co_use_values: frozenset[str]
    times_per_day: Mapping[str, int]
    frequency_names: Mapping[str, str]
    supervision_names: Mapping[str, str]


# ---------------------------------------------------------------------------
# Small helpers for wording
# ---------------------------------------------------------------------------


def _num(value: float) -> str:
    """24.0 -> "24", 0.4 -> "0.4", for messages people read."""
    if not math.isfinite(value):
        return str(value)
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return text or "0"


def _in_sentence(name: str) -> str:
    """An option name for use mid-sentence: "Methadone" -> "methadone"."""
    return name[:1].lower() + name[1:]


def _join(words: Iterable[str], last: str = "or") -> str:
    items = list(words)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {last} {items[-1]}"

# ---------------------------------------------------------------------------
# Context shared by the rules
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    proposal: PrescribingProposal
    option: Option
    product: Product
    data: _Data

    @property
    def dose_valid(self) -> bool:
        dose = self.proposal.dose_mg
        return isinstance(dose, (int, float)) and math.isfinite(dose) and dose > 0

    @property
    def daily_mg(self) -> float | None:
        """Total per day, or None for weekly/monthly products or an unusable dose."""
        times = self.data.times_per_day.get(self.proposal.frequency)
        if not self.dose_valid or times is None or self.proposal.frequency not in self.product.frequencies:
            return None
        return self.proposal.dose_mg * times

    @property
    def dose_text(self) -> str:
        daily = self.daily_mg
        if daily is None:
            return f"{_num(self.proposal.dose_mg)} mg"
        if daily == self.proposal.dose_mg:
            return f"{_num(daily)} mg a day"
        name = self.data.frequency_names[self.proposal.frequency].lower()
        return f"{_num(daily)} mg a day ({_num(self.proposal.dose_mg)} mg {name})"


RuleFn = Callable[[_Context, _Spec], Finding | None]


def rule_registrar(registry: list[tuple[str, RuleFn]]) -> Callable[[str], Callable[[RuleFn], RuleFn]]:
    """The `@_rule("<code>")` decorator for one rule module: each rule is appended to
    that module's `registry`, so the order a module lists its rules is the order they run."""

    def _rule(code: str) -> Callable[[RuleFn], RuleFn]:
        def register(fn: RuleFn) -> RuleFn:
            registry.append((code, fn))
            return fn

        return register

    return _rule
