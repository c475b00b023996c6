"""Treatment choices (the ledger) and the prescribing review, through the JSON API."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from litestar.testing import TestClient
from sqlalchemy import select, update

from careplans.models import ChoiceEntry, PrescribingDecision, User

TODAY = dt.date.today().isoformat()


def choice(option: str, **extra) -> dict:
    return {"option": option, "information_given": True, "information_format": "leaflet",
            "discussed_on": TODAY, **extra}


def methadone(dose: float = 60, **extra) -> dict:
    return {"option": "methadone", "product": "methadone_oral_solution", "dose_mg": dose, "frequency": "daily",
            "supervision": "supervised_consumption", "decision": "approved",
            "rationale": "Settled on this dose; wants to keep daily pick-ups for now.",
            "client_explanation": "We agreed methadone, taken at the pharmacy each day.", **extra}


def buvidal(dose: float, **extra) -> dict:
    return {"option": "buvidal", "product": "buvidal_weekly", "dose_mg": dose, "frequency": "weekly",
            "supervision": "administered_by_healthcare_professional", "decision": "approved",
            "rationale": "Converting from 12 mg sublingual.", "client_explanation": "Weekly injection at the clinic.",
            "current_sublingual_buprenorphine_mg": 12, **extra}


def prefer(api, plan_id: str, option: str = "buvidal", version: int = 1) -> int:
    r = api.post(f"/api/plans/{plan_id}/choices",
                 choice(option, client_view="I can't get to the chemist every day with work",
                        preference="preferred"), version=version)
    assert r.status_code == 201, r.text
    return r.json()["plan_version"]


def queue_ids(api) -> list[str]:
    r = api.get("/api/prescribing/queue")
    assert r.status_code == 200, r.text
    return [i["plan_id"] for i in r.json()["items"]]


# --- the catalogue -----------------------------------------------------------------------------

def test_options_list_every_choice_for_any_logged_in_role(as_):
    for who in ("client_a", "keyworker_a", "clinician_a", "auditor", "admin"):
        r = as_(who).get("/api/options")
        assert r.status_code == 200, (who, r.text)
    options = {o["code"]: o for o in r.json()}
    for code in ("methadone", "buprenorphine", "buvidal", "hat", "harm_reduction", "detox",
                 "abstinence_support", "residential_rehab"):
        assert options[code]["plain_description"] and options[code]["kind"] in ("medication", "support")
    weekly = next(p for p in options["buvidal"]["products"] if p["code"] == "buvidal_weekly")
    assert weekly["strengths_mg"] == [8, 16, 24, 32]
    assert all(o["available_locally"] for o in options.values())


def test_options_need_a_login(http):
    assert http.get("/api/options").status_code == 401


def test_unavailable_options_are_still_listed(settings):
    from dataclasses import replace

    from api.app import create_app
    from tests.conftest import Api

    app = create_app(replace(settings, unavailable_options=frozenset({"hat"})))
    with TestClient(app) as client:
        from careplans.db import make_engine
        from sqlalchemy.orm import Session
        from tests.conftest import build_world

        engine = make_engine(settings.database_url)
        with Session(engine, expire_on_commit=False) as s:
            w = build_world(s)
        engine.dispose()
        kw = Api(client, w.username("keyworker_a"))
        options = {o["code"]: o for o in kw.get("/api/options").json()}
        assert options["hat"]["available_locally"] is False
        assert options["methadone"]["available_locally"] is True
        # Still discussed; choosing it records unmet need.
        r = kw.post(f"/api/plans/{w.plan_ids['a']}/choices", choice("hat", outcome="chosen"), version=1)
        assert r.status_code == 201, r.text
        assert r.json()["unmet_need"] is True and r.json()["available_locally"] is False


# --- the ledger ---------------------------------------------------------------------------------

def test_ledger_entry_is_a_plan_version_with_a_plain_summary(as_, world, db):
    pid = world.plan_ids["a"]
    kw = as_("keyworker_a")
    assert kw.post(f"/api/plans/{pid}/choices", choice("methadone")).status_code == 428
    r = kw.post(f"/api/plans/{pid}/choices",
                choice("methadone", client_view="It worked for me before", preference="preferred",
                       outcome="chosen"), version=1)
    assert r.status_code == 201, r.text
    assert r.headers["etag"] == '"2"'
    entry = r.json()
    assert entry["plan_version"] == 2 and entry["option"] == "methadone"
    assert entry["client_view"]["voice"] == "worker"  # the keyworker typed it
    assert entry["unmet_need"] is False

    client = as_("client_a")
    r = client.post(f"/api/plans/{pid}/choices",
                    choice("buvidal", client_view="I'd like the injection so I can work",
                           preference="I'd like to try it", outcome="undecided"), version=2)
    assert r.status_code == 201, r.text
    assert r.json()["client_view"] == {"text": "I'd like the injection so I can work", "voice": "client",
                                       "by": "Client A", "by_role": "client"}
    assert r.json()["preference"] == "stated" and r.json()["preference_words"]["voice"] == "client"

    plan = client.plan(pid)
    assert [c["option"] for c in plan["choices"]] == ["methadone", "buvidal"]
    versions = client.get(f"/api/plans/{pid}/versions").json()
    assert [v["version"] for v in versions] == [1, 2, 3]
    assert versions[1]["summary"].startswith("Keyworker A (keyworker) recorded talking about Methadone on ")
    assert "information given (a leaflet)" in versions[1]["summary"]
    assert "outcome: chosen" in versions[1]["summary"]
    diff = client.get(f"/api/plans/{pid}/diff?from=2&to=3").json()["changes"]
    assert len(diff) == 1 and diff[0]["path"].startswith("choices[")
    assert "recorded talking about Buprenorphine injection (Buvidal)" in diff[0]["summary"]
    assert "their preference in their own words" in diff[0]["summary"]
    # The words themselves are in the entry the reader may see, never copied into the change.
    assert diff[0]["after"]["preference_words"]["text"] == "I'd like to try it"
    old = client.get(f"/api/plans/{pid}/versions/2").json()
    assert [c["option"] for c in old["choices"]] == ["methadone"]
    listed = kw.get(f"/api/plans/{pid}/choices").json()
    assert [c["option"] for c in listed["items"]] == ["methadone", "buvidal"] and listed["plan_version"] == 3

    # The projection: queryable, no free text.
    rows = db.execute(select(ChoiceEntry).where(ChoiceEntry.plan_id == uuid.UUID(pid))
                      .order_by(ChoiceEntry.plan_version)).scalars().all()
    assert [(r.option, r.outcome, r.preferred, r.plan_version) for r in rows] == [
        ("methadone", "chosen", True, 2), ("buvidal", "undecided", True, 3)]
    assert rows[1].has_client_view and rows[0].information_format == "leaflet"
    db.commit()  # end the read (commit, not rollback: rollback would expire the fixture users)
    # The audit chain still verifies with the new versions.
    assert as_("auditor").get("/api/audit/verify").json()["ok"] is True


@pytest.mark.parametrize("outcome", ["declined", "not_suitable", "not_available"])
def test_a_reason_is_needed_to_close_an_option(as_, world, outcome):
    pid = world.plan_ids["a"]
    kw = as_("keyworker_a")
    r = kw.post(f"/api/plans/{pid}/choices", choice("detox", outcome=outcome), version=1)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "reason"
    r = kw.post(f"/api/plans/{pid}/choices", choice("detox", outcome=outcome, reason="   "), version=1)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason"
    r = kw.post(f"/api/plans/{pid}/choices", choice("detox", outcome=outcome, reason="Not right now"), version=1)
    assert r.status_code == 201, r.text


def test_not_available_is_unmet_need(as_, world, db):
    pid = world.plan_ids["a"]
    kw = as_("keyworker_a")
    r = kw.post(f"/api/plans/{pid}/choices",
                choice("hat", preference="preferred", outcome="not_available",
                       reason="No heroin-assisted treatment clinic in this area"), version=1)
    assert r.status_code == 201, r.text
    assert r.json()["unmet_need"] is True
    assert "not available here" in r.json()["summary"] and "unmet need" in r.json()["summary"]
    row = db.get(ChoiceEntry, uuid.UUID(r.json()["id"]))
    assert row.unmet_need is True and row.outcome == "not_available" and row.has_reason
    db.commit()


def test_ledger_input_is_checked(as_, world):
    pid = world.plan_ids["a"]
    kw = as_("keyworker_a")
    r = kw.post(f"/api/plans/{pid}/choices", choice("magic_beans"), version=1)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "option"
    r = kw.post(f"/api/plans/{pid}/choices", choice("methadone", outcome="maybe"), version=1)
    assert r.status_code == 422
    future = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    r = kw.post(f"/api/plans/{pid}/choices", {**choice("methadone"), "discussed_on": future}, version=1)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "discussed_on"
    r = kw.post(f"/api/plans/{pid}/choices", {**choice("methadone"), "voice": "client"}, version=1)
    assert r.status_code == 422
    # Stale version: 409 with the current plan.
    assert kw.post(f"/api/plans/{pid}/choices", choice("methadone"), version=1).status_code == 201
    r = kw.post(f"/api/plans/{pid}/choices", choice("buprenorphine"), version=1)
    assert r.status_code == 409 and r.json()["current_version"] == 2


def test_who_may_write_the_ledger(as_, world):
    pid = world.plan_ids["a"]
    for who in ("clinician_a", "auditor", "admin"):
        assert as_(who).post(f"/api/plans/{pid}/choices", choice("methadone"), version=1).status_code == 403
    assert as_("keyworker_b").post(f"/api/plans/{pid}/choices", choice("methadone"), version=1).status_code == 404
    assert as_("client_b").post(f"/api/plans/{pid}/choices", choice("methadone"), version=1).status_code == 404
    assert as_("clinician_a").get(f"/api/plans/{pid}/choices").status_code == 200
    assert as_("clinician_b").get(f"/api/plans/{pid}/choices").status_code == 404


# --- the queue -----------------------------------------------------------------------------------

def test_queue_follows_preferences_decisions_later_changes_and_review_dates(as_, world, db):
    pid = world.plan_ids["a"]
    clinician = as_("clinician_a")
    assert pid not in queue_ids(clinician)  # nothing asked for yet

    client = as_("client_a")
    v = client.post(f"/api/plans/{pid}/choices", choice("mutual_aid", preference="open"), version=1).json()["plan_version"]
    assert pid not in queue_ids(clinician)  # a support option is not a prescribing matter
    v = prefer(client, pid, "buvidal", version=v)
    items = clinician.get("/api/prescribing/queue").json()["items"]
    mine = next(i for i in items if i["plan_id"] == pid)
    assert mine["plan_version"] == v and mine["reasons"][0]["code"] == "new_preference"
    assert "Buvidal" in mine["reasons"][0]["text"] and mine["client_name"] == "Person A"
    assert pid not in queue_ids(as_("clinician_b"))  # another caseload's queue

    r = clinician.post(f"/api/plans/{pid}/prescribing", {**buvidal(24), "plan_version": v})
    assert r.status_code == 201, r.text
    assert pid not in queue_ids(clinician)

    # A change outside choices and staying safe does not reopen the review.
    kw = as_("keyworker_a")
    v = kw.patch(f"/api/plans/{pid}", {"about_me": {"strengths": "Loyal"}}, version=v).json()["version"]
    assert pid not in queue_ids(clinician)
    # A later conversation does.
    r = kw.post(f"/api/plans/{pid}/choices", choice("methadone", outcome="declined", reason="Prefers the injection"),
                version=v)
    v = r.json()["plan_version"]
    mine = next(i for i in clinician.get("/api/prescribing/queue").json()["items"] if i["plan_id"] == pid)
    assert [x["code"] for x in mine["reasons"]] == ["plan_changed"]
    assert mine["last_decision"]["plan_version"] == v - 2

    r = clinician.post(f"/api/plans/{pid}/prescribing",
                       {**buvidal(24), "plan_version": v, "review_date": (dt.date.today() + dt.timedelta(days=28)).isoformat()})
    assert r.status_code == 201, r.text
    assert pid not in queue_ids(clinician)
    # So does a change to staying safe.
    v = kw.patch(f"/api/plans/{pid}", {"staying_safe": {"naloxone": {"offered": True}}}, version=v).json()["version"]
    assert pid in queue_ids(clinician)
    r = clinician.post(f"/api/plans/{pid}/prescribing",
                       {**buvidal(24), "plan_version": v, "review_date": (dt.date.today() + dt.timedelta(days=28)).isoformat()})
    assert pid not in queue_ids(clinician)

    # The review date comes.
    db.execute(update(PrescribingDecision).where(PrescribingDecision.id == uuid.UUID(r.json()["id"]))
               .values(review_date=dt.date.today() - dt.timedelta(days=1)))
    db.commit()
    mine = next(i for i in clinician.get("/api/prescribing/queue").json()["items"] if i["plan_id"] == pid)
    assert [x["code"] for x in mine["reasons"]] == ["review_due"]


def test_queue_is_oldest_first(as_, world, db):
    from tests.conftest import build_world

    other = build_world(db)
    # Both plans are prescribed for by clinician_a.
    from careplans.services import clients

    clients.assign_staff(db, uuid.UUID(other.client_ids["a"]), world.users["clinician_a"].id, "prescriber")
    db.commit()
    first = as_("client_a")
    prefer(first, world.plan_ids["a"])
    from tests.conftest import Api

    second = Api(TestClient(first.client.app), other.username("client_a"))
    prefer(second, other.plan_ids["a"])
    ids = queue_ids(as_("clinician_a"))
    assert ids.index(world.plan_ids["a"]) < ids.index(other.plan_ids["a"])


def test_only_clinicians_have_a_queue(as_):
    for who in ("client_a", "keyworker_a", "auditor", "admin"):
        assert as_(who).get("/api/prescribing/queue").status_code == 403


# --- decisions -----------------------------------------------------------------------------------

def test_who_may_decide(as_, world):
    pid = world.plan_ids["a"]
    body = {**methadone(), "plan_version": 1}
    for who in ("keyworker_a", "client_a", "auditor", "admin"):
        r = as_(who).post(f"/api/plans/{pid}/prescribing", body)
        assert r.status_code == 403, who
    assert as_("clinician_b").post(f"/api/plans/{pid}/prescribing", body).status_code == 404
    assert as_("clinician_a").post(f"/api/plans/{uuid.uuid4()}/prescribing", body).status_code == 404
    assert as_("clinician_a").post(f"/api/plans/{pid}/prescribing", body).status_code == 201


def test_decision_about_an_old_version_is_refused(as_, world):
    pid = world.plan_ids["a"]
    v = prefer(as_("client_a"), pid)
    r = as_("clinician_a").post(f"/api/plans/{pid}/prescribing", {**methadone(), "plan_version": v - 1})
    assert r.status_code == 409
    assert r.json()["current_version"] == v and r.json()["your_version"] == v - 1
    assert r.json()["current"]["version"] == v


def test_buvidal_strengths(as_, world):
    pid = world.plan_ids["a"]
    clinician = as_("clinician_a")
    r = clinician.post(f"/api/plans/{pid}/prescribing", {**buvidal(20), "plan_version": 1})
    assert r.status_code == 422
    body = r.json()
    assert body["errors"][0]["code"] == "buvidal_strength_not_available"
    assert body["errors"][0]["field"] == "dose_mg" and body["errors"][0]["source"]
    r = clinician.post(f"/api/plans/{pid}/prescribing", {**buvidal(24), "plan_version": 1})
    assert r.status_code == 201, r.text
    # 12 mg sublingual converts to 24 mg weekly: a suggestion, kept with the decision.
    assert any(s["code"] == "buvidal_conversion" for s in r.json()["suggestions"])


def test_methadone_above_100mg_needs_an_acknowledged_warning(as_, world):
    pid = world.plan_ids["a"]
    clinician = as_("clinician_a")
    assert clinician.post(f"/api/plans/{pid}/prescribing", {**methadone(100), "plan_version": 1}).status_code == 201
    r = clinician.post(f"/api/plans/{pid}/prescribing", {**methadone(105), "plan_version": 1})
    assert r.status_code == 422
    body = r.json()
    assert "errors" not in body
    assert [w["code"] for w in body["warnings"]] == ["methadone_above_100mg_ecg"]
    assert set(body["warnings"][0]) >= {"code", "field", "message", "source"}
    assert "MHRA" in body["warnings"][0]["source"]

    ack = [{"code": "methadone_above_100mg_ecg", "reason": ""}]
    r = clinician.post(f"/api/plans/{pid}/prescribing", {**methadone(105), "plan_version": 1,
                                                         "acknowledged_warnings": ack})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "acknowledged_warnings.0.reason"

    ack = [{"code": "methadone_above_100mg_ecg", "reason": "ECG booked for Tuesday; QTc 420 ms last month"}]
    r = clinician.post(f"/api/plans/{pid}/prescribing", {**methadone(105), "plan_version": 1,
                                                         "acknowledged_warnings": ack})
    assert r.status_code == 201, r.text
    stored = r.json()["acknowledged_warnings"]
    assert stored[0]["code"] == "methadone_above_100mg_ecg"
    assert stored[0]["reason"] == "ECG booked for Tuesday; QTc 420 ms last month" and stored[0]["source"]
    shown = as_("clinician_a").plan(pid)["prescribing"][0]
    assert shown["acknowledged_warnings"][0]["reason"].startswith("ECG booked")
    assert shown["dose_mg"] == 105


def test_clinical_context_reaches_the_rules(as_, world):
    pid = world.plan_ids["a"]
    r = as_("clinician_a").post(f"/api/plans/{pid}/prescribing",
                                {**methadone(30), "plan_version": 1, "is_new_start": True,
                                 "co_use": ["benzodiazepines", "alcohol"]})
    assert r.status_code == 422
    codes = {w["code"] for w in r.json()["warnings"]}
    assert {"methadone_new_start_with_sedatives_or_alcohol", "benzodiazepine_opioid_co_use",
            "alcohol_opioid_co_use"} <= codes
    r = as_("clinician_a").post(f"/api/plans/{pid}/prescribing",
                                {**methadone(30), "plan_version": 1, "instalment_days": 15})
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "instalment_over_14_days"


def test_heroin_assisted_treatment_needs_a_home_office_licence(as_, world, db):
    pid = world.plan_ids["a"]
    hat = {"option": "hat", "product": "diamorphine_injection", "dose_mg": 200, "frequency": "twice_daily",
           "supervision": "supervised_consumption", "decision": "approved", "plan_version": 1,
           "rationale": "Not settled on optimised oral methadone.",
           "client_explanation": "You can have injectable treatment at the clinic twice a day."}
    clinician = as_("clinician_a")
    r = clinician.post(f"/api/plans/{pid}/prescribing", {**hat, "prescriber_home_office_licence": "HO-1"})
    assert r.status_code == 422  # the licence comes from the account, never the request
    r = clinician.post(f"/api/plans/{pid}/prescribing", hat)
    assert r.status_code == 422
    assert r.json()["errors"][0]["code"] == "hat_home_office_licence_missing"
    db.execute(update(User).where(User.id == world.users["clinician_a"].id).values(home_office_licence="HO-12345"))
    db.commit()
    r = clinician.post(f"/api/plans/{pid}/prescribing", hat)
    assert r.status_code == 201, r.text
    assert r.json()["home_office_licence"] == "HO-12345"


def test_a_declined_decision_needs_no_dose_but_needs_reasons(as_, world):
    pid = world.plan_ids["a"]
    clinician = as_("clinician_a")
    body = {"plan_version": 1, "option": "buvidal", "decision": "declined",
            "rationale": "Liver function tests first.",
            "client_explanation": "We need a blood test before we can start the injection."}
    r = clinician.post(f"/api/plans/{pid}/prescribing", {**body, "rationale": "  "})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "rationale"
    r = clinician.post(f"/api/plans/{pid}/prescribing", {**body, "option": "peer_support"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "option"
    r = clinician.post(f"/api/plans/{pid}/prescribing", body)
    assert r.status_code == 201, r.text
    assert r.json()["dose_mg"] is None and r.json()["decision"] == "declined"
    # An approval without a dose is refused, naming each missing field.
    r = clinician.post(f"/api/plans/{pid}/prescribing", {**body, "decision": "approved"})
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"product", "dose_mg", "frequency", "supervision"}


def test_client_reads_the_decision_and_its_explanation(as_, world):
    pid = world.plan_ids["a"]
    v = prefer(as_("client_a"), pid)
    clinician = as_("clinician_a")
    clinician.post(f"/api/plans/{pid}/prescribing", {**buvidal(16), "plan_version": v})
    r = clinician.post(f"/api/plans/{pid}/prescribing", {**buvidal(24), "plan_version": v,
                                                         "client_explanation": "Weekly injection, 24 mg, at the clinic on Mondays."})
    assert r.status_code == 201
    plan = as_("client_a").plan(pid)
    assert [d["dose_mg"] for d in plan["prescribing"]] == [24, 16]  # latest first
    latest = plan["prescribing"][0]
    assert latest["client_explanation"]["text"] == "Weekly injection, 24 mg, at the clinic on Mondays."
    assert latest["plan_version"] == v and latest["fingerprint"] == plan["fingerprint"]
    assert latest["by"] == "Clinician A" and "approved" in latest["summary"]
    assert as_("keyworker_a").get(f"/api/plans/{pid}/prescribing").json()["items"][0]["id"] == latest["id"]
    # An earlier version shows only the decisions made about it or before it.
    assert as_("client_a").get(f"/api/plans/{pid}/versions/1").json()["prescribing"] == []


def test_auditor_reads_decisions_pseudonymised(as_, world):
    pid = world.plan_ids["a"]
    v = prefer(as_("client_a"), pid)
    ack = [{"code": "methadone_above_100mg_ecg", "reason": "ECG booked with Dr Secretname"}]
    r = as_("clinician_a").post(f"/api/plans/{pid}/prescribing",
                                {**methadone(110), "plan_version": v, "acknowledged_warnings": ack,
                                 "pharmacy": "Boots on Secret Street",
                                 "rationale": "Rationale with a SECRET detail",
                                 "client_explanation": "Explanation with a SECRET detail"})
    assert r.status_code == 201, r.text
    for who in ("clinician_a", "keyworker_a", "client_a", "admin"):
        assert as_(who).get("/api/audit/prescribing").status_code == 403
    auditor = as_("auditor")
    body, after = {"items": []}, 0
    while True:
        page = auditor.get(f"/api/audit/prescribing?after={after}&limit=1000").json()
        body["items"] += page["items"]
        if page["next_after"] == after:
            break
        after = page["next_after"]
    text = json.dumps(body)
    for secret in ("Secret", "SECRET", "Person A", "Clinician A", pid, world.client_ids["a"],
                   str(world.users["clinician_a"].id), r.json()["id"], "1990-01-01"):
        assert secret not in text
    mine = [i for i in body["items"] if i["plan_version"] == v and i["dose_mg"] == 110]
    assert mine and mine[0]["decision"] == "approved" and mine[0]["option"] == "methadone"
    assert mine[0]["acknowledged_warnings"][0]["code"] == "methadone_above_100mg_ecg"
    assert mine[0]["acknowledged_warnings"][0]["reason_given"] is True
    # The same pseudonyms as the audit log, so the two can be read together.
    events, after = [], 0
    while True:  # the log is paged by sequence number; this test's events may be far along
        page = auditor.get(f"/api/audit/events?plan_id={mine[0]['plan']}&after={after}&limit=1000").json()
        events += page["items"]
        if page["next_after"] == after:
            break
        after = page["next_after"]
    decided = [e for e in events if e["action"] == "prescribing.decide"]
    assert decided and decided[-1]["detail"]["fingerprint"] == mine[0]["fingerprint"]
    assert decided[-1]["client"] == mine[0]["client"]
    assert auditor.get("/api/audit/verify").json()["ok"] is True


def test_openapi_describes_the_routes(http):
    paths = http.get("/schema/openapi.json").json()["paths"]
    for path in ("/api/options", "/api/plans/{plan_id}/choices", "/api/prescribing/queue",
                 "/api/plans/{plan_id}/prescribing", "/api/audit/prescribing"):
        assert path in paths, path


def test_plan_read_and_queue_are_a_constant_number_of_queries(as_, world, engine, db):
    from sqlalchemy import event

    from careplans import queries
    from careplans.services import prescribing

    pid = world.plan_ids["a"]
    viewer = world.viewer("clinician_a")
    clinician = as_("clinician_a")

    def queries_after(decisions: int) -> int:
        for i in range(decisions):
            r = clinician.post(f"/api/plans/{pid}/prescribing", {**methadone(60 + i), "plan_version": 1})
            assert r.status_code == 201
        statements: list[str] = []

        def listener(*args, **kwargs):
            statements.append(args[2])

        event.listen(engine, "before_cursor_execute", listener)
        try:
            queries.read_plan(db, viewer, pid)
            prescribing.waiting_plans(db, viewer)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        db.commit()
        return len(statements)

    assert queries_after(1) == queries_after(5)


# --- the pages (server-rendered; the browser test drives them end to end) -----------------------------

def test_pages_carry_csrf_fields_no_inline_style_and_are_guarded(as_, world):
    import re

    pid = world.plan_ids["a"]
    kw = as_("keyworker_a")
    r = kw.get(f"/plans/{pid}/choices")
    assert r.status_code == 200
    forms = re.findall(r"<form[^>]*method=\"post\".*?</form>", r.text, re.S)
    assert len(forms) >= 8  # one per option, plus log out
    assert all('name="_csrf_token"' in f for f in forms)
    assert "style=" not in r.text and "<script>" not in r.text
    for option in ("methadone", "buprenorphine", "buvidal", "hat", "harm_reduction", "detox",
                   "abstinence_support", "residential_rehab"):
        assert f'id="option-{option}"' in r.text
    # Only clinicians reach the queue and the review page; clinician_b cannot see plan a.
    for who in ("keyworker_a", "client_a", "auditor"):
        assert as_(who).get("/prescribing/queue").status_code == 403
        assert as_(who).get(f"/plans/{pid}/prescribing/review").status_code == 403
    assert as_("clinician_b").get(f"/plans/{pid}/prescribing/review").status_code == 404
    clinician = as_("clinician_a")
    r = clinician.get(f"/plans/{pid}/prescribing/review")
    assert r.status_code == 200 and 'id="plan-fingerprint"' in r.text and 'name="_csrf_token"' in r.text
    # A form post from the review page: the error summary names the missing reasons.
    r = clinician.client.post(f"/plans/{pid}/prescribing/review",
                              data={"_csrf_token": clinician.csrf, "plan_version": "1", "decision": "declined",
                                    "option": "buvidal"})
    assert r.status_code == 422 and "There is a problem" in r.text and "#rationale" in r.text
    # Without the CSRF token the post is refused.
    r = clinician.client.post(f"/plans/{pid}/prescribing/review", data={"plan_version": "1"})
    assert r.status_code == 403


def test_staying_safe_page_saves_only_what_changed_and_reopens_the_review(as_, world):
    pid = world.plan_ids["a"]
    client = as_("client_a")
    v = prefer(client, pid)
    clinician = as_("clinician_a")
    assert clinician.post(f"/api/plans/{pid}/prescribing", {**buvidal(24), "plan_version": v}).status_code == 201
    kw = as_("keyworker_a")
    r = kw.get(f"/plans/{pid}/staying-safe")
    assert r.status_code == 200 and 'name="_csrf_token"' in r.text and "style=" not in r.text
    form = {"_csrf_token": kw.csrf, "based_on": str(v), "offered": "yes", "offered_on[day]": "2",
            "offered_on[month]": "3", "offered_on[year]": "2026", "supplied": "yes", "product": "nyxoid",
            "supplied_by": "Newport peer network", "peer_supply": "yes", "needle_syringe_access": "has_access",
            "bbv-hepatitis_c_test": "offered", "moment_count": "2", "moment-0-kind": "prison_release",
            "moment-0-date[day]": "10", "moment-0-date[month]": "4", "moment-0-date[year]": "2026",
            "moment-0-note": "Release date from HMP", "notes": "Carries the kit in their bag"}
    r = kw.client.post(f"/plans/{pid}/staying-safe", data={**form, "moment-1-note": "orphan note"},
                       follow_redirects=False)
    assert r.status_code == 422 and "#moment-1-kind" in r.text
    r = kw.client.post(f"/plans/{pid}/staying-safe", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    safe = kw.plan(pid)["staying_safe"]
    assert safe["naloxone"] == {"offered": True, "offered_on": "2026-03-02", "supplied": True, "product": "nyxoid",
                                "supplied_on": None, "supplied_by": "Newport peer network", "peer_supply": True}
    assert safe["bbv"]["hepatitis_c_test"] == "offered" and safe["bbv"]["hiv_test"] == "not_discussed"
    assert safe["overdose_risk_moments"][0]["kind"] == "prison_release"
    assert safe["notes"]["voice"] == "worker"
    assert pid in queue_ids(clinician)  # a change to staying safe reopens the review
    # Saving the same values again makes no new version.
    version = kw.plan(pid)["version"]
    r = kw.client.post(f"/plans/{pid}/staying-safe", data={**form, "based_on": str(version)}, follow_redirects=False)
    assert r.status_code == 303 and "saved=nothing" in r.headers["location"]
    assert kw.plan(pid)["version"] == version
    assert as_("clinician_a").get(f"/plans/{pid}/staying-safe").status_code == 403
