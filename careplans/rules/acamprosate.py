"""Prescribing rules for acamprosate: the licensed ages and the dose for the person's weight."""

from __future__ import annotations

from careplans.rules.prescription import Finding, RuleFn, _Context, _num, _Spec, rule_registrar

RULES: list[tuple[str, RuleFn]] = []
"""This module's rules, in the order they run; careplans.rules.medication runs the modules in turn."""
_rule = rule_registrar(RULES)


@_rule("acamprosate_age_outside_licence")
def _age_outside_licence(ctx: _Context, spec: _Spec) -> Finding | None:
    age = ctx.proposal.age_years
    if age is None or spec["min_age"] <= age <= spec["max_age"]:
        return None
    return spec.finding("age_years", age=age, min_age=spec["min_age"], max_age=spec["max_age"])


@_rule("acamprosate_weight_not_recorded")
def _weight_not_recorded(ctx: _Context, spec: _Spec) -> Finding | None:
    return spec.finding("weight_kg") if ctx.proposal.weight_kg is None else None


@_rule("acamprosate_above_dose_for_weight")
def _above_dose_for_weight(ctx: _Context, spec: _Spec) -> Finding | None:
    weight, daily = ctx.proposal.weight_kg, ctx.daily_mg
    if weight is None or daily is None:
        return None
    heavier = weight >= spec["weight_threshold_kg"]
    limit = spec["daily_mg_at_or_above"] if heavier else spec["daily_mg_below"]
    if daily <= limit:
        return None
    band = f"{_num(spec['weight_threshold_kg'])} kg or more" if heavier else f"under {_num(spec['weight_threshold_kg'])} kg"
    return spec.finding("dose_mg", dose_text=ctx.dose_text, weight=_num(weight), band=band, limit=_num(limit))
