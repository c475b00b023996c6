"""Questionnaire files and scoring: pure functions, no database."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from careplans import questionnaires
from careplans.errors import InvalidInput
from careplans.questionnaires import QUESTIONNAIRE_DIR, QuestionnaireError, check_value, load_all
from careplans.rules.scoring import score


def test_every_shipped_questionnaire_loads_with_its_source():
    codes = {q.code for q in questionnaires.current()}
    assert {"feel_safe", "pc_ptsd_5", "top", "barc10", "audit"} <= codes
    for q in questionnaires.current():
        assert q.source.strip() and q.purpose.strip() and q.version >= 1
        assert all(not q.screen_notice or "not a diagnosis" in q.screen_notice for q in [q])


def test_pc_ptsd_5_is_labelled_a_screen_never_a_diagnosis():
    q = questionnaires.get("pc_ptsd_5")
    assert q.kind == "screen" and q.is_screen
    assert "screen" in q.title.lower() and "not a diagnosis" in q.screen_notice
    assert "diagnos" not in " ".join(b.label.lower() for b in q.scoring.bands)


def test_top_has_its_four_sections_and_three_stages():
    q = questionnaires.get("top")
    assert q.stages == ("start", "review", "exit")
    assert [s.code for s in q.sections] == ["substance_use", "injecting", "offending", "health_and_life"]
    codes = {x.code for x in q.questions}
    assert {"days_alcohol", "days_opioids", "days_crack", "days_cocaine", "days_amphetamines", "days_cannabis",
            "days_other", "days_injected", "shared_needles", "shared_paraphernalia", "days_shoplifting",
            "days_selling", "days_vehicle_theft", "days_other_theft", "assault", "psychological_health",
            "physical_health", "quality_of_life", "days_paid_work", "days_education", "acute_housing_problem",
            "eviction_risk"} <= codes


def _all(q, value_for):
    return {code: value_for(q.question(code)) for code in q.scoring.questions}


def test_pc_ptsd_5_scores_0_and_5():
    q = questionnaires.get("pc_ptsd_5")
    assert score(q, {"gate": False}).value == 0  # gate "no": the five are not asked
    assert score(q, {"gate": True, **_all(q, lambda _: False)}).value == 0
    five = score(q, {"gate": True, **_all(q, lambda _: True)})
    assert five.value == 5 and "talk about support" in five.band
    partly = score(q, {"gate": True, "nightmares": True})
    assert partly.value is None and "guilt" in partly.missing  # never a score from missing answers


def test_barc10_scores_10_and_60():
    q = questionnaires.get("barc10")
    assert score(q, _all(q, lambda _: "1")).value == 10
    top = score(q, _all(q, lambda _: "6"))
    assert top.value == 60 and top.band.startswith("47 or more")
    assert score(q, {**_all(q, lambda _: "5"), "progress": "2"}).value == 47


def test_audit_scores_0_and_40_with_the_who_zones():
    q = questionnaires.get("audit")
    low = score(q, _all(q, lambda x: x.options[0].value))
    high = score(q, _all(q, lambda x: x.options[-1].value))
    assert (low.value, low.band) == (0, "Lower risk")
    assert (high.value, high.band) == (40, "Possible dependence")
    eight = {**_all(q, lambda x: x.options[0].value), "frequency": "4_plus_week", "typical_amount": "10_plus"}
    assert (score(q, eight).value, score(q, eight).band) == (8, "Increasing risk")


def test_top_days_0_and_28_and_out_of_range_refused_naming_the_question():
    q = questionnaires.get("top").question("days_alcohol")
    assert check_value(q, 0, "answers.0.days_alcohol") == 0
    assert check_value(q, 28, "answers.0.days_alcohol") == 28
    for bad in (29, -1, "lots", True):
        with pytest.raises(InvalidInput) as exc:
            check_value(q, bad, "answers.0.days_alcohol")
        assert exc.value.errors[0]["field"] == "answers.0.days_alcohol"
    rating = questionnaires.get("top").question("quality_of_life")
    assert check_value(rating, 20, "f") == 20
    with pytest.raises(InvalidInput):
        check_value(rating, 21, "f")


def _broken(tmp_path: Path, name: str, old: str, new: str) -> Path:
    d = tmp_path / "q"
    shutil.copytree(QUESTIONNAIRE_DIR, d)
    path = d / name
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return d


@pytest.mark.parametrize(("name", "old", "new", "message"), [
    ("barc10.toml", 'type = "choice"', 'type = "slider"', "barc10.toml: sections[statements].questions[important_things].type: unknown answer type 'slider'"),
    ("feel_safe.toml", 'code = "safer_times"', 'code = "safer_places"', "feel_safe.toml: sections[appointments].questions[safer_places].code: duplicate question code"),
    ("audit.toml", '"others_concerned"]', '"others_worried"]', "audit.toml: scoring.questions: names a question that does not exist: 'others_worried'"),
    ("pc_ptsd_5.toml", 'ask_if = { question = "gate"', 'ask_if = { question = "gates"', "pc_ptsd_5.toml: sections[past_month].ask_if.question"),
    ("pc_ptsd_5.toml", 'screen_notice = ', 'old_notice = ', "pc_ptsd_5.toml: screen_notice: a screen must say"),
])
def test_a_file_with_an_error_is_refused_naming_the_file_and_field(tmp_path, name, old, new, message):
    with pytest.raises(QuestionnaireError) as exc:
        load_all(_broken(tmp_path, name, old, new))
    assert message in str(exc.value)


def test_the_app_refuses_to_start_with_a_broken_questionnaire(tmp_path, monkeypatch):
    from api.app import create_app
    from api.settings import Settings

    broken = _broken(tmp_path, "top.toml", 'type = "rating_20"', 'type = "rating_200"')
    monkeypatch.setattr(questionnaires, "QUESTIONNAIRE_DIR", broken)
    with pytest.raises(QuestionnaireError, match="top.toml: sections\\[health_and_life\\].questions\\[psychological_health\\].type"):
        create_app(Settings(env="test", database_url=f"sqlite:///{tmp_path / 'x.db'}", secret_key="k" * 40))
