"""Prescribing rules on the proposal as a whole, for any medication: frequency, supervision,
co-use values, dose, the product's daily ceiling, and instalment prescriptions."""

from __future__ import annotations

from careplans.rules.prescription import Finding, RuleFn, _Context, _Spec, _join, _num, rule_registrar

RULES: list[tuple[str, RuleFn]] = []
"""This module's rules, in the order they run; careplans.rules.medication runs the modules in turn."""
_rule = rule_registrar(RULES)


@_rule("frequency_not_allowed")
def _frequency_not_allowed(ctx: _Context, spec: _Spec) -> Finding | None:
    if ctx.proposal.frequency in ctx.product.frequencies:
        return None
    names = ctx.data.frequency_names
    allowed = _join([f"{names[f].lower()} ({f})" for f in ctx.product.frequencies])
    return spec.finding(
        "frequency", product_name=ctx.product.name, frequency=ctx.proposal.frequency, allowed=allowed
    )


@_rule("unknown_supervision")
def _unknown_supervision(ctx: _Context, spec: _Spec) -> Finding | None:
    names = ctx.data.supervision_names
    if ctx.proposal.supervision in names:
        return None
    allowed = ", ".join(f"{name.lower()} ({code})" for code, name in names.items())
    return spec.finding("supervision", supervision=ctx.proposal.supervision, allowed=allowed)


@_rule("unknown_co_use")
def _unknown_co_use(ctx: _Context, spec: _Spec) -> Finding | None:
    known = ctx.data.co_use_values
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
    ceiling = ctx.data.ceilings.get(ctx.product.code)
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
