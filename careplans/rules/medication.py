"""Prescribing checks: a proposed prescription against the rules in DOMAIN.md.

The thresholds, wording, severity and source of every rule are data, in
`careplans/catalogue/dose_rules.toml`; the code holds the logic only. Each rule
is a small function registered with `@_rule("<code>")` in the module for its
medicine or concern, and `check_prescribing` runs them all, module by module in the
order of `_REGISTRY` below:

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

from functools import lru_cache
from typing import Any

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
from careplans.rules import (
    acamprosate,
    alcohol_withdrawal,
    buprenorphine,
    buvidal,
    co_use,
    diamorphine,
    disulfiram,
    methadone,
    nalmefene,
    naltrexone,
    whole_proposal,
)
from careplans.rules.prescription import (
    Finding,
    PrescribingProposal,
    RuleFn,
    RuleResult,
    _Context,
    _Data,
    _Spec,
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

# Every rule, in the order they run (and are listed by `rule_codes` and `rules_table`):
# the order findings are reported in.
_REGISTRY: list[tuple[str, RuleFn]] = [
    *whole_proposal.RULES,
    *buvidal.RULES,
    *methadone.RULES,
    *buprenorphine.RULES,
    *co_use.RULES,
    *diamorphine.RULES,
    *alcohol_withdrawal.RULES,
    *acamprosate.RULES,
    *naltrexone.RULES,
    *disulfiram.RULES,
    *nalmefene.RULES,
]

# Checked before the registry runs: without a known option and product no other
# rule can be applied.
_RESOLUTION_CODES = ("unknown_option", "option_not_medication", "unknown_product", "product_not_in_option")


# ---------------------------------------------------------------------------
# Rule data
# ---------------------------------------------------------------------------

_RULE_KEYS = frozenset({"severity", "check", "applies_to", "description", "message", "source"})


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
# Buvidal conversion (NHS Borders table)
# ---------------------------------------------------------------------------


def buvidal_conversion_doses(sublingual_mg: float) -> list[tuple[str, float]]:
    """(product code, dose in mg) pairs the NHS Borders table suggests for a daily
    sublingual buprenorphine dose; empty when the dose falls outside every band."""
    return buvidal.conversion_doses(_data().conversion_bands, sublingual_mg)


def buvidal_conversion(sublingual_mg: float) -> list[str]:
    """Labels such as "Buvidal weekly 16 mg" suggested for a daily sublingual
    buprenorphine dose (NHS Borders protocol). An empty list means the dose is not
    covered by the table (below 2, above 32, or between bands such as 7 or 11 mg)."""
    return buvidal.conversion_labels(_data().conversion_bands, sublingual_mg)


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
    ctx = _Context(proposal, option, product, _data())
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
