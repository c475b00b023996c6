"""Prescribing rules for Buvidal (prolonged-release buprenorphine injection, weekly or monthly):
available strengths, administration by a professional, the switch from methadone or
sublingual buprenorphine, and the NHS Borders conversion table."""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping

from careplans.catalogue import product_by_code
from careplans.rules.prescription import Finding, RuleFn, _Context, _Spec, _join, _num, rule_registrar

_ADMINISTERED = "administered_by_healthcare_professional"

RULES: list[tuple[str, RuleFn]] = []
"""This module's rules, in the order they run; careplans.rules.medication runs the modules in turn."""
_rule = rule_registrar(RULES)


@_rule("buvidal_strength_not_available")
def _buvidal_strength_not_available(ctx: _Context, spec: _Spec) -> Finding | None:
    product = ctx.product
    if not product.dose_must_be_a_strength or not ctx.dose_valid:
        return None
    if ctx.proposal.dose_mg in product.strengths_mg:
        return None
    return spec.finding(
        "dose_mg",
        product_name=product.name,
        strengths=_join([_num(s) for s in product.strengths_mg]),
        dose=_num(ctx.proposal.dose_mg),
    )


@_rule("professional_administration_only")
def _professional_administration_only(ctx: _Context, spec: _Spec) -> Finding | None:
    supervision = ctx.proposal.supervision
    if not ctx.product.professional_administration_only or supervision == _ADMINISTERED:
        return None
    if supervision not in ctx.data.supervision_names:
        return None  # already reported as unknown_supervision
    return spec.finding("supervision", product_name=ctx.product.name)


@_rule("buvidal_monthly_before_four_weeks")
def _buvidal_monthly_before_four_weeks(ctx: _Context, spec: _Spec) -> Finding | None:
    if "monthly" not in ctx.product.frequencies:
        return None
    weeks = ctx.proposal.weeks_on_weekly_buvidal
    if weeks is not None and weeks >= spec["min_weeks"]:
        return None
    if weeks is None or weeks <= 0:
        weeks_text = "No weeks of weekly Buvidal are recorded."
    else:
        weeks_text = f"Only {weeks} week{'s' if weeks != 1 else ''} of weekly Buvidal {'are' if weeks != 1 else 'is'} recorded."
    return spec.finding("weeks_on_weekly_buvidal", weeks_text=weeks_text, min=spec["min_weeks"])


@_rule("buvidal_from_methadone_above_30mg")
def _buvidal_from_methadone_above_30mg(ctx: _Context, spec: _Spec) -> Finding | None:
    current = ctx.proposal.current_methadone_dose_mg
    if current is None or current <= spec["max_methadone_mg"]:
        return None
    return spec.finding("current_methadone_dose_mg", current=_num(current), max=spec["max_methadone_mg"])


@_rule("buvidal_too_soon_after_methadone")
def _buvidal_too_soon_after_methadone(ctx: _Context, spec: _Spec) -> Finding | None:
    hours = ctx.proposal.hours_since_last_methadone_dose
    if not ctx.proposal.is_new_start or hours is None or hours >= spec["min_hours"]:
        return None
    return spec.finding("hours_since_last_methadone_dose", hours=_num(hours), min=spec["min_hours"])


@_rule("buvidal_too_soon_after_short_acting_opioid")
def _buvidal_too_soon_after_short_acting_opioid(ctx: _Context, spec: _Spec) -> Finding | None:
    hours = ctx.proposal.hours_since_last_short_acting_opioid
    if not ctx.proposal.is_new_start or hours is None or hours >= spec["min_hours"]:
        return None
    return spec.finding("hours_since_last_short_acting_opioid", hours=_num(hours), min=spec["min_hours"])


@_rule("buvidal_new_to_buprenorphine")
def _buvidal_new_to_buprenorphine(ctx: _Context, spec: _Spec) -> Finding | None:
    if not ctx.proposal.is_new_start or ctx.proposal.current_sublingual_buprenorphine_mg is not None:
        return None
    return spec.finding("is_new_start")


def conversion_doses(bands: Iterable[Mapping[str, Any]], sublingual_mg: float) -> list[tuple[str, float]]:
    """(product code, dose in mg) pairs the NHS Borders table suggests for a daily
    sublingual buprenorphine dose; empty when the dose falls outside every band."""
    if not isinstance(sublingual_mg, (int, float)) or not math.isfinite(sublingual_mg):
        return []
    for band in bands:
        if band["min_mg"] <= sublingual_mg <= band["max_mg"]:
            pairs = []
            if "weekly_mg" in band:
                pairs.append(("buvidal_weekly", float(band["weekly_mg"])))
            if "monthly_mg" in band:
                pairs.append(("buvidal_monthly", float(band["monthly_mg"])))
            return pairs
    return []


def conversion_labels(bands: Iterable[Mapping[str, Any]], sublingual_mg: float) -> list[str]:
    """Labels such as "Buvidal weekly 16 mg" suggested for a daily sublingual
    buprenorphine dose (NHS Borders protocol). An empty list means the dose is not
    covered by the table (below 2, above 32, or between bands such as 7 or 11 mg)."""
    labels = []
    for code, dose in conversion_doses(bands, sublingual_mg):
        product = product_by_code(code)
        name = product.name if product else code
        labels.append(f"{name} {_num(dose)} mg")
    return labels


@_rule("buvidal_conversion")
def _buvidal_conversion(ctx: _Context, spec: _Spec) -> Finding | None:
    current = ctx.proposal.current_sublingual_buprenorphine_mg
    if current is None or current <= 0:
        return None
    pairs = conversion_doses(ctx.data.conversion_bands, current)
    if not pairs:
        return None
    mismatch = ""
    if ctx.dose_valid and (ctx.product.code, float(ctx.proposal.dose_mg)) not in pairs:
        mismatch = f" The proposed {ctx.product.name} {_num(ctx.proposal.dose_mg)} mg is different."
    return spec.finding(
        "current_sublingual_buprenorphine_mg",
        current=_num(current),
        suggested=_join(conversion_labels(ctx.data.conversion_bands, current)),
        mismatch=mismatch,
    )


@_rule("buvidal_conversion_no_match")
def _buvidal_conversion_no_match(ctx: _Context, spec: _Spec) -> Finding | None:
    current = ctx.proposal.current_sublingual_buprenorphine_mg
    if current is None or current <= 0 or conversion_doses(ctx.data.conversion_bands, current):
        return None
    bands = ", ".join(f"{_num(b['min_mg'])}–{_num(b['max_mg'])}" for b in ctx.data.conversion_bands)
    return spec.finding("current_sublingual_buprenorphine_mg", current=_num(current), bands=bands)
