"""Prescribing checks: a proposed prescription against the rules in DOMAIN.md.

The thresholds, wording, severity and source of every rule are data, in
`careplans/catalogue/dose_rules.toml`; this module holds the logic only. Each rule
is a small function registered with `@_rule("<code>")`, and `check_prescribing`
runs them all:

- errors: the prescription cannot be recorded as it stands;
- warnings: the clinician must acknowledge them (facts marked [check] in
  DOMAIN.md are only ever warnings);
- suggestions: information, nothing to acknowledge.

Doses: `dose_mg` is the amount given each time. For daily frequencies the rules
work on the daily total (`dose_mg` times the frequency's `times_per_day`), and
`previous_dose_mg`, `starting_dose_mg`, `current_methadone_dose_mg` and
`current_sublingual_buprenorphine_mg` are daily totals too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Iterable, Mapping

from careplans.catalogue import (
    CatalogueError,
    Option,
    Product,
    load_dose_rules,
    load_frequencies,
    load_supervision_modes,
    option_by_code,
    product_by_code,
)

__all__ = [
    "Finding",
    "PrescribingProposal",
    "RuleResult",
    "buvidal_conversion",
    "buvidal_conversion_doses",
    "check_prescribing",
    "rules_table",
]

# Supervision codes under which each dose is taken in front of staff.
_SUPERVISED = frozenset({"supervised_consumption", "administered_by_healthcare_professional"})
_ADMINISTERED = "administered_by_healthcare_professional"


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

_RULE_KEYS = frozenset({"severity", "check", "applies_to", "description", "message", "source"})


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


@lru_cache(maxsize=1)
def _data() -> _Data:
    raw = load_dose_rules()
    specs = {
        code: _Spec(
            code=code,
            severity=r["severity"],
            check=r["check"],
            applies_to=frozenset(r["applies_to"]),
            description=r["description"],
            message=r["message"],
            source=r["source"],
            params={k: v for k, v in r.items() if k not in _RULE_KEYS},
        )
        for code, r in raw.get("rules", {}).items()
    }
    # The data file and the code must describe the same rules: a rule with no data
    # cannot report, and data with no rule would be reviewed but never applied.
    expected = set(_RESOLUTION_CODES) | {code for code, _ in _REGISTRY}
    if expected != set(specs):
        raise CatalogueError(
            f"dose_rules.toml and the rule functions disagree: no data for {sorted(expected - set(specs))}, "
            f"no rule for {sorted(set(specs) - expected)}"
        )
    frequencies = load_frequencies()
    return _Data(
        specs=specs,
        ceilings=raw.get("ceilings", {}),
        conversion_bands=tuple(raw["buvidal_conversion"]["bands"]),
        co_use_values=frozenset(raw["co_use"]["values"]),
        times_per_day={c: f["times_per_day"] for c, f in frequencies.items() if "times_per_day" in f},
        frequency_names={c: f["name"] for c, f in frequencies.items()},
        supervision_names={c: s["name"] for c, s in load_supervision_modes().items()},
    )


def _spec(code: str) -> _Spec:
    return _data().specs[code]


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

    @property
    def dose_valid(self) -> bool:
        dose = self.proposal.dose_mg
        return isinstance(dose, (int, float)) and math.isfinite(dose) and dose > 0

    @property
    def daily_mg(self) -> float | None:
        """Total per day, or None for weekly/monthly products or an unusable dose."""
        times = _data().times_per_day.get(self.proposal.frequency)
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
        name = _data().frequency_names[self.proposal.frequency].lower()
        return f"{_num(daily)} mg a day ({_num(self.proposal.dose_mg)} mg {name})"


RuleFn = Callable[[_Context, _Spec], Finding | None]
_REGISTRY: list[tuple[str, RuleFn]] = []

# Checked before the registry runs: without a known option and product no other
# rule can be applied.
_RESOLUTION_CODES = ("unknown_option", "option_not_medication", "unknown_product", "product_not_in_option")


def _rule(code: str) -> Callable[[RuleFn], RuleFn]:
    def register(fn: RuleFn) -> RuleFn:
        _REGISTRY.append((code, fn))
        return fn

    return register


def _resolve(p: PrescribingProposal) -> tuple[Option | None, Product | None, Finding | None]:
    option = option_by_code(p.option)
    if option is None:
        return None, None, _spec("unknown_option").finding("option", option=p.option)
    if option.kind != "medication":
        return option, None, _spec("option_not_medication").finding("option", option_name=option.name)
    product = product_by_code(p.product)
    if product is None:
        return option, None, _spec("unknown_product").finding("product", product=p.product)
    if product.option_code != option.code:
        return option, product, _spec("product_not_in_option").finding(
            "product",
            product_name=product.name,
            option_name=option.name,
            products=", ".join(f"{x.name} ({x.code})" for x in option.products),
        )
    return option, product, None


# ---------------------------------------------------------------------------
# The proposal as a whole
# ---------------------------------------------------------------------------


@_rule("frequency_not_allowed")
def _frequency_not_allowed(ctx: _Context, spec: _Spec) -> Finding | None:
    if ctx.proposal.frequency in ctx.product.frequencies:
        return None
    names = _data().frequency_names
    allowed = _join([f"{names[f].lower()} ({f})" for f in ctx.product.frequencies])
    return spec.finding(
        "frequency", product_name=ctx.product.name, frequency=ctx.proposal.frequency, allowed=allowed
    )


@_rule("unknown_supervision")
def _unknown_supervision(ctx: _Context, spec: _Spec) -> Finding | None:
    names = _data().supervision_names
    if ctx.proposal.supervision in names:
        return None
    allowed = ", ".join(f"{name.lower()} ({code})" for code, name in names.items())
    return spec.finding("supervision", supervision=ctx.proposal.supervision, allowed=allowed)


@_rule("unknown_co_use")
def _unknown_co_use(ctx: _Context, spec: _Spec) -> Finding | None:
    known = _data().co_use_values
    unknown = sorted(ctx.proposal.co_use - known)
    if not unknown:
        return None
    return spec.finding("co_use", value="', '".join(unknown), allowed=", ".join(sorted(known)))


@_rule("dose_not_positive")
def _dose_not_positive(ctx: _Context, spec: _Spec) -> Finding | None:
    if ctx.dose_valid:
        return None
    dose = ctx.proposal.dose_mg
    return spec.finding("dose_mg", dose=_num(dose) if isinstance(dose, (int, float)) else repr(dose))


@_rule("dose_above_ceiling")
def _dose_above_ceiling(ctx: _Context, spec: _Spec) -> Finding | None:
    ceiling = _data().ceilings.get(ctx.product.code)
    daily = ctx.daily_mg
    if ceiling is None or daily is None or daily <= ceiling["max_daily_mg"]:
        return None
    return spec.finding(
        "dose_mg",
        source=ceiling["source"],
        dose_text=ctx.dose_text,
        product_name=ctx.product.name,
        max=_num(ceiling["max_daily_mg"]),
    )


@_rule("instalment_days_not_positive")
def _instalment_days_not_positive(ctx: _Context, spec: _Spec) -> Finding | None:
    days = ctx.proposal.instalment_days
    if days is None or days >= 1:
        return None
    return spec.finding("instalment_days", days=days)


@_rule("instalment_over_14_days")
def _instalment_over_14_days(ctx: _Context, spec: _Spec) -> Finding | None:
    days = ctx.proposal.instalment_days
    if days is None or ctx.proposal.nation not in spec["nations"] or days <= spec["max_days"]:
        return None
    return spec.finding("instalment_days", days=days, max=spec["max_days"])


# ---------------------------------------------------------------------------
# Buvidal
# ---------------------------------------------------------------------------


@_rule("buvidal_strength_not_available")
def _buvidal_strength_not_available(ctx: _Context, spec: _Spec) -> Finding | None:
    product = ctx.product
    if not product.dose_must_be_a_strength or not ctx.dose_valid:
        return None
    if ctx.proposal.dose_mg in product.strengths_mg:
        return None
    return spec.finding(
        "dose_mg",
        product_name=product.name,
        strengths=_join([_num(s) for s in product.strengths_mg]),
        dose=_num(ctx.proposal.dose_mg),
    )


@_rule("professional_administration_only")
def _professional_administration_only(ctx: _Context, spec: _Spec) -> Finding | None:
    supervision = ctx.proposal.supervision
    if not ctx.product.professional_administration_only or supervision == _ADMINISTERED:
        return None
    if supervision not in _data().supervision_names:
        return None  # already reported as unknown_supervision
    return spec.finding("supervision", product_name=ctx.product.name)


@_rule("buvidal_monthly_before_four_weeks")
def _buvidal_monthly_before_four_weeks(ctx: _Context, spec: _Spec) -> Finding | None:
    if "monthly" not in ctx.product.frequencies:
        return None
    weeks = ctx.proposal.weeks_on_weekly_buvidal
    if weeks is not None and weeks >= spec["min_weeks"]:
        return None
    if weeks is None or weeks <= 0:
        weeks_text = "No weeks of weekly Buvidal are recorded."
    else:
        weeks_text = f"Only {weeks} week{'s' if weeks != 1 else ''} of weekly Buvidal {'are' if weeks != 1 else 'is'} recorded."
    return spec.finding("weeks_on_weekly_buvidal", weeks_text=weeks_text, min=spec["min_weeks"])


@_rule("buvidal_from_methadone_above_30mg")
def _buvidal_from_methadone_above_30mg(ctx: _Context, spec: _Spec) -> Finding | None:
    current = ctx.proposal.current_methadone_dose_mg
    if current is None or current <= spec["max_methadone_mg"]:
        return None
    return spec.finding("current_methadone_dose_mg", current=_num(current), max=spec["max_methadone_mg"])


@_rule("buvidal_too_soon_after_methadone")
def _buvidal_too_soon_after_methadone(ctx: _Context, spec: _Spec) -> Finding | None:
    hours = ctx.proposal.hours_since_last_methadone_dose
    if not ctx.proposal.is_new_start or hours is None or hours >= spec["min_hours"]:
        return None
    return spec.finding("hours_since_last_methadone_dose", hours=_num(hours), min=spec["min_hours"])


@_rule("buvidal_too_soon_after_short_acting_opioid")
def _buvidal_too_soon_after_short_acting_opioid(ctx: _Context, spec: _Spec) -> Finding | None:
    hours = ctx.proposal.hours_since_last_short_acting_opioid
    if not ctx.proposal.is_new_start or hours is None or hours >= spec["min_hours"]:
        return None
    return spec.finding("hours_since_last_short_acting_opioid", hours=_num(hours), min=spec["min_hours"])


@_rule("buvidal_new_to_buprenorphine")
def _buvidal_new_to_buprenorphine(ctx: _Context, spec: _Spec) -> Finding | None:
    if not ctx.proposal.is_new_start or ctx.proposal.current_sublingual_buprenorphine_mg is not None:
        return None
    return spec.finding("is_new_start")


def buvidal_conversion_doses(sublingual_mg: float) -> list[tuple[str, float]]:
    """(product code, dose in mg) pairs the NHS Borders table suggests for a daily
    sublingual buprenorphine dose; empty when the dose falls outside every band."""
    if not isinstance(sublingual_mg, (int, float)) or not math.isfinite(sublingual_mg):
        return []
    for band in _data().conversion_bands:
        if band["min_mg"] <= sublingual_mg <= band["max_mg"]:
            pairs = []
            if "weekly_mg" in band:
                pairs.append(("buvidal_weekly", float(band["weekly_mg"])))
            if "monthly_mg" in band:
                pairs.append(("buvidal_monthly", float(band["monthly_mg"])))
            return pairs
    return []


def buvidal_conversion(sublingual_mg: float) -> list[str]:
    """Labels such as "Buvidal weekly 16 mg" suggested for a daily sublingual
    buprenorphine dose (NHS Borders protocol). An empty list means the dose is not
    covered by the table (below 2, above 32, or between bands such as 7 or 11 mg)."""
    labels = []
    for code, dose in buvidal_conversion_doses(sublingual_mg):
        product = product_by_code(code)
        name = product.name if product else code
        labels.append(f"{name} {_num(dose)} mg")
    return labels


@_rule("buvidal_conversion")
def _buvidal_conversion(ctx: _Context, spec: _Spec) -> Finding | None:
    current = ctx.proposal.current_sublingual_buprenorphine_mg
    if current is None or current <= 0:
        return None
    pairs = buvidal_conversion_doses(current)
    if not pairs:
        return None
    mismatch = ""
    if ctx.dose_valid and (ctx.product.code, float(ctx.proposal.dose_mg)) not in pairs:
        mismatch = f" The proposed {ctx.product.name} {_num(ctx.proposal.dose_mg)} mg is different."
    return spec.finding(
        "current_sublingual_buprenorphine_mg",
        current=_num(current),
        suggested=_join(buvidal_conversion(current)),
        mismatch=mismatch,
    )


@_rule("buvidal_conversion_no_match")
def _buvidal_conversion_no_match(ctx: _Context, spec: _Spec) -> Finding | None:
    current = ctx.proposal.current_sublingual_buprenorphine_mg
    if current is None or current <= 0 or buvidal_conversion_doses(current):
        return None
    bands = ", ".join(f"{_num(b['min_mg'])}–{_num(b['max_mg'])}" for b in _data().conversion_bands)
    return spec.finding("current_sublingual_buprenorphine_mg", current=_num(current), bands=bands)


# ---------------------------------------------------------------------------
# Methadone
# ---------------------------------------------------------------------------


@_rule("methadone_new_start_above_usual")
def _methadone_new_start_above_usual(ctx: _Context, spec: _Spec) -> Finding | None:
    daily = ctx.daily_mg
    if not ctx.proposal.is_new_start or daily is None or daily <= spec["max_mg"]:
        return None
    return spec.finding("dose_mg", dose_text=ctx.dose_text, max=spec["max_mg"])


@_rule("methadone_new_start_with_sedatives_or_alcohol")
def _methadone_new_start_with_sedatives_or_alcohol(ctx: _Context, spec: _Spec) -> Finding | None:
    daily = ctx.daily_mg
    triggers = sorted(ctx.proposal.co_use & set(spec["co_use_triggers"]))
    if not ctx.proposal.is_new_start or not triggers or daily is None or daily <= spec["max_mg"]:
        return None
    return spec.finding("dose_mg", co_use=_join(triggers, "and"), dose_text=ctx.dose_text, max=spec["max_mg"])


@_rule("methadone_titration_too_fast")
def _methadone_titration_too_fast(ctx: _Context, spec: _Spec) -> Finding | None:
    p = ctx.proposal
    daily = ctx.daily_mg
    if daily is None or p.days_since_start is None or p.days_since_start > spec["window_days"]:
        return None
    if p.starting_dose_mg is not None:
        start, start_label = p.starting_dose_mg, "the starting dose"
    elif p.previous_dose_mg is not None:
        # Without the starting dose the previous dose is the best lower bound.
        start, start_label = p.previous_dose_mg, "the previous dose (the starting dose is not recorded)"
    else:
        return None
    increase = daily - start
    if increase <= spec["max_increase_mg"]:
        return None
    return spec.finding(
        "dose_mg",
        days=p.days_since_start,
        dose_text=ctx.dose_text,
        increase=_num(increase),
        start_label=start_label,
        start=_num(start),
        max=spec["max_increase_mg"],
    )


@_rule("methadone_increment_too_large")
def _methadone_increment_too_large(ctx: _Context, spec: _Spec) -> Finding | None:
    p = ctx.proposal
    daily = ctx.daily_mg
    if p.is_new_start or daily is None or p.previous_dose_mg is None:
        return None
    step = daily - p.previous_dose_mg
    if step <= spec["max_step_mg"]:
        return None
    return spec.finding(
        "dose_mg", step=_num(step), previous=_num(p.previous_dose_mg), dose_text=ctx.dose_text, max=spec["max_step_mg"]
    )


@_rule("methadone_above_100mg_ecg")
def _methadone_above_100mg_ecg(ctx: _Context, spec: _Spec) -> Finding | None:
    daily = ctx.daily_mg
    if daily is None or daily <= spec["max_mg"]:
        return None
    return spec.finding("dose_mg", dose_text=ctx.dose_text, max=spec["max_mg"])


@_rule("methadone_cardiac_risk_ecg")
def _methadone_cardiac_risk_ecg(ctx: _Context, spec: _Spec) -> Finding | None:
    return spec.finding("cardiac_risk") if ctx.proposal.cardiac_risk else None


def _qtc_limit(sex: str | None, spec: _Spec) -> tuple[float, str]:
    if sex == "female":
        return spec["female_ms"], " for women"
    if sex == "male":
        return spec["male_ms"], " for men"
    return spec["male_ms"], " (sex not recorded, so the lower level is used)"


@_rule("methadone_qtc_of_concern")
def _methadone_qtc_of_concern(ctx: _Context, spec: _Spec) -> Finding | None:
    qtc = ctx.proposal.qtc_ms
    if qtc is None or qtc > _spec("methadone_qtc_significant")["above_ms"]:
        return None  # above the significant level, that rule speaks instead
    limit, for_whom = _qtc_limit(ctx.proposal.sex, spec)
    if qtc < limit:
        return None
    return spec.finding("qtc_ms", qtc=_num(qtc), limit=_num(limit), for_whom=for_whom)


@_rule("methadone_qtc_significant")
def _methadone_qtc_significant(ctx: _Context, spec: _Spec) -> Finding | None:
    qtc = ctx.proposal.qtc_ms
    if qtc is None or qtc <= spec["above_ms"]:
        return None
    return spec.finding("qtc_ms", qtc=_num(qtc), limit=_num(spec["above_ms"]))


@_rule("methadone_pregnancy_new_start_above_25mg")
def _methadone_pregnancy_new_start(ctx: _Context, spec: _Spec) -> Finding | None:
    daily = ctx.daily_mg
    p = ctx.proposal
    if not (p.pregnant and p.is_new_start) or daily is None or daily <= spec["max_mg"]:
        return None
    return spec.finding("dose_mg", dose_text=ctx.dose_text, max=spec["max_mg"])


# ---------------------------------------------------------------------------
# Buprenorphine
# ---------------------------------------------------------------------------


@_rule("buprenorphine_above_usual_maximum")
def _buprenorphine_above_usual_maximum(ctx: _Context, spec: _Spec) -> Finding | None:
    daily = ctx.daily_mg
    if daily is None or daily <= spec["max_mg"]:
        return None
    return spec.finding("dose_mg", dose_text=ctx.dose_text, max=spec["max_mg"])


@_rule("buprenorphine_severe_hepatic_impairment")
def _buprenorphine_severe_hepatic_impairment(ctx: _Context, spec: _Spec) -> Finding | None:
    return spec.finding("severe_hepatic_impairment") if ctx.proposal.severe_hepatic_impairment else None


@_rule("buprenorphine_objective_withdrawal")
def _buprenorphine_objective_withdrawal(ctx: _Context, spec: _Spec) -> Finding | None:
    p = ctx.proposal
    if not p.is_new_start or p.objective_withdrawal_confirmed:
        return None
    return spec.finding("objective_withdrawal_confirmed")


# ---------------------------------------------------------------------------
# Co-use
# ---------------------------------------------------------------------------


@_rule("benzodiazepine_opioid_co_use")
def _benzodiazepine_opioid_co_use(ctx: _Context, spec: _Spec) -> Finding | None:
    if not ctx.option.opioid or "benzodiazepines" not in ctx.proposal.co_use:
        return None
    monitoring = (
        "; monitor for at least two weeks after any methadone start or change"
        if ctx.option.code == "methadone"
        else ""
    )
    return spec.finding("co_use", option_name=_in_sentence(ctx.option.name), monitoring=monitoring)


@_rule("gabapentinoid_opioid_co_use")
def _gabapentinoid_opioid_co_use(ctx: _Context, spec: _Spec) -> Finding | None:
    if not ctx.option.opioid or "gabapentinoids" not in ctx.proposal.co_use:
        return None
    return spec.finding("co_use", option_name=_in_sentence(ctx.option.name))


@_rule("alcohol_opioid_co_use")
def _alcohol_opioid_co_use(ctx: _Context, spec: _Spec) -> Finding | None:
    if not ctx.option.opioid or "alcohol" not in ctx.proposal.co_use:
        return None
    return spec.finding("co_use", option_name=_in_sentence(ctx.option.name))


@_rule("gabapentinoid_alcohol_co_use")
def _gabapentinoid_alcohol_co_use(ctx: _Context, spec: _Spec) -> Finding | None:
    if not {"gabapentinoids", "alcohol"} <= ctx.proposal.co_use:
        return None
    return spec.finding("co_use")


# ---------------------------------------------------------------------------
# Heroin-assisted treatment
# ---------------------------------------------------------------------------


@_rule("hat_home_office_licence_missing")
def _hat_home_office_licence_missing(ctx: _Context, spec: _Spec) -> Finding | None:
    licence = ctx.proposal.prescriber_home_office_licence
    if not ctx.product.home_office_licence_required or (licence and licence.strip()):
        return None
    return spec.finding("prescriber_home_office_licence")


@_rule("hat_not_supervised")
def _hat_not_supervised(ctx: _Context, spec: _Spec) -> Finding | None:
    supervision = ctx.proposal.supervision
    names = _data().supervision_names
    if supervision in _SUPERVISED or supervision not in names:
        return None
    return spec.finding("supervision", supervision=names[supervision].lower())


# ---------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------


def check_prescribing(proposal: PrescribingProposal) -> RuleResult:
    """Every error, warning and suggestion for a proposed prescription."""
    result = RuleResult()
    buckets = {"error": result.errors, "warning": result.warnings, "suggestion": result.suggestions}
    option, product, problem = _resolve(proposal)
    if problem is not None:
        buckets[_spec(problem.code).severity].append(problem)
        return result
    assert option is not None and product is not None
    ctx = _Context(proposal, option, product)
    for code, check in _REGISTRY:
        spec = _spec(code)
        if not spec.applies(option.code):
            continue
        finding = check(ctx, spec)
        if finding is not None:
            buckets[spec.severity].append(finding)
    return result


def rule_codes() -> list[str]:
    """Codes of every rule the checker can report, in the order they run."""
    return list(_RESOLUTION_CODES) + [code for code, _ in _REGISTRY]


def rules_table() -> list[dict[str, Any]]:
    """One row per rule, for documentation and for a service's review:
    code, severity, check ([check] in DOMAIN.md), applies_to, description,
    parameters (thresholds) and source."""
    data = _data()
    rows = []
    for code in rule_codes():
        spec = data.specs[code]
        params = dict(spec.params)
        if code == "dose_above_ceiling":
            params["ceilings"] = {
                product: {"max_daily_mg": c["max_daily_mg"], "source": c["source"]}
                for product, c in data.ceilings.items()
            }
        if code in ("buvidal_conversion", "buvidal_conversion_no_match"):
            params["bands"] = [dict(b) for b in data.conversion_bands]
        rows.append(
            {
                "code": code,
                "severity": spec.severity,
                "check": spec.check,
                "applies_to": sorted(spec.applies_to),
                "description": spec.description,
                "parameters": params,
                "source": spec.source,
            }
        )
    return rows
