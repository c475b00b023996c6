"""Prescribing rules for assisted withdrawal from alcohol (chlordiazepoxide and thiamine): where it
should happen, the local regimen, thiamine alongside, and a benzodiazepine with opioid treatment."""

from __future__ import annotations

from careplans.rules.prescription import Finding, RuleFn, _Context, _Spec, rule_registrar

RULES: list[tuple[str, RuleFn]] = []
"""This module's rules, in the order they run; careplans.rules.medication runs the modules in turn."""
_rule = rule_registrar(RULES)


def _is_benzodiazepine(ctx: _Context, spec: _Spec) -> bool:
    return ctx.product.code in spec["benzodiazepine_products"]


@_rule("alcohol_withdrawal_inpatient_indicated")
def _inpatient_indicated(ctx: _Context, spec: _Spec) -> Finding | None:
    p = ctx.proposal
    if not _is_benzodiazepine(ctx, spec) or p.inpatient_withdrawal:
        return None
    reasons = []
    if p.sadq_score is not None and p.sadq_score > spec["sadq_over"]:
        reasons.append(f"a SADQ score of {p.sadq_score} (over {spec['sadq_over']})")
    if p.withdrawal_seizures_or_dt_history:
        reasons.append("a history of withdrawal seizures or delirium tremens")
    if not reasons:
        return None
    return spec.finding("inpatient_withdrawal", reasons=" and ".join(reasons))


@_rule("alcohol_withdrawal_local_protocol")
def _local_protocol(ctx: _Context, spec: _Spec) -> Finding | None:
    return spec.finding("product") if _is_benzodiazepine(ctx, spec) else None


@_rule("alcohol_withdrawal_with_opioid_treatment")
def _with_opioid_treatment(ctx: _Context, spec: _Spec) -> Finding | None:
    if not _is_benzodiazepine(ctx, spec) or not ctx.proposal.on_opioid_treatment:
        return None
    return spec.finding("on_opioid_treatment")


@_rule("alcohol_withdrawal_thiamine")
def _thiamine(ctx: _Context, spec: _Spec) -> Finding | None:
    return spec.finding("product") if _is_benzodiazepine(ctx, spec) else None
