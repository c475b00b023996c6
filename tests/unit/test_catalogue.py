"""The option catalogue and the rule data files: what a service reviews."""

from __future__ import annotations

import re

import pytest

import careplans.catalogue as catalogue
from careplans.catalogue import (
    KINDS,
    QS23_CATEGORIES,
    CatalogueError,
    load_dose_rules,
    load_frequencies,
    load_options,
    load_supervision_modes,
    option_by_code,
    product_by_code,
)

API_CODES = {"methadone", "buprenorphine", "buvidal", "hat", "harm_reduction", "detox", "abstinence_support", "residential_rehab"}
MEDICATION_CODES = {"methadone", "buprenorphine", "buvidal", "hat", "naltrexone", "alcohol_assisted_withdrawal",
                    "acamprosate", "naltrexone_alcohol", "disulfiram", "nalmefene"}
SUPPORT_CODES = {
    "harm_reduction",
    "detox",
    "abstinence_support",
    "residential_rehab",
    "drug_consumption_room",
    "gender_specific_services",
    "psychosocial_support",
    "mutual_aid",
    "peer_support",
    "alcohol_cut_down",
    "alcohol_stop",
    "contingency_management",
}
# Rules that encode facts marked [check] in DOMAIN.md.
CHECK_RULES = {
    "methadone_new_start_with_sedatives_or_alcohol",
    "methadone_titration_too_fast",
    "methadone_increment_too_large",
    "methadone_qtc_of_concern",
    "methadone_qtc_significant",
    "methadone_pregnancy_new_start_above_25mg",
    "buprenorphine_above_usual_maximum",
    "buprenorphine_severe_hepatic_impairment",
    "alcohol_withdrawal_local_protocol",
    "disulfiram_above_daily_maximum",
    "disulfiram_within_24_hours_of_drinking",
}
STIGMATISING = re.compile(r"\b(addicts?|abusers?|junkies?|junkie|non-?compliant|clean|dirty|misusers?)\b", re.I)


def _codes(options):
    return {o.code for o in options}


def test_every_api_option_code_is_in_the_catalogue():
    assert API_CODES <= _codes(load_options())


def test_medication_and_support_options_have_the_right_kind():
    by_code = {o.code: o for o in load_options()}
    assert MEDICATION_CODES | SUPPORT_CODES <= set(by_code)
    assert {c for c, o in by_code.items() if o.kind == "medication"} >= MEDICATION_CODES
    assert all(by_code[c].kind == "support" for c in SUPPORT_CODES)
    assert all(o.kind in KINDS for o in by_code.values())


def test_medications_have_products_and_support_options_do_not():
    for option in load_options():
        if option.kind == "medication":
            assert option.products, option.code
            assert all(p.option_code == option.code for p in option.products)
        else:
            assert option.products == ()


def test_every_option_and_product_names_a_source():
    for option in load_options():
        assert option.source.strip(), option.code
        for product in option.products:
            assert product.source.strip(), product.code


def test_every_qs23_choice_is_covered_by_some_option():
    categories = {o.qs23_category for o in load_options()}
    assert QS23_CATEGORIES <= categories
    assert categories - {None} <= QS23_CATEGORIES
    assert option_by_code("harm_reduction").qs23_category == "harm_reduction"
    assert option_by_code("detox").qs23_category == "detoxification"
    assert option_by_code("abstinence_support").qs23_category == "abstinence"
    assert option_by_code("methadone").qs23_category == "maintenance"


def test_plain_descriptions_are_short_plain_and_respectful():
    for option in load_options():
        text = option.plain_description
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]
        assert 2 <= len(sentences) <= 3, (option.code, sentences)
        assert not STIGMATISING.search(text), (option.code, text)
        assert option.name.strip()


def test_methadone_product():
    product = product_by_code("methadone_oral_solution")
    assert product.option_code == "methadone"
    assert product.strengths == ("1 mg/ml",)
    assert product.controlled_drug_schedule == 2
    assert product.route == "oral"


