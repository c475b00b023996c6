"""Prescribing rules for sublingual buprenorphine: the usual maximum, severe hepatic impairment
(also applied to Buvidal, see dose_rules.toml) and objective withdrawal before a new start."""

from __future__ import annotations

from careplans.rules.prescription import Finding, RuleFn, _Context, _Spec, rule_registrar

RULES: list[tuple[str, RuleFn]] = []
"""This module's rules, in the order they run; careplans.rules.medication runs the modules in turn."""
_rule = rule_registrar(RULES)


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
