"""Prescribing rules for disulfiram: the daily maximum once the first days are over, and not within
a day of drinking."""

from __future__ import annotations

from careplans.rules.prescription import Finding, RuleFn, _Context, _num, _Spec, rule_registrar

RULES: list[tuple[str, RuleFn]] = []
"""This module's rules, in the order they run; careplans.rules.medication runs the modules in turn."""
_rule = rule_registrar(RULES)


@_rule("disulfiram_above_daily_maximum")
def _above_daily_maximum(ctx: _Context, spec: _Spec) -> Finding | None:
    p, daily = ctx.proposal, ctx.daily_mg
    if daily is None or daily <= spec["max_mg"]:
        return None
    starting = p.is_new_start or (p.days_since_start is not None and p.days_since_start < spec["starting_days"])
    if starting and daily <= spec["first_day_mg"]:
        return None
    return spec.finding("dose_mg", dose_text=ctx.dose_text, max=_num(spec["max_mg"]),
                        first_day=_num(spec["first_day_mg"]), days=spec["starting_days"])


@_rule("disulfiram_within_24_hours_of_drinking")
def _within_24_hours(ctx: _Context, spec: _Spec) -> Finding | None:
    hours = ctx.proposal.hours_since_last_drink
    if hours is None or hours >= spec["min_hours"]:
        return None
    return spec.finding("hours_since_last_drink", hours=_num(hours), min_hours=spec["min_hours"])
