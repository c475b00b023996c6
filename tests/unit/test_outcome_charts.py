"""Outcome chart geometry: values written on the points, dates below, a text description."""

from careplans.outcome_charts import line_chart, outcome_charts


def test_points_carry_their_values_and_the_description_reads_without_the_picture():
    chart = line_chart("Quality of life", [{"date": "2026-01-05", "value": 5, "label": "Start of treatment"},
                                           {"date": "2026-04-02", "value": 12, "label": "Review"}], 0, 20, 5,
                       "out of 20")
    assert [p.value for p in chart.points] == [5, 12]
    assert chart.points[0].y > chart.points[1].y  # higher is better, drawn higher
    assert chart.description == ("Quality of life, oldest first: 5 out of 20 on 5 January 2026 (start of "
                                 "treatment); 12 out of 20 on 2 April 2026 (review).")
    assert [v for _, v in chart.gridlines] == [0, 5, 10, 15, 20]


def test_substances_never_used_are_a_sentence_not_an_empty_chart():
    series = {"days_used": [
        {"code": "days_opioids", "label": "Illicit opioids", "points": [{"date": "2026-01-05", "value": 20},
                                                                         {"date": "2026-04-02", "value": 4}]},
        {"code": "days_cocaine", "label": "Cocaine", "points": [{"date": "2026-01-05", "value": 0}]}],
        "ratings": [], "barc10": [{"date": "2026-01-05", "value": 33}]}
    charts = outcome_charts(series)
    assert [c.title for c in charts["days_used"]] == ["Illicit opioids: days used in the last 4 weeks"]
    assert charts["days_none"] == ["Cocaine"]
    assert charts["barc10"][0].low == 10 and charts["barc10"][0].high == 60
