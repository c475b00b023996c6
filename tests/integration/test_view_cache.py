"""The per-process cache of presented plan views (careplans.reading) never shows a stale or
another audience's view: every change is visible, and lost access enforced, on the very next read."""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec
import pytest
from sqlalchemy import update

from careplans import queries
from careplans.models import CaseloadAssignment, Client, User
from tests.integration.test_choices_prescribing import buvidal, prefer

READERS = ("client_a", "keyworker_a", "clinician_a")


def served(as_, key: str, plan_id: str) -> dict:
    r = as_(key).get(f"/api/plans/{plan_id}")
    assert r.status_code == 200, r.text
    return r.json()


def presented(db, world, key: str, plan_id: str) -> dict:
    """What present() gives this reader now, read without any cache."""
    db.rollback()
    view = queries.read_plan(db, world.viewer(key), plan_id, audited=False)
    db.rollback()
    return msgspec.to_builtins(view)


def test_each_reader_gets_their_own_audience_view_from_a_warm_cache(app, world, as_, db):
    pid = world.plan_ids["a"]
    kw = as_("keyworker_a")
    v = kw.plan(pid)["version"]
    r = kw.patch(f"/api/plans/{pid}", {"about_me": {"strengths": {"text": "Good with people", "voice": "client"}}},
                 version=v)
    assert r.status_code in (200, 422), r.text
    for _ in range(2):  # the second round is served from the cache
        for key in READERS:
            assert served(as_, key, pid) == presented(db, world, key, pid), key
    views = {key: served(as_, key, pid) for key in READERS}
    assert len({msgspec.json.encode(v) for v in views.values()}) >= 2  # audiences differ


def test_a_new_decision_shows_on_the_next_read(world, as_, db):
    pid = world.plan_ids["a"]
    v = prefer(as_("client_a"), pid)
    before = served(as_, "client_a", pid)
    served(as_, "client_a", pid)  # cached now
    r = as_("clinician_a").post(f"/api/plans/{pid}/prescribing", {**buvidal(16), "plan_version": v})
    assert r.status_code == 201, r.text
    after = served(as_, "client_a", pid)
    assert after["version"] == before["version"]  # a decision is not a plan version ...
    assert len(after["prescribing"]) == len(before["prescribing"]) + 1  # ... and still shows at once
    assert after == presented(db, world, "client_a", pid)


def test_a_signature_shows_on_the_next_read(world, as_, db):
    pid = world.plan_ids["a"]
    kw = served(as_, "keyworker_a", pid)
    served(as_, "keyworker_a", pid)
    r = as_("client_a").post(f"/api/plans/{pid}/agreements", {"version": kw["version"]})
    assert r.status_code == 201, r.text
    after = served(as_, "keyworker_a", pid)
    assert after["agreement"]["client_signed_version"] == kw["version"]
    assert after["agreement"]["words"] != kw["agreement"]["words"]
    assert after == presented(db, world, "keyworker_a", pid)


def test_a_name_change_shows_on_the_next_read(world, as_, db):
    pid = world.plan_ids["a"]
    version = served(as_, "client_a", pid)["version"]
    assert as_("client_a").post(f"/api/plans/{pid}/agreements", {"version": version}).status_code == 201
    kw_view = served(as_, "keyworker_a", pid)
    client_view = served(as_, "client_a", pid)
    served(as_, "keyworker_a", pid), served(as_, "client_a", pid)  # cached
    assert "Person A" in kw_view["agreement"]["words"]["sentence"]
    new_client_name, new_kw_name = f"Renamed {uuid.uuid4().hex[:6]}", f"Keyworker {uuid.uuid4().hex[:6]}"
    db.execute(update(Client).where(Client.id == uuid.UUID(world.client_ids["a"]))
               .values(preferred_name=new_client_name))
    db.execute(update(User).where(User.id == world.users["keyworker_a"].id).values(display_name=new_kw_name))
    db.commit()
    assert new_client_name in served(as_, "keyworker_a", pid)["agreement"]["words"]["sentence"]
    after = served(as_, "client_a", pid)
    assert after != client_view and new_kw_name in msgspec.json.encode(after).decode()
    assert after == presented(db, world, "client_a", pid)


