"""The choice report against hand-computed figures on a constructed data set.

The data set has its own keyworker, so the report is filtered to it (the database is
shared with other tests): the keyworker filter is under test too. Distinctive strings
are written everywhere a person can write; no auditor output may contain any of them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid

import pytest
from sqlalchemy import event, select

from careplans import commands, policy, queries, reports
from careplans.policy import Principal
from careplans.services import accounts, choices, clients, feedback, goals, prescribing
from tests.conftest import PASSWORD, TEST_SECRET, Api

TODAY = dt.date.today()
CANARY_NAME = "Zebedee-Quillfeather"
CANARY_DOB = dt.date(1911, 11, 11)
CANARIES = [CANARY_NAME, "1911-11-11", "CANARY-WORDS-about-me", "CANARY-WORDS-goal", "CANARY-WORDS-view",
            "CANARY-WORDS-reason", "CANARY-WORDS-preference", "CANARY-WORDS-comment", "9434765919"]


def days_ago(n: int) -> str:
    return (TODAY - dt.timedelta(days=n)).isoformat()


def principal(user) -> Principal:
    return Principal(id=user.id, role=user.role, name=user.display_name)


class Dataset:
    def __init__(self, db):
        tag = uuid.uuid4().hex[:8]
        self.db = db
        self.kw = principal(accounts.create_user(db, f"rkw-{tag}", PASSWORD, "keyworker", "Report Keyworker"))
        self.doc = principal(accounts.create_user(db, f"rdoc-{tag}", PASSWORD, "clinician", "Report Clinician",
                                                  "HO-1"))
        self.auditor_user = accounts.create_user(db, f"raud-{tag}", PASSWORD, "auditor", "Report Auditor")
        self.auditor = principal(self.auditor_user)
        self.clients: list[Principal] = []
        self.plans: dict[str, str] = {}
        self.kw_ref = policy.pseudonym(TEST_SECRET, "staff", self.kw.id)

    def person(self, key: str, **kw) -> tuple[Principal, str, int]:
        user = accounts.create_user(self.db, f"rc-{key}-{uuid.uuid4().hex[:6]}", PASSWORD, "client",
                                    f"{CANARY_NAME} {key}")
        c = clients.create_client(self.db, self.kw, preferred_name=f"{CANARY_NAME} {key}", date_of_birth=CANARY_DOB,
                                  nhs_number="9434765919" if key == "full" else None, user_id=user.id)
        clients.assign_staff(self.db, uuid.UUID(c["id"]), self.doc.id, "prescriber")
        plan = commands.create_plan(self.db, self.kw, c["id"], today=TODAY)
        self.plans[key] = plan.id
        return principal(user), plan.id, plan.version

    def choice(self, pid: str, v: int, option: str, **fields) -> int:
        body = {"option": option, "information_given": True, "discussed_on": TODAY.isoformat(), **fields}
        result, _ = choices.add_choice(self.db, self.kw, pid, v, body)
        return result.version

    def decide(self, pid: str, option: str = "methadone") -> None:
        plan, _ = queries.load_current(self.db, self.doc, uuid.UUID(pid))
        prescribing.decide(self.db, self.doc, pid, {
            "plan_version": plan.version, "option": option, "product": "methadone_oral_solution",
            "dose_mg": 30, "frequency": "daily", "supervision": "supervised_consumption",
            "decision": "approved", "rationale": "CANARY-WORDS-reason", "client_explanation": "CANARY-WORDS-reason",
            "acknowledged_warnings": [], "clinical_context": {}})


@pytest.fixture()
def data(db):
    d = Dataset(db)
    # 1. Everything done: four QS23 categories, methadone chosen (a decision 20 days after the
    #    preference), staying safe complete, review in 30 days, signed by both.
    client, pid, v = d.person("full")
    v = goals.patch_plan(db, client, pid, v, {"what_matters": "CANARY-WORDS-about-me"}, None).version
    r, _ = goals.add_goal(db, client, pid, v, {"title": "CANARY-WORDS-goal", "area": "health"})
    v = r.version
    v = d.choice(pid, v, "harm_reduction", information_format="leaflet", discussed_on=days_ago(30),
                 outcome="chosen")
    v = d.choice(pid, v, "methadone", information_format="conversation", discussed_on=days_ago(20),
                 preference="CANARY-WORDS-preference", client_view="CANARY-WORDS-view", outcome="chosen")
    v = d.choice(pid, v, "detox", discussed_on=days_ago(30), outcome="declined", reason="CANARY-WORDS-reason")
    v = d.choice(pid, v, "abstinence_support", discussed_on=days_ago(29), outcome="not_suitable",
                 reason="CANARY-WORDS-reason")
    v = goals.patch_plan(db, d.kw, pid, v, None, {
        "naloxone": {"offered": True, "offered_on": days_ago(25), "supplied": True, "supplied_on": days_ago(24)},
        "bbv": {"hepatitis_b_test": "offered", "hepatitis_c_test": "done", "hiv_test": "declined",
                "hepatitis_b_vaccination": "offered"},
        "needle_syringe_access": "has_access"}, (TODAY + dt.timedelta(days=30)).isoformat()).version
    d.decide(pid)
    v = queries.load_current(db, d.kw, uuid.UUID(pid))[0].version
    commands.sign_agreement(db, client, pid, v, None)
    commands.sign_agreement(db, d.kw, pid, v, None)
    feedback.give(db, client, pid, {"listened": 5, "comment": "CANARY-WORDS-comment", "pass_on": True})

    # 2. No choices at all; review date passed.
    client2, pid, v = d.person("none")
    goals.patch_plan(db, d.kw, pid, v, None, {"needle_syringe_access": "not_needed"}, days_ago(5))

    # 3. Heroin-assisted treatment wanted but not available here; buprenorphine wanted, no
    #    decision yet; residential rehab only ever declined.
    _, pid, v = d.person("hat")
    v = d.choice(pid, v, "hat", discussed_on=days_ago(10), preference="preferred", outcome="not_available",
                 reason="CANARY-WORDS-reason")
    v = d.choice(pid, v, "buprenorphine", discussed_on=days_ago(4), preference="preferred")
    d.choice(pid, v, "residential_rehab", information_given=False, discussed_on=days_ago(3), outcome="declined",
             reason="CANARY-WORDS-reason")

    # 4 and 5. Methadone wanted; decisions 40 and 12 days later.
    for key, ago in (("m40", 40), ("m12", 12)):
        _, pid, v = d.person(key)
        d.choice(pid, v, "methadone", discussed_on=days_ago(ago), preference="preferred")
        d.decide(pid)
    db.commit()
    return d


def by_option(figures):
    return {o["option"]: o for o in figures["options"]}


def test_service_figures_match_hand_computed_expectations(db, data):
    flt = reports.make_filter(keyworker=data.kw_ref)
    f = reports.service_figures(db, data.auditor, TEST_SECRET, flt, today=TODAY)
    opts = by_option(f)
    assert opts["methadone"] == {**opts["methadone"], "discussed": 3, "information_given": 3, "preferred": 3,
                                 "chosen": 1, "declined": 0, "undecided": 0}
    assert opts["hat"]["preferred"] == 1 and opts["hat"]["not_available"] == 1 and opts["hat"]["chosen"] == 0
    assert opts["buprenorphine"]["preferred"] == 1 and opts["buprenorphine"]["chosen"] == 0
    # an option only ever declined (and with no information given)
    assert opts["residential_rehab"] == {**opts["residential_rehab"], "discussed": 1, "information_given": 0,
                                         "declined": 1, "preferred": 0, "chosen": 0}
    assert opts["detox"]["declined"] == 1 and opts["abstinence_support"]["not_suitable"] == 1
    assert "naltrexone" not in opts
    assert f["unmet_preferences"] == [{"option": "hat", "name": opts["hat"]["name"], "outcome": "not_available",
                                       "available_locally": True, "reason": "not available here", "people": 1}]
    assert f["plans"] == {"plans": 5, "agreed_by_both": 1, "agreed_by_client": 1, "reviews_overdue": 1,
                          "no_review_date": 3, "no_options_discussed": 1}
    assert {c["category"]: c["people"] for c in f["information_by_category"]} == {
        "harm_reduction": 1, "maintenance": 4, "detoxification": 1, "abstinence": 1}
    # waits 12, 20, 40 days; buprenorphine wanted with no decision yet; HAT not a decision either
    assert f["time_to_decision"] == {"with_decision": 3, "median_days": 20, "p90_days": 40,
                                     "waiting_for_decision": 2}


def test_the_home_page_glance_is_the_service_figures_it_shows(db, data):
    flt = reports.make_filter(keyworker=data.kw_ref)
    full = reports.service_figures(db, data.auditor, TEST_SECRET, flt, today=TODAY)
    glance = reports.at_a_glance(db, data.auditor, TEST_SECRET, flt, today=TODAY)
    assert glance["plans"] == full["plans"] and glance["unmet_preferences"] == full["unmet_preferences"]
    assert glance["plans"]["plans"] == 5 and sum(u["people"] for u in glance["unmet_preferences"]) == 1
    db.rollback()


def test_the_plan_row_keeps_the_current_next_review_date(db, data):
    """plans.next_review_date (what the figures count) follows every version's document."""
    from careplans.models import Plan

    _, pid, v = data.person("review-col")

    def column():
        db.expire_all()
        return db.execute(select(Plan.next_review_date).where(Plan.id == uuid.UUID(pid))).scalar_one()

    assert column() is None
    v = goals.patch_plan(db, data.kw, pid, v, None, None, days_ago(-10)).version
    assert column() == TODAY + dt.timedelta(days=10)
    v = goals.patch_plan(db, data.kw, pid, v, {"what_matters": "Something else"}, None).version
    assert column() == TODAY + dt.timedelta(days=10)
    goals.patch_plan(db, data.kw, pid, v, None, None, None)
    assert column() is None
    db.rollback()


