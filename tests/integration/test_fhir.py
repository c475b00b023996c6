"""The FHIR R4 export: validated by a real library, references resolve, the person's words
kept, audiences narrowed, the same version exported twice identical, every export audited.

Validation uses `fhir.resources` 8.x, module `fhir.resources.R4B`: the package's R4-family
models (R4B 4.3.0 is a technical correction of R4 4.0.1; the resources exported here —
Patient, Practitioner, CarePlan, Goal, MedicationRequest, Provenance — have the same
elements in both). The package's default module is R5, which would accept elements R4
does not have, so it is not used.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from fhir.resources.R4B.bundle import Bundle

from careplans import fhir

TODAY = dt.date.today().isoformat()
GOAL_WORDS = "Get my own flat near my sister"
WHY_WORDS = "So my kids can stay over"
REASON_WORDS = "I tried it before and felt sick every morning"


def _choice(option: str, **extra) -> dict:
    return {"option": option, "information_given": True, "information_format": "leaflet", "discussed_on": TODAY,
            **extra}


@pytest.fixture()
def rich_plan(as_, world):
    """A plan with a goal (two check-ins), three options discussed, a decision and both signatures."""
    pid = world.plan_ids["a"]
    kw, client, clinician = as_("keyworker_a"), as_("client_a"), as_("clinician_a")
    r = client.post(f"/api/plans/{pid}/goals", {"title": GOAL_WORDS, "why": WHY_WORDS, "area": "social_functioning",
                                                "target_date": "2027-03-01"}, version=1)
    assert r.status_code == 201, r.text
    goal_id, v = r.json()["id"], r.json()["plan_version"]
    for rating in (3, 6):
        r = client.post(f"/api/plans/{pid}/goals/{goal_id}/check-ins", {"rating": rating}, version=v)
        assert r.status_code == 201, r.text
        v = r.json()["plan_version"]
    for body in (_choice("methadone", outcome="declined", reason=REASON_WORDS),
                 _choice("buvidal", preference="preferred", client_view="Weekly would fit around work",
                         outcome="chosen"),
                 _choice("harm_reduction", outcome="chosen")):
        r = kw.post(f"/api/plans/{pid}/choices", body, version=v)
        assert r.status_code == 201, r.text
        v = r.json()["plan_version"]
    r = clinician.post(f"/api/plans/{pid}/prescribing", {
        "plan_version": v, "option": "buvidal", "product": "buvidal_weekly", "dose_mg": 16, "frequency": "weekly",
        "supervision": "administered_by_healthcare_professional", "decision": "approved",
        "rationale": "Starting weekly.", "client_explanation": "A weekly injection at the clinic.",
        "current_sublingual_buprenorphine_mg": 8})
    assert r.status_code == 201, r.text
    for who in (client, kw):
        assert who.post(f"/api/plans/{pid}/agreements", {"version": v}).status_code == 201
    return {"plan_id": pid, "version": v, "goal_id": goal_id, "client": client, "keyworker": kw,
            "clinician": clinician}


def _resources(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def _references(node) -> list[str]:
    if isinstance(node, dict):
        found = [node["reference"]] if isinstance(node.get("reference"), str) else []
        return found + [r for v in node.values() for r in _references(v)]
    if isinstance(node, list):
        return [r for v in node for r in _references(v)]
    return []


# fhir.resources checks elements, types and cardinality, not required value sets; the codes
# we emit in elements bound "required" in FHIR R4 are checked against these (from the R4 spec).
REQUIRED_CODES = {
    ("CarePlan", "status"): {"draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown"},
    ("CarePlan", "intent"): {"proposal", "plan", "order", "option"},
    ("Goal", "lifecycleStatus"): {"proposed", "planned", "accepted", "active", "on-hold", "completed", "cancelled",
                                  "entered-in-error", "rejected"},
    ("MedicationRequest", "status"): {"active", "on-hold", "cancelled", "completed", "entered-in-error", "stopped",
                                      "draft", "unknown"},
    ("MedicationRequest", "intent"): {"proposal", "plan", "order", "original-order", "reflex-order", "filler-order",
                                      "instance-order", "option"},
}
ACTIVITY_STATUS = {"not-started", "scheduled", "in-progress", "on-hold", "completed", "cancelled", "stopped",
                   "unknown", "entered-in-error"}


def _valid(bundle: dict) -> Bundle:
    parsed = Bundle.model_validate(bundle)
    for entry in bundle["entry"]:
        res = entry["resource"]
        for (kind, element), codes in REQUIRED_CODES.items():
            if res["resourceType"] == kind:
                assert res[element] in codes, f"{kind}.{element} = {res[element]!r}"
        for activity in res.get("activity", []) if res["resourceType"] == "CarePlan" else []:
            if "detail" in activity:
                assert activity["detail"]["status"] in ACTIVITY_STATUS
    assert parsed.type == "collection"
    full_urls = {e["fullUrl"] for e in bundle["entry"]}
    dangling = set(_references(bundle)) - full_urls
    assert not dangling, f"references that do not resolve inside the bundle: {dangling}"
    return parsed


def test_client_export_validates_and_holds_the_persons_words(rich_plan):
    client, pid = rich_plan["client"], rich_plan["plan_id"]
    r = client.get(f"/api/plans/{pid}/fhir")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    bundle = r.json()
    _valid(bundle)
    kinds = sorted({e["resource"]["resourceType"] for e in bundle["entry"]})
    assert kinds == ["CarePlan", "Goal", "MedicationRequest", "Patient", "Practitioner", "Provenance"]

    (goal,) = _resources(bundle, "Goal")
    assert goal["description"]["text"] == GOAL_WORDS
    assert goal["lifecycleStatus"] == "active"
    assert goal["achievementStatus"]["coding"][0]["code"] == "improving"  # 3 then 6
    assert goal["target"] == [{"dueDate": "2027-03-01"}]

    requests = _resources(bundle, "MedicationRequest")
    options = {m["medicationCodeableConcept"]["coding"][0]["code"]: m for m in requests if m["intent"] == "option"}
    assert set(options) == {"methadone", "buvidal"}  # harm reduction is support: a CarePlan activity
    assert options["methadone"]["status"] == "cancelled"
    assert REASON_WORDS in options["methadone"]["statusReason"]["text"]
    (decision,) = [m for m in requests if m["intent"] == "plan"]
    assert decision["status"] == "active"
    assert decision["dosageInstruction"][0]["text"].startswith("16 mg")
    assert decision["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] == 16

    (care_plan,) = _resources(bundle, "CarePlan")
    assert care_plan["intent"] == "plan"
    fingerprint = next(i["value"] for i in care_plan["identifier"] if i["system"] == fhir.FINGERPRINT_SYSTEM)
    assert fingerprint == bundle["identifier"]["value"]
    assert any(a.get("detail", {}).get("code", {}).get("text") for a in care_plan["activity"])
    signatures = _resources(bundle, "Provenance")
    assert len(signatures) == 2
    assert {s["target"][0]["identifier"]["value"] for s in signatures} == {fingerprint}
    (person,) = _resources(bundle, "Patient")
    assert person["name"][0]["text"] == "Person A"


def test_the_same_version_exported_twice_is_identical(rich_plan):
    client, pid, v = rich_plan["client"], rich_plan["plan_id"], rich_plan["version"]
    first = client.get(f"/api/plans/{pid}/fhir").content
    second = client.get(f"/api/plans/{pid}/fhir?version={v}").content
    assert first == second
    # An earlier version is its own bundle: fewer goals, different fingerprint, still valid.
    old = client.get(f"/api/plans/{pid}/fhir?version=1").json()
    _valid(old)
    assert not _resources(old, "Goal") and old["identifier"] != json.loads(first)["identifier"]
    assert client.get(f"/api/plans/{pid}/fhir?version=999").status_code == 404


def test_audiences_hold_only_what_they_may_see(rich_plan):
    client, pid = rich_plan["client"], rich_plan["plan_id"]
    pharmacy = client.get(f"/api/plans/{pid}/fhir?audience=pharmacy").json()
    _valid(pharmacy)
    text = json.dumps(pharmacy)
    for words in (GOAL_WORDS, WHY_WORDS, REASON_WORDS, "Weekly would fit around work", "Starting weekly."):
        assert words not in text
    assert not _resources(pharmacy, "Goal") and not _resources(pharmacy, "Provenance")
    assert [m["intent"] for m in _resources(pharmacy, "MedicationRequest")] == ["plan"]

    gp = client.get(f"/api/plans/{pid}/fhir?audience=gp").json()
    _valid(gp)
    assert _resources(gp, "Goal")[0]["description"]["text"] == GOAL_WORDS

    custom = client.get(f"/api/plans/{pid}/fhir?audience=custom&sections=goals").json()
    _valid(custom)
    assert _resources(custom, "Goal") and not _resources(custom, "MedicationRequest")
    assert client.get(f"/api/plans/{pid}/fhir?audience=auditor").status_code in (400, 422)


def test_who_may_export(rich_plan, as_, world):
    pid = rich_plan["plan_id"]
    assert rich_plan["keyworker"].get(f"/api/plans/{pid}/fhir").status_code == 200
    clinician_view = rich_plan["clinician"].get(f"/api/plans/{pid}/fhir")
    assert clinician_view.status_code == 200
    _valid(clinician_view.json())
    assert as_("auditor").get(f"/api/plans/{pid}/fhir").status_code == 403
    assert as_("admin").get(f"/api/plans/{pid}/fhir").status_code == 403
    assert as_("keyworker_b").get(f"/api/plans/{pid}/fhir").status_code == 404
    assert as_("client_b").get(f"/api/plans/{pid}/fhir").status_code == 404


def test_every_export_is_in_who_has_seen_my_plan(rich_plan):
    client, kw, pid = rich_plan["client"], rich_plan["keyworker"], rich_plan["plan_id"]
    assert kw.get(f"/api/plans/{pid}/fhir?audience=gp").status_code == 200
    log = client.get(f"/api/plans/{pid}/access-log").json()
    items = log["items"] if isinstance(log, dict) else log
    exports = [i for i in items if i["action"] == "plan.export.fhir"]
    assert exports and exports[0]["role"] == "keyworker"
    assert "health record file" in exports[0]["what"]


def test_shareable_answers_measures_and_live_shares(rich_plan):
    client, pid = rich_plan["client"], rich_plan["plan_id"]
    version = client.plan(pid)["version"]
    r = client.post(f"/api/plans/{pid}/assessments", {"questionnaire": "feel_safe", "answers": [
        {"question": "safer_times", "value": "SHAREABLE mornings", "visibility": "shareable"},
        {"question": "hard_other", "value": "ONLYME blinds down", "visibility": "only_me"}]}, version=version)
    assert r.status_code == 201, r.text
    codes = ("important_things", "happy_with_life", "energy", "community", "support_friends", "fulfilling",
             "living_space", "responsibility", "professionals", "progress")
    r = client.post(f"/api/plans/{pid}/assessments", {"questionnaire": "barc10", "answers": [
        {"question": c, "value": 4, "visibility": "shareable"} for c in codes]}, version=version + 1)
    assert r.status_code == 201, r.text
    share = client.post(f"/api/plans/{pid}/shares", {"audience": "gp"})
    assert share.status_code == 201, share.text

    own = client.get(f"/api/plans/{pid}/fhir").json()
    _valid(own)
    text = json.dumps(own)
    assert "SHAREABLE mornings" in text and "ONLYME" not in text
    (barc,) = [o for o in _resources(own, "Observation") if o["code"]["coding"][0]["code"] == "barc10_total"]
    assert barc["valueInteger"] == 40
    (consent,) = _resources(own, "Consent")
    assert consent["provision"]["type"] == "permit"

    gp = client.get(f"/api/plans/{pid}/fhir?audience=gp").json()
    _valid(gp)
    assert "SHAREABLE mornings" in json.dumps(gp) and "ONLYME" not in json.dumps(gp)
    assert not _resources(gp, "Consent")  # one recipient does not learn of another
    pharmacy = client.get(f"/api/plans/{pid}/fhir?audience=pharmacy").json()
    assert not _resources(pharmacy, "QuestionnaireResponse") and not _resources(pharmacy, "Observation")


def _zip(content: bytes) -> dict[str, bytes]:
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(content)) as z:
        return {name: z.read(name) for name in z.namelist()}


def test_take_my_plan_with_me(rich_plan, as_):
    import io

    from pypdf import PdfReader

    client, kw, pid = rich_plan["client"], rich_plan["keyworker"], rich_plan["plan_id"]
    page = client.get(f"/plans/{pid}/take-with-me")
    assert page.status_code == 200 and "Download my plan to take with me" in page.text
    r = client.get(f"/plans/{pid}/take-with-me/pack.zip")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    files = _zip(r.content)
    assert set(files) == {"README.txt", "care-plan.pdf", "care-plan.fhir.json"}
    pdf_text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(files["care-plan.pdf"])).pages)
    assert GOAL_WORDS.split()[0] in pdf_text
    bundle = json.loads(files["care-plan.fhir.json"])
    _valid(bundle)
    assert _resources(bundle, "Goal")[0]["description"]["text"] == GOAL_WORDS
    assert "Person A's care plan" in files["README.txt"].decode()
    log = client.get(f"/api/plans/{pid}/access-log").json()
    actions = {i["action"] for i in (log["items"] if isinstance(log, dict) else log)}
    assert {"plan.export.pack", "plan.export.fhir"} <= actions

    # A keyworker makes a pack only from a live link the client made: that link's copy.
    assert kw.get(f"/plans/{pid}/take-with-me/pack.zip").status_code == 422
    share = client.post(f"/api/plans/{pid}/shares", {"audience": "pharmacy"}).json()
    assert share["id"] in kw.get(f"/plans/{pid}/take-with-me").text
    r = kw.get(f"/plans/{pid}/take-with-me/pack.zip?share={share['id']}")
    assert r.status_code == 200, r.text
    pharmacy = json.loads(_zip(r.content)["care-plan.fhir.json"])
    assert not _resources(pharmacy, "Goal") and GOAL_WORDS not in json.dumps(pharmacy)
    assert as_("keyworker_b").get(f"/plans/{pid}/take-with-me/pack.zip?share={share['id']}").status_code == 404
    assert client.delete(f"/api/shares/{share['id']}").status_code == 204
    assert kw.get(f"/plans/{pid}/take-with-me/pack.zip?share={share['id']}").status_code == 404
