"""Prescribing rules on co-use: benzodiazepines, gabapentinoids and alcohol with an opioid, and
gabapentinoids with alcohol. The co-use values themselves are checked in whole_proposal."""

from __future__ import annotations

from careplans.rules.prescription import Finding, RuleFn, _Context, _Spec, _in_sentence, rule_registrar

RULES: list[tuple[str, RuleFn]] = []
"""This module's rules, in the order they run; careplans.rules.medication runs the modules in turn."""
_rule = rule_registrar(RULES)


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
