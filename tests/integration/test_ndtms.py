"""The national return (NDTMS): the episode kept as data, and the auditor's CSV.

A constructed set of people with known dates; the CSV is checked row by row (the
database is shared with other tests, so only these people's rows are compared), for the
date-range filter, and for pseudonymisation: distinctive names, dates of birth and words
written in the plan never appear in it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid

import pytest

from sqlalchemy import select

from careplans import commands, ndtms, policy, queries
from careplans.assessments import AnswerInput, start_assessment
from careplans.errors import InvalidInput, NotAllowed, NotFound
from careplans.models import User
from careplans.policy import Principal
from careplans.services import accounts, clients, episodes, goals
from tests.conftest import PASSWORD, TEST_SECRET, Api

D = dt.date.fromisoformat
CANARY_NAME = "Ottoline-Wimbleworth"
CANARIES = [CANARY_NAME, "1912-12-12", "CANARY-NDTMS-about-me", "9434765919"]
APRIL = (D("2025-04-01"), D("2025-04-30"))


def principal(user) -> Principal:
    return Principal(id=user.id, role=user.role, name=user.display_name)


class People:
    def __init__(self, db):
        tag = uuid.uuid4().hex[:8]
        self.db = db
        self.kw = principal(accounts.create_user(db, f"nkw-{tag}", PASSWORD, "keyworker", "Return Keyworker"))
        self.other_kw = principal(accounts.create_user(db, f"nkw2-{tag}", PASSWORD, "keyworker", "Other Keyworker"))
        self.admin = principal(accounts.create_user(db, f"nadm-{tag}", PASSWORD, "admin", "Return Admin"))
        self.auditor_user = accounts.create_user(db, f"naud-{tag}", PASSWORD, "auditor", "Return Auditor")
        self.auditor = principal(self.auditor_user)
        self.client_ids: dict[str, str] = {}
        self.plan_ids: dict[str, str] = {}

    def person(self, key: str, started: str | None, **episode) -> str:
        c = clients.create_client(self.db, self.kw, preferred_name=f"{CANARY_NAME} {key}",
                                  date_of_birth=D("1912-12-12"), nhs_number="9434765919" if key == "a" else None)
        self.client_ids[key] = c["id"]
        if started:
            plan = commands.create_plan(self.db, self.kw, c["id"], today=D(started))
            self.plan_ids[key] = plan.id
            goals.patch_plan(self.db, self.kw, plan.id, plan.version, {"what_matters": "CANARY-NDTMS-about-me"},
                             None)
        episodes.update_episode(self.db, self.kw, c["id"], {"triage_date": None, **episode})
        return c["id"]

    def ref(self, key: str) -> str:
        return policy.pseudonym(TEST_SECRET, "client", self.client_ids[key])


@pytest.fixture()
def people(db):
    p = People(db)
    # a: in treatment through April; two interventions (one ended in March), three TOPs.
    a = p.person("a", "2025-03-28", referral_date="2025-03-20", triage_date="2025-03-25", consent_to_report=True)
    episodes.add_intervention(db, p.kw, a, {"intervention_type": "pharmacological", "setting": "community",
                                            "start_date": "2025-04-02"})
    episodes.add_intervention(db, p.kw, a, {"intervention_type": "psychosocial", "setting": "community",
                                            "start_date": "2025-02-01", "end_date": "2025-03-15"})
    episodes.add_intervention(db, p.kw, a, {"intervention_type": "recovery_support", "setting": "recovery_housing",
                                            "start_date": "2025-03-01", "end_date": "2025-04-01"})
    pid = p.plan_ids["a"]
    for stage, day, finish in (("start", "2025-03-28", True), ("review", "2025-04-20", True),
                               ("review", "2025-04-25", False), ("exit", "2025-05-02", True)):
        v = queries.load_current(db, p.kw, uuid.UUID(pid))[0].version
        start_assessment(db, p.kw, pid, v, "top",
                         [AnswerInput(question="quality_of_life", value=12, visibility="care_team")],
                         stage=stage, taken_on=D(day), finish=finish)
    # b: discharged before April: not in the April return.
    p.person("b", "2025-01-10", referral_date="2025-01-02", discharged_on="2025-03-31",
             discharge_reason="completed_free", consent_to_report=True)
    # c: discharged in April, no consent.
    p.person("c", "2025-02-01", triage_date="2025-01-20", discharged_on="2025-04-10",
             discharge_reason="left_early", consent_to_report=False)
    # d: referred in May: not yet.
    p.person("d", None, referral_date="2025-05-03")
    # e: triaged in April, no plan yet, consent not asked.
    p.person("e", None, triage_date="2025-04-29")
    db.commit()
    return p


def extract(db, people, date_from, date_to) -> list[dict[str, str]]:
    text = ndtms.extract_csv(db, people.auditor, TEST_SECRET, date_from, date_to)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0].keys()) == list(ndtms.COLUMNS) if rows else True
    mine = {people.ref(k): k for k in people.client_ids}
    return [{**r, "who": mine[r["client"]]} for r in rows if r["client"] in mine]


def test_the_april_return_row_by_row(db, people):
    rows = extract(db, people, *APRIL)
    a_plan = policy.pseudonym(TEST_SECRET, "plan", people.plan_ids["a"])
    blank = {c: "" for c in ndtms.COLUMNS}
    expected = [
        {**blank, "who": "a", "record_type": "episode", "client": people.ref("a"), "plan": a_plan,
         "referral_date": "2025-03-20", "triage_date": "2025-03-25", "care_plan_start_date": "2025-03-28",
         "consent_to_report": "yes"},
        {**blank, "who": "a", "record_type": "intervention", "client": people.ref("a"), "plan": a_plan,
         "intervention_type": "recovery_support", "intervention_setting": "recovery_housing",
         "intervention_start_date": "2025-03-01", "intervention_end_date": "2025-04-01"},
        {**blank, "who": "a", "record_type": "intervention", "client": people.ref("a"), "plan": a_plan,
         "intervention_type": "pharmacological", "intervention_setting": "community",
         "intervention_start_date": "2025-04-02"},
        {**blank, "who": "a", "record_type": "top", "client": people.ref("a"), "plan": a_plan,
         "top_date": "2025-04-20", "top_stage": "review"},
        {**blank, "who": "c", "record_type": "episode", "client": people.ref("c"),
         "plan": policy.pseudonym(TEST_SECRET, "plan", people.plan_ids["c"]), "triage_date": "2025-01-20",
         "care_plan_start_date": "2025-02-01", "discharge_date": "2025-04-10", "discharge_reason": "left_early",
         "consent_to_report": "no"},
        {**blank, "who": "e", "record_type": "episode", "client": people.ref("e"), "triage_date": "2025-04-29"},
    ]
    key = lambda r: (r["client"], r["record_type"], r["intervention_start_date"], r["top_date"])  # noqa: E731
    assert sorted(rows, key=key) == sorted(expected, key=key)


def test_the_date_range_decides_which_rows(db, people):
    march = extract(db, people, D("2025-03-01"), D("2025-03-31"))
    assert {(r["who"], r["record_type"]) for r in march} == {
        ("a", "episode"), ("a", "intervention"), ("a", "top"), ("b", "episode"), ("c", "episode")}
    assert sorted(r["intervention_type"] for r in march if r["record_type"] == "intervention") == [
        "psychosocial", "recovery_support"]
    may = extract(db, people, D("2025-05-01"), D("2025-05-31"))
    assert {(r["who"], r["record_type"], r["top_stage"]) for r in may} == {
        ("a", "episode", ""), ("a", "intervention", ""), ("a", "top", "exit"), ("d", "episode", ""),
        ("e", "episode", "")}
    with pytest.raises(InvalidInput):
        ndtms.extract_csv(db, people.auditor, TEST_SECRET, D("2025-05-01"), D("2025-04-01"))
    with pytest.raises(InvalidInput):
        ndtms.extract_csv(db, people.auditor, TEST_SECRET, None, D("2025-04-01"))
    db.rollback()


def test_no_name_birth_date_or_words_in_the_csv(app, db, people):
    from litestar.testing import TestClient

    http = TestClient(app)
    auditor = Api(http, people.auditor_user.username)
    r = auditor.get("/api/audit/ndtms?from=2025-01-01&to=2025-12-31")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert people.ref("a") in r.text
    for canary in CANARIES:
        assert canary not in r.text, canary
    for secret_id in [*people.client_ids.values(), *people.plan_ids.values()]:
        assert secret_id not in r.text
    assert auditor.get("/api/audit/ndtms?from=2025-04-01").status_code == 422
    page = auditor.get("/audit/ndtms?from=2025-04-01&to=2025-04-30")
    assert page.status_code == 200 and "/api/audit/ndtms?from=2025-04-01&amp;to=2025-04-30" in page.text
    http.cookies.clear()


def test_only_auditors_download_the_return(db, people):
    with pytest.raises(NotAllowed):
        ndtms.extract_csv(db, people.kw, TEST_SECRET, *APRIL)
    with pytest.raises(NotAllowed):
        ndtms.extract_csv(db, people.admin, TEST_SECRET, *APRIL)
    db.rollback()


def test_episode_rules_and_who_may_record(db, people):
    a = people.client_ids["a"]
    with pytest.raises(InvalidInput) as e:
        episodes.update_episode(db, people.kw, a, {"discharged_on": "2025-05-01"})
    assert e.value.errors[0]["field"] == "discharge_reason"
    with pytest.raises(InvalidInput) as e:
        episodes.update_episode(db, people.kw, a, {"triage_date": "2025-03-01"})  # before the referral
    assert e.value.errors[0]["field"] == "triage_date"
    with pytest.raises(InvalidInput):
        episodes.update_episode(db, people.kw, a, {"referral_date": (dt.date.today() + dt.timedelta(days=2))})
    with pytest.raises(InvalidInput):
        episodes.add_intervention(db, people.kw, a, {"intervention_type": "pharmacological", "setting": "community",
                                                     "start_date": "2025-04-02", "end_date": "2025-04-01"})
    # the administrator records the discharge; only the keyworker records interventions
    view = episodes.update_episode(db, people.admin, a, {"discharged_on": "2025-06-01",
                                                         "discharge_reason": "transferred_community"})
    assert view["discharge_reason"] == "transferred_community" and view["discharged_on"] == "2025-06-01"
    with pytest.raises(NotAllowed):
        episodes.add_intervention(db, people.admin, a, {"intervention_type": "psychosocial", "setting": "community",
                                                        "start_date": "2025-04-02"})
    # another keyworker's caseload is out of reach (404, not 403: the client is not theirs)
    with pytest.raises(NotFound):
        episodes.episode(db, people.other_kw, a)
    with pytest.raises(NotFound):
        episodes.update_episode(db, people.other_kw, a, {"consent_to_report": False})
    item = next(i for i in episodes.episode(db, people.kw, a)["interventions"] if i["end_date"] is None)
    with pytest.raises(NotFound):
        episodes.end_intervention(db, people.other_kw, item["id"], "2025-05-01")
    assert episodes.end_intervention(db, people.kw, item["id"], "2025-05-01")["end_date"] == "2025-05-01"
    db.rollback()


def test_episode_api(app, db, people):
    from litestar.testing import TestClient

    http = TestClient(app)
    username = db.execute(select(User.username).where(User.id == people.kw.id)).scalar_one()
    kw = Api(http, username)
    cid = people.client_ids["e"]
    r = kw.patch(f"/api/clients/{cid}/episode", json={"referral_date": "2025-04-20", "consent_to_report": True})
    assert r.status_code == 200, r.text
    assert r.json()["referral_date"] == "2025-04-20" and r.json()["consent_to_report"] is True
    start, end = (dt.date.today() - dt.timedelta(days=n) for n in (20, 2))  # the API takes dates near today
    r = kw.post(f"/api/clients/{cid}/interventions", json={"intervention_type": "psychosocial",
                                                            "setting": "community", "start_date": start.isoformat()})
    assert r.status_code == 201, r.text
    r = kw.patch(f"/api/interventions/{r.json()['id']}", json={"end_date": end.isoformat()})
    assert r.status_code == 200 and r.json()["end_date"] == end.isoformat()
    assert kw.patch(f"/api/clients/{cid}/episode", json={"discharge_reason": "gone"}).status_code in (400, 422)
    got = kw.get(f"/api/clients/{cid}/episode").json()
    assert got["triage_date"] == "2025-04-29" and len(got["interventions"]) == 1
    http.cookies.clear()


def test_bulk_demo_fills_the_return(tmp_path):
    """`careplans demo --plans N` makes people with the return's dates: every one has an
    episode row; interventions, TOPs, discharges with reasons and consent all appear."""
    from sqlalchemy.orm import Session

    from careplans import audit
    from careplans.db import make_engine, upgrade
    from careplans.demo_bulk import generate

    url = f"sqlite:///{tmp_path / 'bulk.db'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        with Session(engine) as db:
            generate(db, 200, seed=3)
            auditor = principal(accounts.create_user(db, "bulk-auditor", PASSWORD, "auditor", "Bulk Auditor"))
            today = dt.date.today()
            text = ndtms.extract_csv(db, auditor, TEST_SECRET, today - dt.timedelta(days=800), today)
            rows = list(csv.DictReader(io.StringIO(text)))
            kinds = {k: [r for r in rows if r["record_type"] == k] for k in ("episode", "intervention", "top")}
            assert len(kinds["episode"]) == 200 and len({r["client"] for r in kinds["episode"]}) == 200
            assert all(r["referral_date"] and r["triage_date"] <= r["care_plan_start_date"] for r in kinds["episode"])
            assert {r["discharge_reason"] != "" for r in kinds["episode"] if r["discharge_date"]} == {True}
            assert {r["consent_to_report"] for r in kinds["episode"]} == {"yes", "no", ""}
            assert kinds["intervention"] and kinds["top"]
            assert {r["top_stage"] for r in kinds["top"]} == {"start", "review"}
            assert audit.verify(db).ok
            db.rollback()
    finally:
        engine.dispose()