def test_filters_by_option_and_date(db, data):
    f = reports.service_figures(db, data.auditor, TEST_SECRET,
                                reports.make_filter(keyworker=data.kw_ref, option="methadone",
                                                    date_from=days_ago(25), date_to=TODAY.isoformat()), today=TODAY)
    assert [o["option"] for o in f["options"]] == ["methadone"]
    assert by_option(f)["methadone"]["discussed"] == 2   # 20 and 12 days ago, not 40
    assert f["time_to_decision"]["median_days"] in (12, 20)


def test_per_plan_checklist(db, data):
    result = reports.checklists(db, data.auditor, TEST_SECRET, reports.make_filter(keyworker=data.kw_ref),
                                today=TODAY, limit=None)
    assert result["total"] == 5
    plans = {p["plan"]: p for p in result["items"]}
    ref = {k: policy.pseudonym(TEST_SECRET, "plan", v) for k, v in data.plans.items()}
    full = {i["item"]: i for i in plans[ref["full"]]["items"]}
    for cat in reports.QS23_CATEGORIES:
        assert full[f"info_{cat}"]["status"] == "met", cat
    assert full["info_harm_reduction"]["met_on"] == days_ago(30)
    assert full["info_harm_reduction"]["how"] == ["leaflet"]
    assert full["info_maintenance"]["met_on"] == days_ago(20)
    assert full["medication_options"]["options"] == ["methadone"]
    assert full["preference_in_own_words"]["status"] == "met"
    assert full["outcome_with_reason"]["status"] == "met"
    assert full["naloxone"] == {**full["naloxone"], "status": "met", "met_on": days_ago(24), "supplied": True}
    assert full["bbv_testing"]["status"] == "met"
    assert full["needle_syringe_access"]["status"] == "met"
    assert full["agreed_by_client"]["status"] == "met" and full["agreed_by_client"]["met_on"] == TODAY.isoformat()
    assert full["review_on_time"]["status"] == "met"
    assert full["top_review_6_months"]["status"] == "not_applicable"
    assert full["top_review_6_months"]["note"].startswith("not due until")
    assert plans[ref["full"]]["agreed_by_both"] is True

    none = {i["item"]: i for i in plans[ref["none"]]["items"]}
    assert all(none[f"info_{c}"]["status"] == "not_met" for c in reports.QS23_CATEGORIES)
    assert none["outcome_with_reason"]["status"] == "not_applicable"
    assert none["needle_syringe_access"]["status"] == "not_applicable"
    assert none["review_on_time"]["status"] == "not_met" and none["review_on_time"]["overdue"] is True
    assert none["naloxone"]["status"] == "not_met" and none["agreed_by_client"]["status"] == "not_met"

    hat = {i["item"]: i for i in plans[ref["hat"]]["items"]}
    assert hat["medication_options"]["options"] == ["buprenorphine", "hat"]
    assert hat["outcome_with_reason"]["status"] == "not_met"
    assert hat["outcome_with_reason"]["without_reason"] == ["buprenorphine"]
    assert hat["preference_in_own_words"]["status"] == "not_met"

    one = reports.plan_checklist(db, data.auditor, TEST_SECRET, ref["full"], today=TODAY)
    assert one == plans[ref["full"]]