def test_a_signers_name_change_shows_on_the_next_read(world, as_, db):
    """The name under a signature comes from the signer's account (not the plan's parties)."""
    pid = world.plan_ids["a"]
    version = served(as_, "client_a", pid)["version"]
    assert as_("keyworker_a").post(f"/api/plans/{pid}/agreements", {"version": version}).status_code == 201
    # Keyworker A hands over to keyworker B; the signature stays keyworker A's.
    db.execute(update(CaseloadAssignment).where(CaseloadAssignment.client_id == uuid.UUID(world.client_ids["a"]),
                                                CaseloadAssignment.relation == "keyworker")
               .values(staff_user_id=world.users["keyworker_b"].id))
    db.commit()
    served(as_, "client_a", pid), served(as_, "client_a", pid)
    signer = db.get(User, world.users["keyworker_a"].id)
    signer.display_name = f"Signer {uuid.uuid4().hex[:6]}"  # through the ORM, as the app changes accounts
    db.commit()
    assert served(as_, "client_a", pid) == presented(db, world, "client_a", pid)


def test_losing_access_is_enforced_on_the_next_read(world, as_, db):
    pid = world.plan_ids["a"]
    kw = as_("keyworker_a")
    assert kw.get(f"/api/plans/{pid}").status_code == 200
    assert kw.get(f"/api/plans/{pid}").status_code == 200  # cached for this reader
    db.execute(update(CaseloadAssignment).where(CaseloadAssignment.client_id == uuid.UUID(world.client_ids["a"]),
                                                CaseloadAssignment.relation == "keyworker")
               .values(ended_at=dt.datetime.now(dt.timezone.utc)))
    db.commit()
    assert kw.get(f"/api/plans/{pid}").status_code == 404
    # And another caseload's plan is never reachable, cached or not.
    assert as_("keyworker_b").get(f"/api/plans/{pid}").status_code == 404
    assert as_("keyworker_b").get(f"/api/plans/{world.plan_ids['b']}").status_code == 200


@pytest.mark.parametrize("change", ["goal", "check-in"])
def test_a_plan_change_shows_on_the_next_read(world, as_, db, change):
    pid = world.plan_ids["a"]
    kw = as_("keyworker_a")
    before = kw.plan(pid)
    kw.plan(pid)
    r = kw.post(f"/api/plans/{pid}/goals", {"title": "Walk to the park", "area": "health"},
                version=before["version"])
    assert r.status_code == 201, r.text
    version = int(r.headers["etag"].strip('"'))
    if change == "check-in":
        kw.plan(pid)
        r = kw.post(f"/api/plans/{pid}/goals/{r.json()['id']}/check-ins", {"rating": 6, "note": "A good week"},
                    version=version)
        assert r.status_code == 201, r.text
    after = kw.plan(pid)
    assert after["version"] > before["version"]
    assert after == presented(db, world, "keyworker_a", pid)


@pytest.mark.parametrize("key", READERS)
def test_the_cached_body_is_what_litestar_would_send(app, world, key):
    """The read's JSON is encoded once when presented and served as is from then on: it
    must be byte for byte what Litestar's own encoder makes of the same view."""
    from litestar.serialization import encode_json

    from careplans import reading

    cache = reading.ViewCache()
    first, _ = reading.read_current(app.state.engine, world.viewer(key), world.plan_ids["a"], cache)
    again, _ = reading.read_current(app.state.engine, world.viewer(key), world.plan_ids["a"], cache)
    assert again is first and cache.hits == 1
    assert first.body == encode_json(first.view)
