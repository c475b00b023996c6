"""Prescribing rules for methadone: new starts, titration and increments, ECG and QTc, pregnancy."""

from __future__ import annotations

from careplans.rules.prescription import Finding, RuleFn, _Context, _Spec, _join, _num, rule_registrar

RULES: list[tuple[str, RuleFn]] = []
"""This module's rules, in the order they run; careplans.rules.medication runs the modules in turn."""
_rule = rule_registrar(RULES)


@_rule("methadone_new_start_above_usual")
def _methadone_new_start_above_usual(ctx: _Context, spec: _Spec) -> Finding | None:
    daily = ctx.daily_mg
    if not ctx.proposal.is_new_start or daily is None or daily <= spec["max_mg"]:
        return None
    return spec.finding("dose_mg", dose_text=ctx.dose_text, max=spec["max_mg"])


@_rule("methadone_new_start_with_sedatives_or_alcohol")
def _methadone_new_start_with_sedatives_or_alcohol(ctx: _Context, spec: _Spec) -> Finding | None:
    daily = ctx.daily_mg
    triggers = sorted(ctx.proposal.co_use & set(spec["co_use_triggers"]))
    if not ctx.proposal.is_new_start or not triggers or daily is None or daily <= spec["max_mg"]:
        return None
    return spec.finding("dose_mg", co_use=_join(triggers, "and"), dose_text=ctx.dose_text, max=spec["max_mg"])


@_rule("methadone_titration_too_fast")
def _methadone_titration_too_fast(ctx: _Context, spec: _Spec) -> Finding | None:
    p = ctx.proposal
    daily = ctx.daily_mg
    if daily is None or p.days_since_start is None or p.days_since_start > spec["window_days"]:
        return None
    if p.starting_dose_mg is not None:
        start, start_label = p.starting_dose_mg, "the starting dose"
    elif p.previous_dose_mg is not None:
        # Without the starting dose the previous dose is the best lower bound.
        start, start_label = p.previous_dose_mg, "the previous dose (the starting dose is not recorded)"
    else:
        return None
    increase = daily - start
    if increase <= spec["max_increase_mg"]:
        return None
    return spec.finding(
        "dose_mg",
        days=p.days_since_start,
        dose_text=ctx.dose_text,
        increase=_num(increase),
        start_label=start_label,
        start=_num(start),
        max=spec["max_increase_mg"],
    )


@_rule("methadone_increment_too_large")
def _methadone_increment_too_large(ctx: _Context, spec: _Spec) -> Finding | None:
    p = ctx.proposal
    daily = ctx.daily_mg
    if p.is_new_start or daily is None or p.previous_dose_mg is None:
        return None
    step = daily - p.previous_dose_mg
    if step <= spec["max_step_mg"]:
        return None
    return spec.finding(
        "dose_mg", step=_num(step), previous=_num(p.previous_dose_mg), dose_text=ctx.dose_text, max=spec["max_step_mg"]
    )


@_rule("methadone_above_100mg_ecg")
def _methadone_above_100mg_ecg(ctx: _Context, spec: _Spec) -> Finding | None:
    daily = ctx.daily_mg
    if daily is None or daily <= spec["max_mg"]:
        return None
    return spec.finding("dose_mg", dose_text=ctx.dose_text, max=spec["max_mg"])


@_rule("methadone_cardiac_risk_ecg")
def _methadone_cardiac_risk_ecg(ctx: _Context, spec: _Spec) -> Finding | None:
    return spec.finding("cardiac_risk") if ctx.proposal.cardiac_risk else None


def _qtc_limit(sex: str | None, spec: _Spec) -> tuple[float, str]:
    if sex == "female":
        return spec["female_ms"], " for women"
    if sex == "male":
        return spec["male_ms"], " for men"
    return spec["male_ms"], " (sex not recorded, so the lower level is used)"


@_rule("methadone_qtc_of_concern")
def _methadone_qtc_of_concern(ctx: _Context, spec: _Spec) -> Finding | None:
    qtc = ctx.proposal.qtc_ms
    if qtc is None or qtc > ctx.data.specs["methadone_qtc_significant"]["above_ms"]:
        return None  # above the significant level, that rule speaks instead
    limit, for_whom = _qtc_limit(ctx.proposal.sex, spec)
    if qtc < limit:
        return None
    return spec.finding("qtc_ms", qtc=_num(qtc), limit=_num(limit), for_whom=for_whom)


@_rule("methadone_qtc_significant")
def _methadone_qtc_significant(ctx: _Context, spec: _Spec) -> Finding | None:
    qtc = ctx.proposal.qtc_ms
    if qtc is None or qtc <= spec["above_ms"]:
        return None
    return spec.finding("qtc_ms", qtc=_num(qtc), limit=_num(spec["above_ms"]))


@_rule("methadone_pregnancy_new_start_above_25mg")
def _methadone_pregnancy_new_start(ctx: _Context, spec: _Spec) -> Finding | None:
    daily = ctx.daily_mg
    p = ctx.proposal
    if not (p.pregnant and p.is_new_start) or daily is None or daily <= spec["max_mg"]:
        return None
    return spec.finding("dose_mg", dose_text=ctx.dose_text, max=spec["max_mg"])