def test_statement_count_does_not_grow_with_plans(db, data, engine):
    statements: list[str] = []

    def count(*_args, **_kw):
        statements.append("x")

    flt = reports.make_filter(keyworker=data.kw_ref)
    event.listen(engine, "before_cursor_execute", count)
    try:
        reports.choice_report(db, data.auditor, TEST_SECRET, flt, today=TODAY)
        few = len(statements)
        # five more plans, with choices
        for i in range(5):
            _, pid, v = data.person(f"more{i}")
            data.choice(pid, v, "methadone", preference="preferred")
        db.commit()
        statements.clear()
        reports.choice_report(db, data.auditor, TEST_SECRET, flt, today=TODAY)
        assert len(statements) == few
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_sample_is_reproducible_from_its_seed(db, data):
    flt = reports.make_filter(keyworker=data.kw_ref)
    a = reports.sample(db, data.auditor, TEST_SECRET, 3, 12345, flt)
    b = reports.sample(db, data.auditor, TEST_SECRET, 3, 12345, flt)
    assert a == b and len(a["items"]) == 3 and a["seed"] == 12345 and a["population"] == 5
    others = {tuple(i["plan"] for i in reports.sample(db, data.auditor, TEST_SECRET, 3, s, flt)["items"])
              for s in range(20)}
    assert len(others) > 1
    fresh = reports.sample(db, data.auditor, TEST_SECRET, 2, None, flt)
    assert isinstance(fresh["seed"], int)
    assert reports.sample(db, data.auditor, TEST_SECRET, 2, fresh["seed"], flt)["items"] == fresh["items"]


