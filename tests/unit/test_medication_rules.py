"""Prescribing checks at the edges of each rule (DOMAIN.md, dose_rules.toml)."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from careplans.catalogue import load_dose_rules
from careplans.rules.medication import (
    Finding,
    PrescribingProposal,
    RuleResult,
    buvidal_conversion,
    buvidal_conversion_doses,
    check_prescribing,
    rules_table,
)

ADMINISTERED = "administered_by_healthcare_professional"


def methadone(dose, **kw):
    kw.setdefault("frequency", "daily")
    kw.setdefault("supervision", "supervised_consumption")
    return PrescribingProposal(option="methadone", product="methadone_oral_solution", dose_mg=dose, **kw)


def buprenorphine(dose, product="buprenorphine_sublingual", **kw):
    kw.setdefault("supervision", "supervised_consumption")
    return PrescribingProposal(option="buprenorphine", product=product, dose_mg=dose, frequency="daily", **kw)


def buvidal(dose, product="buvidal_weekly", **kw):
    kw.setdefault("frequency", "weekly" if product == "buvidal_weekly" else "monthly")
    kw.setdefault("supervision", ADMINISTERED)
    kw.setdefault("weeks_on_weekly_buvidal", 8)
    return PrescribingProposal(option="buvidal", product=product, dose_mg=dose, **kw)


def hat(dose=100, **kw):
    kw.setdefault("supervision", "supervised_consumption")
    kw.setdefault("prescriber_home_office_licence", "HO/2024/0042")
    return PrescribingProposal(option="hat", product="diamorphine_injection", dose_mg=dose, frequency="twice_daily", **kw)


def error_codes(result: RuleResult) -> set[str]:
    return {f.code for f in result.errors}


def warning_codes(result: RuleResult) -> set[str]:
    return {f.code for f in result.warnings}


def suggestion_codes(result: RuleResult) -> set[str]:
    return {f.code for f in result.suggestions}


def the(findings: list[Finding], code: str) -> Finding:
    [finding] = [f for f in findings if f.code == code]
    return finding


# --- the proposal against the catalogue ------------------------------------


def test_a_plain_methadone_prescription_has_no_findings():
    result = check_prescribing(methadone(60))
    assert result.ok
    assert result == RuleResult([], [], [])


@pytest.mark.parametrize(
    ("proposal", "code", "field"),
    [
        (PrescribingProposal("methadon", "methadone_oral_solution", 60, "daily", "take_home"), "unknown_option", "option"),
        (PrescribingProposal("detox", "methadone_oral_solution", 60, "daily", "take_home"), "option_not_medication", "option"),
        (PrescribingProposal("methadone", "methadone_tablets", 60, "daily", "take_home"), "unknown_product", "product"),
        (PrescribingProposal("methadone", "buvidal_weekly", 8, "weekly", ADMINISTERED), "product_not_in_option", "product"),
        (methadone(60, frequency="weekly"), "frequency_not_allowed", "frequency"),
        (methadone(60, frequency="hourly"), "frequency_not_allowed", "frequency"),
        (methadone(60, supervision="sometimes"), "unknown_supervision", "supervision"),
        (methadone(60, co_use={"benzos"}), "unknown_co_use", "co_use"),
    ],
)
def test_proposals_that_do_not_fit_the_catalogue_are_errors(proposal, code, field):
    result = check_prescribing(proposal)
    finding = the(result.errors, code)
    assert finding.field == field
    assert finding.message and finding.source


def test_product_from_another_option_names_the_right_products():
    result = check_prescribing(PrescribingProposal("methadone", "buvidal_weekly", 8, "weekly", ADMINISTERED))
    assert "methadone_oral_solution" in the(result.errors, "product_not_in_option").message


@pytest.mark.parametrize("dose", [0, -5, -0.1, math.nan, math.inf])
def test_zero_negative_and_non_numbers_are_refused(dose):
    for proposal in (methadone(dose), buprenorphine(dose), buvidal(dose), hat(dose)):
        result = check_prescribing(proposal)
        assert "dose_not_positive" in error_codes(result), proposal.option


def test_a_small_positive_dose_is_accepted():
    assert "dose_not_positive" not in error_codes(check_prescribing(methadone(0.5)))


def test_co_use_accepts_a_list():
    proposal = methadone(60, co_use=["alcohol"])
    assert proposal.co_use == frozenset({"alcohol"})
    assert "alcohol_opioid_co_use" in warning_codes(check_prescribing(proposal))


# --- plausibility ceilings ---------------------------------------------------


def test_methadone_ceiling():
    assert "dose_above_ceiling" not in error_codes(check_prescribing(methadone(300)))
    result = check_prescribing(methadone(301))
    finding = the(result.errors, "dose_above_ceiling")
    assert "300" in finding.message
    assert finding.source == load_dose_rules()["ceilings"]["methadone_oral_solution"]["source"]


def test_ceiling_uses_the_daily_total():
    assert "dose_above_ceiling" not in error_codes(check_prescribing(methadone(150, frequency="twice_daily")))
    assert "dose_above_ceiling" in error_codes(check_prescribing(methadone(151, frequency="twice_daily")))


def test_diamorphine_has_no_dose_limit_encoded():
    result = check_prescribing(hat(1000))
    assert result.errors == []
    assert not any(f.field == "dose_mg" for f in result.warnings)


# --- instalments -------------------------------------------------------------


def test_instalment_of_14_days_is_allowed_and_15_is_not():
    assert check_prescribing(methadone(60, instalment_days=14)).errors == []
    result = check_prescribing(methadone(60, instalment_days=15))
    finding = the(result.errors, "instalment_over_14_days")
    assert finding.field == "instalment_days"
    assert "FP10MDA" in finding.message and "FP10MDA" in finding.source


def test_instalment_limit_is_the_england_form():
    assert "instalment_over_14_days" not in error_codes(check_prescribing(methadone(60, instalment_days=15, nation="scotland")))


@pytest.mark.parametrize("days", [0, -1])
def test_instalment_must_cover_at_least_a_day(days):
    assert "instalment_days_not_positive" in error_codes(check_prescribing(methadone(60, instalment_days=days)))


def test_instalment_of_one_day_is_fine():
    assert check_prescribing(methadone(60, instalment_days=1)).errors == []


# --- Buvidal -----------------------------------------------------------------


@pytest.mark.parametrize("dose", [8, 16, 24, 32])
def test_every_weekly_strength_is_accepted(dose):
    assert check_prescribing(buvidal(dose)).errors == []


@pytest.mark.parametrize("dose", [64, 96, 128, 160])
def test_every_monthly_strength_is_accepted(dose):
    assert check_prescribing(buvidal(dose, "buvidal_monthly")).errors == []


@pytest.mark.parametrize(
    ("dose", "product"),
    [(20, "buvidal_weekly"), (4, "buvidal_weekly"), (24.5, "buvidal_weekly"), (64, "buvidal_weekly"),
     (24, "buvidal_monthly"), (100, "buvidal_monthly"), (192, "buvidal_monthly")],
)
def test_doses_that_are_not_a_strength_of_the_product_are_refused(dose, product):
    finding = the(check_prescribing(buvidal(dose, product)).errors, "buvidal_strength_not_available")
    assert finding.field == "dose_mg"


def test_strength_refusal_lists_the_real_strengths():
    message = the(check_prescribing(buvidal(20)).errors, "buvidal_strength_not_available").message
    assert "8, 16, 24 or 32 mg" in message and "20 mg" in message


def test_buvidal_frequency_must_match_the_product():
    assert "frequency_not_allowed" in error_codes(check_prescribing(buvidal(24, frequency="monthly")))
    assert "frequency_not_allowed" in error_codes(check_prescribing(buvidal(96, "buvidal_monthly", frequency="weekly")))


@pytest.mark.parametrize("supervision", ["take_home", "partly_supervised", "supervised_consumption"])
def test_buvidal_is_never_a_take_home_supply(supervision):
    finding = the(check_prescribing(buvidal(16, supervision=supervision)).errors, "professional_administration_only")
    assert finding.field == "supervision"


def test_buvidal_given_by_a_professional_has_no_supervision_error():
    assert "professional_administration_only" not in error_codes(check_prescribing(buvidal(16)))


@pytest.mark.parametrize(("weeks", "warned"), [(None, True), (0, True), (3, True), (4, False), (10, False)])
def test_weekly_for_four_weeks_before_monthly(weeks, warned):
    result = check_prescribing(buvidal(96, "buvidal_monthly", weeks_on_weekly_buvidal=weeks))
    assert ("buvidal_monthly_before_four_weeks" in warning_codes(result)) is warned
    assert result.errors == []


def test_weekly_buvidal_is_not_checked_for_weeks():
    assert check_prescribing(buvidal(16, weeks_on_weekly_buvidal=0)).warnings == []


@pytest.mark.parametrize(("methadone_mg", "warned"), [(None, False), (20, False), (30, False), (30.5, True), (40, True)])
def test_switching_from_methadone_only_at_30mg_or_less(methadone_mg, warned):
    result = check_prescribing(buvidal(16, current_methadone_dose_mg=methadone_mg))
    assert ("buvidal_from_methadone_above_30mg" in warning_codes(result)) is warned


def test_methadone_switch_message_gives_the_dose():
    message = the(check_prescribing(buvidal(16, current_methadone_dose_mg=40)).warnings, "buvidal_from_methadone_above_30mg").message
    assert "40 mg" in message and "30 mg" in message


@pytest.mark.parametrize(("hours", "warned"), [(12, True), (23.5, True), (24, False), (36, False)])
def test_first_buvidal_dose_24_hours_after_methadone(hours, warned):
    result = check_prescribing(buvidal(16, is_new_start=True, current_sublingual_buprenorphine_mg=8, hours_since_last_methadone_dose=hours))
    assert ("buvidal_too_soon_after_methadone" in warning_codes(result)) is warned


@pytest.mark.parametrize(("hours", "warned"), [(2, True), (5.9, True), (6, False), (10, False)])
def test_first_buvidal_dose_6_hours_after_a_short_acting_opioid(hours, warned):
    result = check_prescribing(buvidal(16, is_new_start=True, current_sublingual_buprenorphine_mg=8, hours_since_last_short_acting_opioid=hours))
    assert ("buvidal_too_soon_after_short_acting_opioid" in warning_codes(result)) is warned


def test_new_to_buprenorphine_gets_the_test_dose_reminder():
    result = check_prescribing(buvidal(16, is_new_start=True))
    assert "4 mg" in the(result.suggestions, "buvidal_new_to_buprenorphine").message
    assert "buvidal_new_to_buprenorphine" not in suggestion_codes(check_prescribing(buvidal(16, is_new_start=True, current_sublingual_buprenorphine_mg=8)))
    assert "buvidal_new_to_buprenorphine" not in suggestion_codes(check_prescribing(buvidal(16)))


# --- Buvidal conversion table (NHS Borders) --------------------------------


@pytest.mark.parametrize(
    ("sublingual_mg", "expected"),
    [
        (2, ["Buvidal weekly 8 mg"]),
        (6, ["Buvidal weekly 8 mg"]),
        (8, ["Buvidal weekly 16 mg", "Buvidal monthly 64 mg"]),
        (10, ["Buvidal weekly 16 mg", "Buvidal monthly 64 mg"]),
        (12, ["Buvidal weekly 24 mg", "Buvidal monthly 96 mg"]),
        (16, ["Buvidal weekly 24 mg", "Buvidal monthly 96 mg"]),
        (18, ["Buvidal weekly 32 mg", "Buvidal monthly 128 mg"]),
        (24, ["Buvidal weekly 32 mg", "Buvidal monthly 128 mg"]),
        (26, ["Buvidal monthly 160 mg"]),
        (32, ["Buvidal monthly 160 mg"]),
    ],
)
def test_conversion_at_each_band_edge(sublingual_mg, expected):
    assert buvidal_conversion(sublingual_mg) == expected


@pytest.mark.parametrize("sublingual_mg", [0, 1, 1.9, 6.5, 7, 11, 17, 25, 32.5, 33, -4, math.nan])
def test_doses_outside_the_bands_get_no_conversion(sublingual_mg):
    assert buvidal_conversion(sublingual_mg) == []
    assert buvidal_conversion_doses(sublingual_mg) == []


def test_conversion_doses_are_real_strengths():
    assert buvidal_conversion_doses(12) == [("buvidal_weekly", 24.0), ("buvidal_monthly", 96.0)]


@pytest.mark.parametrize("sublingual_mg", [7, 11])
def test_a_gap_in_the_table_is_said_plainly(sublingual_mg):
    result = check_prescribing(buvidal(16, current_sublingual_buprenorphine_mg=sublingual_mg))
    finding = the(result.suggestions, "buvidal_conversion_no_match")
    assert f"{sublingual_mg} mg" in finding.message
    assert "no Buvidal dose is suggested" in finding.message
    assert "buvidal_conversion" not in suggestion_codes(result)
    assert result.errors == [] and result.warnings == []


def test_a_matching_dose_gets_the_suggestion_without_a_difference_note():
    result = check_prescribing(buvidal(24, current_sublingual_buprenorphine_mg=12))
    message = the(result.suggestions, "buvidal_conversion").message
    assert "Buvidal weekly 24 mg or Buvidal monthly 96 mg" in message
    assert "different" not in message


def test_a_different_dose_is_pointed_out_but_not_blocked():
    result = check_prescribing(buvidal(8, current_sublingual_buprenorphine_mg=12))
    assert "different" in the(result.suggestions, "buvidal_conversion").message
    assert result.errors == [] and result.warnings == []


# --- methadone ---------------------------------------------------------------


@pytest.mark.parametrize(("dose", "warned"), [(100, False), (100.5, True), (105, True)])
def test_ecg_monitoring_above_100mg(dose, warned):
    result = check_prescribing(methadone(dose))
    assert ("methadone_above_100mg_ecg" in warning_codes(result)) is warned


def test_ecg_threshold_uses_the_daily_total():
    assert "methadone_above_100mg_ecg" not in warning_codes(check_prescribing(methadone(50, frequency="twice_daily")))
    result = check_prescribing(methadone(55, frequency="twice_daily"))
    assert "110 mg a day (55 mg twice a day)" in the(result.warnings, "methadone_above_100mg_ecg").message


def test_cardiac_risk_needs_ecg_monitoring():
    assert "methadone_cardiac_risk_ecg" in warning_codes(check_prescribing(methadone(40, cardiac_risk=True)))
    assert "methadone_cardiac_risk_ecg" not in warning_codes(check_prescribing(methadone(40)))


@pytest.mark.parametrize(("dose", "warned"), [(10, False), (30, False), (31, True), (35, True)])
def test_new_start_above_30mg(dose, warned):
    result = check_prescribing(methadone(dose, is_new_start=True))
    assert ("methadone_new_start_above_usual" in warning_codes(result)) is warned


def test_usual_start_limit_is_only_for_new_starts():
    assert check_prescribing(methadone(35)).warnings == []


@pytest.mark.parametrize(
    ("dose", "co_use", "warned"),
    [
        (20, {"alcohol"}, False),
        (25, {"alcohol"}, True),
        (25, {"sedatives"}, True),
        (25, {"benzodiazepines"}, True),
        (25, set(), False),
        (25, {"gabapentinoids"}, False),
    ],
)
def test_new_start_above_20mg_with_sedatives_or_alcohol(dose, co_use, warned):
    result = check_prescribing(methadone(dose, is_new_start=True, co_use=co_use))
    assert ("methadone_new_start_with_sedatives_or_alcohol" in warning_codes(result)) is warned


@pytest.mark.parametrize(
    ("dose", "days", "warned"),
    [(60, 10, False), (61, 10, True), (61, 14, True), (61, 15, False), (80, 3, True)],
)
def test_no_more_than_30mg_above_the_start_in_the_first_two_weeks(dose, days, warned):
    result = check_prescribing(methadone(dose, starting_dose_mg=30, previous_dose_mg=dose - 5, days_since_start=days))
    assert ("methadone_titration_too_fast" in warning_codes(result)) is warned


def test_titration_falls_back_to_the_previous_dose_and_says_so():
    result = check_prescribing(methadone(65, previous_dose_mg=30, days_since_start=7))
    assert "previous dose" in the(result.warnings, "methadone_titration_too_fast").message
    assert "methadone_titration_too_fast" not in warning_codes(check_prescribing(methadone(65, days_since_start=7)))


@pytest.mark.parametrize(("dose", "warned"), [(55, False), (60, False), (61, True)])
def test_increases_of_more_than_10mg_at_a_time(dose, warned):
    result = check_prescribing(methadone(dose, previous_dose_mg=50))
    assert ("methadone_increment_too_large" in warning_codes(result)) is warned


def test_a_decrease_is_not_an_increase():
    assert check_prescribing(methadone(30, previous_dose_mg=60)).warnings == []


@pytest.mark.parametrize(
    ("qtc", "sex", "code"),
    [
        (449, "male", None),
        (450, "male", "methadone_qtc_of_concern"),
        (469, "female", None),
        (470, "female", "methadone_qtc_of_concern"),
        (455, None, "methadone_qtc_of_concern"),
        (500, "female", "methadone_qtc_of_concern"),
        (501, "female", "methadone_qtc_significant"),
        (520, None, "methadone_qtc_significant"),
    ],
)
def test_qtc_levels(qtc, sex, code):
    codes = warning_codes(check_prescribing(methadone(60, qtc_ms=qtc, sex=sex))) & {"methadone_qtc_of_concern", "methadone_qtc_significant"}
    assert codes == ({code} if code else set())


@pytest.mark.parametrize(("dose", "warned"), [(20, False), (25, False), (26, True), (30, True)])
def test_pregnancy_new_start_at_25mg_or_less(dose, warned):
    result = check_prescribing(methadone(dose, is_new_start=True, pregnant=True))
    assert ("methadone_pregnancy_new_start_above_25mg" in warning_codes(result)) is warned


def test_pregnancy_limit_is_for_new_starts_only():
    assert check_prescribing(methadone(60, pregnant=True)).warnings == []


# --- buprenorphine -----------------------------------------------------------


@pytest.mark.parametrize(
    ("dose", "warned", "refused"),
    [(16, False, False), (24, False, False), (26, True, False), (32, True, False), (33, True, True)],
)
def test_buprenorphine_upper_limits(dose, warned, refused):
    for product in ("buprenorphine_sublingual", "buprenorphine_naloxone_sublingual"):
        result = check_prescribing(buprenorphine(dose, product))
        assert ("buprenorphine_above_usual_maximum" in warning_codes(result)) is warned
        assert ("dose_above_ceiling" in error_codes(result)) is refused


def test_severe_hepatic_impairment_is_a_warning_for_any_buprenorphine():
    for proposal in (buprenorphine(8, severe_hepatic_impairment=True), buvidal(16, severe_hepatic_impairment=True)):
        result = check_prescribing(proposal)
        assert "buprenorphine_severe_hepatic_impairment" in warning_codes(result)
        assert result.errors == []
    assert "buprenorphine_severe_hepatic_impairment" not in warning_codes(check_prescribing(methadone(60, severe_hepatic_impairment=True)))


def test_new_buprenorphine_start_needs_objective_withdrawal():
    assert "buprenorphine_objective_withdrawal" in warning_codes(check_prescribing(buprenorphine(8, is_new_start=True)))
    assert check_prescribing(buprenorphine(8, is_new_start=True, objective_withdrawal_confirmed=True)).warnings == []
    assert check_prescribing(buprenorphine(8)).warnings == []


# --- co-use ------------------------------------------------------------------


def test_benzodiazepines_with_methadone_mention_two_weeks_of_monitoring():
    finding = the(check_prescribing(methadone(60, co_use={"benzodiazepines"})).warnings, "benzodiazepine_opioid_co_use")
    assert "two weeks" in finding.message
    assert "MHRA" in finding.source and "2020" in finding.source


def test_benzodiazepines_with_any_opioid_but_not_naltrexone():
    for proposal in (buprenorphine(8, co_use={"benzodiazepines"}), buvidal(16, co_use={"benzodiazepines"}), hat(co_use={"benzodiazepines"})):
        assert "benzodiazepine_opioid_co_use" in warning_codes(check_prescribing(proposal)), proposal.option
    naltrexone = PrescribingProposal("naltrexone", "naltrexone_tablet", 50, "daily", "take_home", co_use=frozenset({"benzodiazepines"}))
    assert check_prescribing(naltrexone).warnings == []


def test_gabapentinoids_and_alcohol_with_opioids():
    result = check_prescribing(buprenorphine(8, co_use={"gabapentinoids"}))
    assert warning_codes(result) == {"gabapentinoid_opioid_co_use"}
    result = check_prescribing(buprenorphine(8, co_use={"alcohol"}))
    assert warning_codes(result) == {"alcohol_opioid_co_use"}
    result = check_prescribing(buprenorphine(8, co_use={"gabapentinoids", "alcohol"}))
    assert warning_codes(result) == {"gabapentinoid_opioid_co_use", "alcohol_opioid_co_use", "gabapentinoid_alcohol_co_use"}


def test_gabapentinoids_with_alcohol_flagged_even_without_an_opioid():
    naltrexone = PrescribingProposal("naltrexone", "naltrexone_tablet", 50, "daily", "take_home", co_use=frozenset({"gabapentinoids", "alcohol"}))
    assert warning_codes(check_prescribing(naltrexone)) == {"gabapentinoid_alcohol_co_use"}


def test_co_use_wording_reads_naturally():
    message = the(check_prescribing(methadone(60, co_use={"alcohol"})).warnings, "alcohol_opioid_co_use").message
    assert "with methadone" in message


# --- heroin-assisted treatment ----------------------------------------------


@pytest.mark.parametrize("licence", [None, "", "   "])
def test_diamorphine_without_a_home_office_licence_is_refused(licence):
    result = check_prescribing(hat(prescriber_home_office_licence=licence))
    assert the(result.errors, "hat_home_office_licence_missing").field == "prescriber_home_office_licence"


def test_diamorphine_with_a_licence_is_accepted():
    assert check_prescribing(hat()).errors == []


@pytest.mark.parametrize(("supervision", "warned"), [("supervised_consumption", False), (ADMINISTERED, False), ("take_home", True), ("partly_supervised", True)])
def test_diamorphine_is_delivered_supervised(supervision, warned):
    result = check_prescribing(hat(supervision=supervision))
    assert ("hat_not_supervised" in warning_codes(result)) is warned


# --- results, sources and the rules table -----------------------------------


def _busy_proposals():
    return [
        methadone(55, frequency="twice_daily", is_new_start=True, pregnant=True, cardiac_risk=True, qtc_ms=480, sex="male",
                  co_use={"benzodiazepines", "alcohol", "gabapentinoids"}, instalment_days=15, previous_dose_mg=20,
                  starting_dose_mg=20, days_since_start=3),
        methadone(-1, instalment_days=0, qtc_ms=510, co_use={"ketamine"}, supervision="x", frequency="weekly"),
        buvidal(24, "buvidal_monthly", supervision="take_home", weeks_on_weekly_buvidal=2, current_methadone_dose_mg=40,
                is_new_start=True, hours_since_last_methadone_dose=2, hours_since_last_short_acting_opioid=1,
                severe_hepatic_impairment=True, current_sublingual_buprenorphine_mg=7),
        buvidal(16, is_new_start=True, current_sublingual_buprenorphine_mg=12),
        buvidal(16, is_new_start=True),
        buprenorphine(40, is_new_start=True, severe_hepatic_impairment=True),
        hat(0, prescriber_home_office_licence=None, supervision="take_home"),
        methadone(400),
        methadone(80, previous_dose_mg=60),
        PrescribingProposal("x", "y", 1, "daily", "take_home"),
        PrescribingProposal("peer_support", "y", 1, "daily", "take_home"),
        PrescribingProposal("methadone", "y", 1, "daily", "take_home"),
        PrescribingProposal("methadone", "naltrexone_tablet", 50, "daily", "take_home"),
        *_alcohol_busy_proposals(),
    ]


def _alcohol_busy_proposals():
    return [
        PrescribingProposal("alcohol_assisted_withdrawal", "chlordiazepoxide_capsule", 20, "four_times_daily", "take_home",
                            sadq_score=35, on_opioid_treatment=True),
        PrescribingProposal("acamprosate", "acamprosate_tablet", 666, "three_times_daily", "take_home", weight_kg=55,
                            age_years=70),
        PrescribingProposal("acamprosate", "acamprosate_tablet", 666, "three_times_daily", "take_home"),
        PrescribingProposal("naltrexone_alcohol", "naltrexone_alcohol_tablet", 100, "daily", "take_home",
                            is_new_start=True, on_opioid_treatment=True),
        PrescribingProposal("disulfiram", "disulfiram_tablet", 600, "daily", "take_home", hours_since_last_drink=10),
        PrescribingProposal("nalmefene", "nalmefene_tablet", 36, "when_needed_once_daily", "take_home",
                            withdrawal_symptoms=True, alcohol_g_per_day=30),
    ]


def test_every_finding_carries_the_source_and_severity_from_the_data_file():
    data = load_dose_rules()
    rules = data["rules"]
    ceiling_sources = {c["source"] for c in data["ceilings"].values()}
    seen = set()
    for proposal in _busy_proposals():
        result = check_prescribing(proposal)
        for severity, findings in (("error", result.errors), ("warning", result.warnings), ("suggestion", result.suggestions)):
            for finding in findings:
                seen.add(finding.code)
                assert rules[finding.code]["severity"] == severity, finding.code
                if finding.code == "dose_above_ceiling":
                    assert finding.source in ceiling_sources
                else:
                    assert finding.source == rules[finding.code]["source"], finding.code
                assert finding.message and "{" not in finding.message and "}" not in finding.message, finding.code
                assert finding.field
    # The busy proposals exercise every rule in the file, so every message template is filled in at least once.
    assert seen == set(rules)


def test_rules_table_lists_every_rule_in_the_data_file():
    table = rules_table()
    rules = load_dose_rules()["rules"]
    assert [row["code"] for row in table if row["code"] in rules] == [row["code"] for row in table]
    assert {row["code"] for row in table} == set(rules)
    assert len(table) == len(rules)
    for row in table:
        assert row["source"].strip() and row["description"].strip()
        assert row["severity"] in {"error", "warning", "suggestion"}
        if row["check"]:
            assert row["severity"] == "warning", row["code"]


def test_rules_table_shows_thresholds():
    by_code = {row["code"]: row for row in rules_table()}
    assert by_code["methadone_above_100mg_ecg"]["parameters"]["max_mg"] == 100
    assert by_code["instalment_over_14_days"]["parameters"]["max_days"] == 14
    assert by_code["dose_above_ceiling"]["parameters"]["ceilings"]["methadone_oral_solution"]["max_daily_mg"] == 300
    assert len(by_code["buvidal_conversion"]["parameters"]["bands"]) == 5


def test_unacknowledged_warnings():
    result = check_prescribing(methadone(105, cardiac_risk=True))
    assert {w.code for w in result.unacknowledged([])} == {"methadone_above_100mg_ecg", "methadone_cardiac_risk_ecg"}
    assert [w.code for w in result.unacknowledged(["methadone_above_100mg_ecg"])] == ["methadone_cardiac_risk_ecg"]
    assert result.ok


def test_proposal_is_immutable():
    proposal = methadone(60)
    with pytest.raises(Exception):
        proposal.dose_mg = 80  # type: ignore[misc]
    assert replace(proposal, dose_mg=80).dose_mg == 80


def test_a_rule_missing_from_the_data_file_is_reported(tmp_path, monkeypatch):
    import careplans.catalogue as catalogue
    import careplans.rules.medication as medication

    text = catalogue.DOSE_RULES_FILE.read_text(encoding="utf-8")
    start = text.index("[rules.hat_not_supervised]")
    path = tmp_path / "dose_rules.toml"
    path.write_text(text[:start], encoding="utf-8")
    monkeypatch.setattr(catalogue, "DOSE_RULES_FILE", path)
    catalogue._dose_rules.cache_clear()
    medication._data.cache_clear()
    try:
        with pytest.raises(catalogue.CatalogueError, match="hat_not_supervised"):
            check_prescribing(hat())
    finally:
        monkeypatch.undo()
        catalogue._dose_rules.cache_clear()
        medication._data.cache_clear()
    assert check_prescribing(hat()).errors == []


# --- alcohol (DOMAIN.md, "Alcohol") ------------------------------------------------------------


def chlordiazepoxide(dose=20, **kw):
    kw.setdefault("frequency", "four_times_daily")
    kw.setdefault("supervision", "take_home")
    return PrescribingProposal("alcohol_assisted_withdrawal", "chlordiazepoxide_capsule", dose, **kw)


@pytest.mark.parametrize(("kw", "warned"), [
    ({}, False),
    ({"sadq_score": 30}, False),
    ({"sadq_score": 31}, True),
    ({"withdrawal_seizures_or_dt_history": True}, True),
    ({"sadq_score": 45, "inpatient_withdrawal": True}, False),
])
def test_community_withdrawal_warns_where_inpatient_is_advised(kw, warned):
    result = check_prescribing(chlordiazepoxide(**kw))
    assert ("alcohol_withdrawal_inpatient_indicated" in warning_codes(result)) is warned


def test_a_chlordiazepoxide_regimen_is_a_check_warning_with_thiamine_suggested():
    result = check_prescribing(chlordiazepoxide())
    assert result.errors == []
    assert "alcohol_withdrawal_local_protocol" in warning_codes(result)
    assert load_dose_rules()["rules"]["alcohol_withdrawal_local_protocol"]["check"] is True
    assert [s.code for s in result.suggestions] == ["alcohol_withdrawal_thiamine"]
    assert "CG100" in result.suggestions[0].source


def test_thiamine_alone_has_no_benzodiazepine_warnings():
    result = check_prescribing(PrescribingProposal("alcohol_assisted_withdrawal", "thiamine_tablet", 100,
                                                   "three_times_daily", "take_home", on_opioid_treatment=True))
    assert result.errors == [] and result.warnings == [] and result.suggestions == []


def test_a_benzodiazepine_for_withdrawal_with_opioid_treatment_is_warned():
    assert "alcohol_withdrawal_with_opioid_treatment" in warning_codes(check_prescribing(
        chlordiazepoxide(on_opioid_treatment=True)))


def acamprosate(dose=666, **kw):
    return PrescribingProposal("acamprosate", "acamprosate_tablet", dose, "three_times_daily", "take_home", **kw)


@pytest.mark.parametrize(("dose", "weight", "warned"), [
    (666, 60, False), (666, 80, False), (700, 80, True), (444, 59, False), (666, 59, True),
])
def test_acamprosate_dose_follows_weight(dose, weight, warned):
    result = check_prescribing(acamprosate(dose, weight_kg=weight, age_years=40))
    assert ("acamprosate_above_dose_for_weight" in warning_codes(result)) is warned


def test_acamprosate_without_a_weight_suggests_recording_it():
    result = check_prescribing(acamprosate(age_years=40))
    assert [s.code for s in result.suggestions] == ["acamprosate_weight_not_recorded"]


@pytest.mark.parametrize(("age", "warned"), [(17, True), (18, False), (65, False), (66, True), (None, False)])
def test_acamprosate_is_licensed_18_to_65(age, warned):
    result = check_prescribing(acamprosate(weight_kg=70, age_years=age))
    assert ("acamprosate_age_outside_licence" in warning_codes(result)) is warned


@pytest.mark.parametrize("option,product", [("naltrexone_alcohol", "naltrexone_alcohol_tablet"),
                                            ("naltrexone", "naltrexone_tablet")])
def test_naltrexone_is_refused_alongside_opioid_treatment(option, product):
    result = check_prescribing(PrescribingProposal(option, product, 50, "daily", "take_home", on_opioid_treatment=True))
    assert [e.code for e in result.errors] == ["naltrexone_with_opioid_treatment"]
    assert check_prescribing(PrescribingProposal(option, product, 50, "daily", "take_home")).errors == []


@pytest.mark.parametrize(("dose", "new", "codes"), [
    (25, True, set()), (50, True, {"naltrexone_alcohol_first_day"}), (50, False, set()),
    (75, False, {"naltrexone_alcohol_above_usual"}),
])
def test_naltrexone_for_alcohol_starts_at_25_then_50(dose, new, codes):
    result = check_prescribing(PrescribingProposal("naltrexone_alcohol", "naltrexone_alcohol_tablet", dose, "daily",
                                                   "take_home", is_new_start=new))
    assert set(warning_codes(result)) == codes


@pytest.mark.parametrize(("dose", "kw", "warned"), [
    (200, {}, False), (500, {}, False), (600, {}, True), (800, {"is_new_start": True}, False),
    (600, {"days_since_start": 2}, False), (600, {"days_since_start": 6}, True),
])
def test_disulfiram_above_500_mg_is_a_check_warning_outside_the_start(dose, kw, warned):
    result = check_prescribing(PrescribingProposal("disulfiram", "disulfiram_tablet", dose, "daily", "take_home", **kw))
    assert result.errors == []
    assert ("disulfiram_above_daily_maximum" in warning_codes(result)) is warned


def test_disulfiram_above_800_mg_is_a_typing_error():
    result = check_prescribing(PrescribingProposal("disulfiram", "disulfiram_tablet", 900, "daily", "take_home"))
    assert [e.code for e in result.errors] == ["dose_above_ceiling"]


@pytest.mark.parametrize(("hours", "warned"), [(None, False), (23.5, True), (24, False)])
def test_disulfiram_not_within_24_hours_of_drinking(hours, warned):
    result = check_prescribing(PrescribingProposal("disulfiram", "disulfiram_tablet", 200, "daily", "take_home",
                                                   hours_since_last_drink=hours))
    assert ("disulfiram_within_24_hours_of_drinking" in warning_codes(result)) is warned


def nalmefene(dose=18, **kw):
    return PrescribingProposal("nalmefene", "nalmefene_tablet", dose, "when_needed_once_daily", "take_home", **kw)


def test_nalmefene_is_one_18_mg_tablet():
    assert check_prescribing(nalmefene()).errors == []
    assert [e.code for e in check_prescribing(nalmefene(36)).errors] == ["nalmefene_one_tablet"]


@pytest.mark.parametrize(("grams", "sex", "warned"), [
    (70, "male", False), (60, "male", True), (50, "female", False), (40, "female", True), (50, None, False),
    (None, None, False),
])
def test_nalmefene_is_for_a_high_drinking_risk_level(grams, sex, warned):
    result = check_prescribing(nalmefene(alcohol_g_per_day=grams, sex=sex))
    assert ("nalmefene_below_high_risk_level" in warning_codes(result)) is warned


def test_nalmefene_with_withdrawal_symptoms_is_warned():
    assert "nalmefene_withdrawal_symptoms" in warning_codes(check_prescribing(nalmefene(withdrawal_symptoms=True)))


def test_every_alcohol_rule_has_a_source_naming_the_guidance():
    rules = load_dose_rules()["rules"]
    alcohol = {c: r for c, r in rules.items() if set(r["applies_to"]) & {
        "alcohol_assisted_withdrawal", "acamprosate", "naltrexone_alcohol", "disulfiram", "nalmefene"}}
    assert len(alcohol) >= 14
    for code, rule in alcohol.items():
        assert "DOMAIN.md" in rule["source"] or "MHRA" in rule["source"], code
        if "[check]" in rule["source"]:
            assert rule["check"] is True and rule["severity"] != "error", code
