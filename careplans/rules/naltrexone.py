"""Prescribing rules for naltrexone: never alongside opioid treatment (it blocks methadone and
buprenorphine and can bring on withdrawal), and the starting and usual dose for alcohol."""

from __future__ import annotations

from careplans.rules.prescription import Finding, RuleFn, _Context, _num, _Spec, rule_registrar

RULES: list[tuple[str, RuleFn]] = []
"""This module's rules, in the order they run; careplans.rules.medication runs the modules in turn."""
_rule = rule_registrar(RULES)


@_rule("naltrexone_with_opioid_treatment")
def _with_opioid_treatment(ctx: _Context, spec: _Spec) -> Finding | None:
    return spec.finding("on_opioid_treatment") if ctx.proposal.on_opioid_treatment else None


@_rule("naltrexone_alcohol_first_day")
def _first_day(ctx: _Context, spec: _Spec) -> Finding | None:
    daily = ctx.daily_mg
    if not ctx.proposal.is_new_start or daily is None or daily <= spec["first_day_mg"]:
        return None
    return spec.finding("dose_mg", dose_text=ctx.dose_text, first_day=_num(spec["first_day_mg"]),
                        usual=_num(spec["usual_mg"]))


@_rule("naltrexone_alcohol_above_usual")
def _above_usual(ctx: _Context, spec: _Spec) -> Finding | None:
    daily = ctx.daily_mg
    if daily is None or daily <= spec["usual_mg"]:
        return None
    return spec.finding("dose_mg", dose_text=ctx.dose_text, usual=_num(spec["usual_mg"]))