def test_feedback_is_suppressed_below_five_answers(db, data):
    d = data
    quarter_start, quarter_end = reports.quarter_range(TODAY)

    def totals():
        result = reports.feedback_totals(db, d.auditor, quarter_start, quarter_end)
        return {q["quarter"]: q for q in result["quarters"]}

    # Other tests may have answered this quarter too; count what is there first.
    def listened_answers():
        from sqlalchemy import func

        from careplans.models import FeedbackResponse
        start = dt.datetime.combine(quarter_start, dt.time(), dt.timezone.utc)
        return db.execute(select(func.count(FeedbackResponse.listened))
                          .where(FeedbackResponse.answered_at >= start)).scalar_one()

    added = 0
    while listened_answers() < 4:
        client, pid, v = d.person(f"fb{added}")
        commands.sign_agreement(db, client, pid, v, None)
        feedback.give(db, client, pid, {"listened": 4})
        db.commit()
        added += 1
    if listened_answers() == 4:
        q = next(iter(totals().values()))
        listened = next(x for x in q["questions"] if x["question"] == "listened")
        assert listened["suppressed"] is True and listened["answered"] is None and listened["distribution"] is None
    client, pid, v = d.person("fb-last")
    commands.sign_agreement(db, client, pid, v, None)
    feedback.give(db, client, pid, {"listened": 2, "comment": "CANARY-WORDS-comment"})
    db.commit()
    q = [q for q in totals().values()][-1]
    listened = next(x for x in q["questions"] if x["question"] == "listened")
    assert listened["suppressed"] is False and listened["answered"] >= 5
    assert sum(listened["distribution"].values()) == listened["answered"]
    assert "CANARY" not in str(q)