def test_buprenorphine_products():
    sublingual = product_by_code("buprenorphine_sublingual")
    assert sublingual.strengths_mg == (0.4, 2.0, 8.0)
    assert sublingual.controlled_drug_schedule == 3
    codes = {p.code for p in option_by_code("buprenorphine").products}
    assert codes == {"buprenorphine_sublingual", "buprenorphine_naloxone_sublingual", "buprenorphine_oral_lyophilisate"}
    assert all(product_by_code(c).controlled_drug_schedule == 3 for c in codes)


def test_buvidal_products_have_only_their_real_strengths():
    weekly = product_by_code("buvidal_weekly")
    monthly = product_by_code("buvidal_monthly")
    assert weekly.strengths_mg == (8.0, 16.0, 24.0, 32.0)
    assert monthly.strengths_mg == (64.0, 96.0, 128.0, 160.0)
    for product in (weekly, monthly):
        assert product.dose_must_be_a_strength
        assert product.professional_administration_only
        assert product.route == "subcutaneous"
        assert "prolonged-release" in product.form
    assert weekly.frequencies == ("weekly",)
    assert monthly.frequencies == ("monthly",)


def test_diamorphine_needs_a_home_office_licence_and_naltrexone_is_50mg():
    diamorphine = product_by_code("diamorphine_injection")
    assert diamorphine.option_code == "hat"
    assert diamorphine.home_office_licence_required
    assert not any(p.home_office_licence_required for o in load_options() for p in o.products if p.code != "diamorphine_injection")
    naltrexone = product_by_code("naltrexone_tablet")
    assert naltrexone.strengths_mg == (50.0,)
    assert option_by_code("naltrexone").opioid is False


def test_unknown_codes_give_none():
    assert option_by_code("nope") is None
    assert product_by_code("nope") is None


def test_every_option_is_available_unless_the_service_says_otherwise():
    assert all(o.available_locally for o in load_options())


def test_unavailable_options_are_still_listed_and_flagged():
    options = load_options(frozenset({"hat", "residential_rehab"}))
    by_code = {o.code: o for o in options}
    assert _codes(options) == _codes(load_options())
    assert by_code["hat"].available_locally is False
    assert by_code["residential_rehab"].available_locally is False
    assert all(o.available_locally for c, o in by_code.items() if c not in {"hat", "residential_rehab"})
    assert option_by_code("hat", {"hat"}).available_locally is False
    assert option_by_code("hat").available_locally is True


def test_unavailable_accepts_a_plain_set_and_rejects_unknown_codes():
    assert option_by_code("hat", unavailable={"hat"}).available_locally is False
    with pytest.raises(CatalogueError):
        load_options(frozenset({"heroin_assisted"}))


def test_frequencies_and_supervision_have_sources():
    frequencies = load_frequencies()
    assert {"daily", "twice_daily", "weekly", "monthly"} <= set(frequencies)
    assert frequencies["twice_daily"]["times_per_day"] == 2
    supervision = load_supervision_modes()
    assert {"supervised_consumption", "take_home", "administered_by_healthcare_professional"} <= set(supervision)
    for entry in [*frequencies.values(), *supervision.values()]:
        assert entry["source"].strip()


def test_every_rule_has_a_source_and_a_valid_severity():
    rules = load_dose_rules()["rules"]
    assert len(rules) >= 30
    for code, rule in rules.items():
        assert rule["source"].strip(), code
        assert rule["description"].strip(), code
        assert rule["severity"] in {"error", "warning", "suggestion"}, code


def test_check_facts_are_always_warnings():
    rules = load_dose_rules()["rules"]
    flagged = {code for code, rule in rules.items() if rule["check"]}
    assert CHECK_RULES <= flagged
    for code in flagged:
        assert rules[code]["severity"] == "warning", code


def test_ceilings_and_conversion_table_name_their_sources():
    data = load_dose_rules()
    assert data["ceilings"]["methadone_oral_solution"]["max_daily_mg"] == 300
    assert data["ceilings"]["buprenorphine_sublingual"]["max_daily_mg"] == 32
    # DOMAIN.md: no verified UK dose range for diamorphine, so no limit is encoded.
    assert "diamorphine_injection" not in data["ceilings"]
    for code, ceiling in data["ceilings"].items():
        assert ceiling["source"].strip(), code
        assert product_by_code(code) is not None
    assert "NHS Borders" in data["buvidal_conversion"]["source"]


