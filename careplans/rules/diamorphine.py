"""Prescribing rules for heroin-assisted treatment (diamorphine): the prescriber's Home Office
licence and supervised doses."""

from __future__ import annotations

from careplans.rules.prescription import Finding, RuleFn, _Context, _Spec, rule_registrar

# Supervision codes under which each dose is taken in front of staff.
_SUPERVISED = frozenset({"supervised_consumption", "administered_by_healthcare_professional"})

RULES: list[tuple[str, RuleFn]] = []
"""This module's rules, in the order they run; careplans.rules.medication runs the modules in turn."""
_rule = rule_registrar(RULES)


@_rule("hat_home_office_licence_missing")
def _hat_home_office_licence_missing(ctx: _Context, spec: _Spec) -> Finding | None:
    licence = ctx.proposal.prescriber_home_office_licence
    if not ctx.product.home_office_licence_required or (licence and licence.strip()):
        return None
    return spec.finding("prescriber_home_office_licence")


@_rule("hat_not_supervised")
def _hat_not_supervised(ctx: _Context, spec: _Spec) -> Finding | None:
    supervision = ctx.proposal.supervision
    names = ctx.data.supervision_names
    if supervision in _SUPERVISED or supervision not in names:
        return None
    return spec.finding("supervision", supervision=names[supervision].lower())