def test_feedback_ranges_are_whole_quarters(db, data):
    """Two ranges a day apart inside one quarter give the same totals, so subtracting one
    from the other cannot show a single person's answers."""
    start, end = reports.quarter_range(TODAY)
    whole = reports.feedback_totals(db, data.auditor, start, end)
    one_day = reports.feedback_totals(db, data.auditor, TODAY, TODAY)
    day_more = reports.feedback_totals(db, data.auditor, max(start, TODAY - dt.timedelta(days=1)), TODAY)
    assert whole == one_day == day_more
    assert whole["quarters"] and whole["quarters"][-1]["quarter"] == one_day["quarters"][-1]["quarter"]
    db.rollback()


def test_feedback_only_after_signing_and_only_once(db, data):
    client, pid, v = data.person("fb-once")
    from careplans.errors import AlreadyExists, InvalidInput

    assert feedback.invitation(db, client, pid) is None
    with pytest.raises(InvalidInput):
        feedback.give(db, client, pid, {"listened": 3})
    commands.sign_agreement(db, client, pid, v, None)
    assert feedback.invitation(db, client, pid) == {"plan_id": pid, "plan_version": v, "after": "agreed"}
    feedback.give(db, client, pid, {}, skip=True)
    assert feedback.invitation(db, client, pid) is None
    with pytest.raises(AlreadyExists):
        feedback.give(db, client, pid, {"listened": 3})
    mine = feedback.for_plan(db, client, pid)
    assert mine[0]["skipped"] is True
    db.commit()


def test_no_name_birth_date_or_words_reach_any_auditor_output(app, db, data):
    from litestar.testing import TestClient

    http = TestClient(app)
    auditor = Api(http, data.auditor_user.username)
    ref = policy.pseudonym(TEST_SECRET, "plan", data.plans["full"])
    urls = [f"/api/audit/choice-report?keyworker={data.kw_ref}", f"/api/audit/choice-report?plan={ref}",
            f"/api/audit/choice-report?format=csv&keyworker={data.kw_ref}", "/api/audit/choice-report",
            "/api/audit/sample?n=50&seed=7", "/api/audit/feedback", "/api/audit/events?limit=1000",
            "/audit", "/audit/plans", f"/audit/plans?keyworker={data.kw_ref}", f"/audit/checklist?plan={ref}",
            "/audit/service", f"/audit/service?keyworker={data.kw_ref}&option=methadone", "/audit/sample?n=20&seed=3",
            "/audit/feedback", "/audit/log", "/audit/verify"]
    for url in urls:
        r = auditor.get(url)
        assert r.status_code == 200, (url, r.status_code, r.text[:300])
        for canary in CANARIES:
            assert canary not in r.text, (url, canary)
    csv_text = auditor.get(f"/api/audit/choice-report?format=csv&keyworker={data.kw_ref}").text
    rows = list(csv.reader(io.StringIO(csv_text)))
    assert rows[0][:3] == ["plan", "keyworker", "start_date"]
    assert len(rows) == 1 + 5
    assert {r[0] for r in rows[1:]} == {policy.pseudonym(TEST_SECRET, "plan", p) for p in data.plans.values()}
    http.cookies.clear()


