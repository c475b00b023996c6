"""Prescribing rules for nalmefene (cutting down): one 18 mg tablet at most a day, and who it is for
(high drinking risk level, no withdrawal symptoms)."""

from __future__ import annotations

from careplans.rules.prescription import Finding, RuleFn, _Context, _num, _Spec, rule_registrar

RULES: list[tuple[str, RuleFn]] = []
"""This module's rules, in the order they run; careplans.rules.medication runs the modules in turn."""
_rule = rule_registrar(RULES)


@_rule("nalmefene_one_tablet")
def _one_tablet(ctx: _Context, spec: _Spec) -> Finding | None:
    dose = ctx.proposal.dose_mg
    if not ctx.dose_valid or dose == spec["tablet_mg"]:
        return None
    return spec.finding("dose_mg", dose=_num(dose), tablet=_num(spec["tablet_mg"]))


@_rule("nalmefene_withdrawal_symptoms")
def _withdrawal_symptoms(ctx: _Context, spec: _Spec) -> Finding | None:
    return spec.finding("withdrawal_symptoms") if ctx.proposal.withdrawal_symptoms else None


@_rule("nalmefene_below_high_risk_level")
def _below_high_risk_level(ctx: _Context, spec: _Spec) -> Finding | None:
    grams = ctx.proposal.alcohol_g_per_day
    if grams is None:
        return None
    level = spec["male_g_per_day"] if ctx.proposal.sex == "male" else spec["female_g_per_day"]
    if grams > level:
        return None
    return spec.finding("alcohol_g_per_day", grams=_num(grams), level=_num(level))