def test_rule_messages_use_respectful_words():
    for code, rule in load_dose_rules()["rules"].items():
        assert not STIGMATISING.search(rule["message"]), code


def test_load_dose_rules_returns_a_copy():
    data = load_dose_rules()
    data["rules"]["methadone_above_100mg_ecg"]["max_mg"] = 1
    assert load_dose_rules()["rules"]["methadone_above_100mg_ecg"]["max_mg"] == 100


@pytest.fixture
def rules_file(tmp_path, monkeypatch):
    """Point the loader at a copy of dose_rules.toml that a test may edit."""
    path = tmp_path / "dose_rules.toml"
    path.write_text(catalogue.DOSE_RULES_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(catalogue, "DOSE_RULES_FILE", path)
    catalogue._dose_rules.cache_clear()
    yield path
    catalogue._dose_rules.cache_clear()


def test_loader_refuses_a_check_fact_set_to_error(rules_file):
    text = rules_file.read_text(encoding="utf-8")
    block = text.index("[rules.buprenorphine_above_usual_maximum]")
    edited = text[:block] + text[block:].replace('severity = "warning"', 'severity = "error"', 1)
    rules_file.write_text(edited, encoding="utf-8")
    with pytest.raises(CatalogueError, match="never be an error"):
        load_dose_rules()


def test_loader_refuses_a_rule_without_a_source(rules_file):
    text = rules_file.read_text(encoding="utf-8")
    block = text.index("[rules.instalment_over_14_days]")
    start = text.index("source = ", block)
    end = text.index("\n", start)
    rules_file.write_text(text[:start] + 'source = ""' + text[end:], encoding="utf-8")
    with pytest.raises(CatalogueError, match="source"):
        load_dose_rules()


# --- substances ----------------------------------------------------------------------------


def test_every_option_names_known_substances_and_alcohol_has_its_options():
    from careplans.vocab import SUBSTANCES

    by_code = {o.code: o for o in load_options()}
    for option in by_code.values():
        assert option.substances and set(option.substances) <= set(SUBSTANCES.codes), option.code
    alcohol = {c for c, o in by_code.items() if "alcohol" in o.substances}
    assert {"alcohol_assisted_withdrawal", "acamprosate", "naltrexone_alcohol", "disulfiram", "nalmefene",
            "alcohol_cut_down", "alcohol_stop", "mutual_aid", "psychosocial_support"} <= alcohol
    assert "methadone" not in alcohol
    assert "thiamine_tablet" in {p.code for p in by_code["alcohol_assisted_withdrawal"].products}
    for code in ("contingency_management", "psychosocial_support"):
        assert "stimulants" in by_code[code].substances
    assert "CG51" in by_code["contingency_management"].source


def test_options_for_substances_puts_the_plan_substances_first():
    from careplans.catalogue import options_for_substances

    first, rest = options_for_substances(["alcohol"])
    assert first[0].code == "alcohol_assisted_withdrawal" or "alcohol" in first[0].substances
    assert all(o.is_for(["alcohol"]) for o in first)
    assert "methadone" in _codes(rest) and "acamprosate" in _codes(first)
    assert _codes(first) | _codes(rest) == _codes(load_options())
    everything, nothing = options_for_substances([])
    assert nothing == [] and _codes(everything) == _codes(load_options())
    both, _ = options_for_substances(["alcohol", "opioids"])
    assert {"methadone", "acamprosate"} <= _codes(both)


def test_an_unknown_substance_in_the_catalogue_is_refused(monkeypatch, tmp_path):
    import careplans.catalogue as cat

    text = cat.OPTIONS_FILE.read_text().replace('substances = ["alcohol"]', 'substances = ["booze"]', 1)
    bad = tmp_path / "options.toml"
    bad.write_text(text)
    monkeypatch.setattr(cat, "OPTIONS_FILE", bad)
    cat._options_data.cache_clear(); cat._all_options.cache_clear()
    try:
        with pytest.raises(cat.CatalogueError, match="substances"):
            cat._all_options()
    finally:
        monkeypatch.undo()
        cat._options_data.cache_clear(); cat._all_options.cache_clear()