def test_every_report_read_is_audited(db, data):
    from careplans.models import AuditEvent

    before = db.execute(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one()
    flt = reports.make_filter(keyworker=data.kw_ref)
    reports.service_figures(db, data.auditor, TEST_SECRET, flt, today=TODAY)
    reports.checklists(db, data.auditor, TEST_SECRET, flt, today=TODAY)
    reports.choice_report_csv(db, data.auditor, TEST_SECRET, flt, today=TODAY)
    reports.sample(db, data.auditor, TEST_SECRET, 2, 1, flt)
    reports.feedback_totals(db, data.auditor)
    actions = db.execute(select(AuditEvent.action).where(AuditEvent.seq > before).order_by(AuditEvent.seq)
                         ).scalars().all()
    assert actions == ["report.service.read", "report.checklists.read", "report.choice.csv", "report.sample.draw",
                       "report.feedback.read"]
    db.rollback()


def test_reports_refuse_everyone_but_auditors(db, data):
    from careplans.errors import NotAllowed

    with pytest.raises(NotAllowed):
        reports.service_figures(db, data.kw, TEST_SECRET)
    with pytest.raises(NotAllowed):
        reports.sample(db, data.doc, TEST_SECRET, 1, 1)
    db.rollback()


def test_csv_pages_through_every_plan_once(db, data):
    flt = reports.make_filter(keyworker=data.kw_ref)
    whole = list(csv.reader(io.StringIO(reports.choice_report_csv(db, data.auditor, TEST_SECRET, flt, today=TODAY))))
    paged = list(csv.reader(io.StringIO(reports.choice_report_csv(db, data.auditor, TEST_SECRET, flt, today=TODAY,
                                                                  batch=2))))
    assert paged == whole and len(paged) == 6 and len({r[0] for r in paged[1:]}) == 5
    db.rollback()


def test_top_review_by_six_months():
    start = dt.date(2026, 1, 10)
    due = start + dt.timedelta(days=reports.TOP_REVIEW_DUE_DAYS)
    early = reports.top_review_item("p", start, start + dt.timedelta(days=30))
    assert early["status"] == "not_applicable" and due.isoformat() in early["note"]
    late = reports.top_review_item("p", start, due + dt.timedelta(days=1))
    assert late["status"] == "not_met"
    done = reports.top_review_item("p", start, due + dt.timedelta(days=1), dt.date(2026, 5, 1))
    assert done["status"] == "met" and done["met_on"] == "2026-05-01"


def test_checklist_reads_the_latest_top_review(db, world):
    """A finished TOP at the review stage makes the item met, read in the same page query."""
    from careplans import assessments, queries
    from careplans.assessments import AnswerInput

    kw = world.viewer("keyworker_a")
    pid = world.plan_ids["a"]
    v = queries.read_plan(db, kw, pid, audited=False).version
    assessments.start_assessment(db, kw, pid, v, "top", [AnswerInput(question="quality_of_life", value=12,
                                                                      visibility="care_team")],
                                 stage="review", taken_on=TODAY)
    db.commit()
    dates = assessments.latest_top_review_dates(db, [queries.parse_id(pid)])
    assert dates == {pid: TODAY}
    item = {i["item"]: i for i in reports.plan_checklist(
        db, world.viewer("auditor"), TEST_SECRET, policy.pseudonym(TEST_SECRET, "plan", pid), today=TODAY)["items"]}
    assert item["top_review_6_months"]["status"] == "met"
    assert item["top_review_6_months"]["met_on"] == TODAY.isoformat()
    db.rollback()
