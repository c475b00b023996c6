"""Nothing lost: many people editing one plan at once, against a real server with two
worker processes sharing sessions in the database."""

from __future__ import annotations

import threading

import httpx
import pytest

from tests.conftest import PASSWORD, TEST_SECRET
from tests.live_server import live_server

EDITORS = 20
ROUNDS = 5


@pytest.fixture(scope="module")
def server(database_url):
    with live_server(database_url, TEST_SECRET, workers=2) as base:
        yield base


def run_threads(target, count: int) -> None:
    """Run target(i) in `count` threads; an exception (a failed assert) in any of them fails the test.

    A bare threading.Thread swallows its exception (it is only printed), so an assertion
    inside a worker would otherwise never fail the test.
    """
    errors: list[BaseException] = []

    def wrapped(i: int) -> None:
        try:
            target(i)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's own thread below
            errors.append(exc)

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def logged_in(base: str, username: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=base, timeout=60)
    r = client.post("/api/session", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return client, r.json()["csrf_token"]


def test_concurrent_editors_lose_nothing(server, world):
    pid = world.plan_ids["a"]
    editors = [logged_in(server, world.username("client_a" if i % 2 else "keyworker_a")) for i in range(EDITORS)]
    accepted: list[tuple[int, str, str]] = []  # (version, field, text)
    refused = 0
    other = []
    lock = threading.Lock()
    fields = ["what_matters", "strengths", "what_helps"]
    for rnd in range(ROUNDS):
        version = editors[0][0].get(f"/api/plans/{pid}").json()["version"]
        barrier = threading.Barrier(EDITORS)

        def edit(i: int) -> None:
            nonlocal refused
            client, token = editors[i]
            field = fields[i % len(fields)]
            text = f"round {rnd} editor {i}"
            barrier.wait()
            r = client.patch(f"/api/plans/{pid}", json={"about_me": {field: text}},
                             headers={"If-Match": f'"{version}"', "X-CSRF-Token": token})
            with lock:
                if r.status_code == 200:
                    accepted.append((r.json()["version"], field, text))
                elif r.status_code == 409:
                    refused += 1
                    assert r.json()["current_version"] > version
                else:
                    other.append((r.status_code, r.text[:200]))

        run_threads(edit, EDITORS)
    assert not other, other
    assert len(accepted) == ROUNDS, "exactly one editor per round wins; the rest are told"
    assert refused == ROUNDS * (EDITORS - 1)
    reader = editors[0][0]
    history = reader.get(f"/api/plans/{pid}/versions").json()
    assert [v["version"] for v in history] == list(range(1, ROUNDS + 2))
    for version, field, text in accepted:
        snapshot = reader.get(f"/api/plans/{pid}/versions/{version}").json()
        assert snapshot["about_me"][field]["text"] == text
    for client, _ in editors:
        client.close()


def test_concurrent_goal_additions_each_become_a_version(server, world):
    """Writers who re-read and retry on 409 all get their goal in, each in its own version."""
    pid = world.plan_ids["a"]
    editors = [logged_in(server, world.username("keyworker_a")) for _ in range(EDITORS)]
    results: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(EDITORS)

    def add(i: int) -> None:
        client, token = editors[i]
        barrier.wait()
        for _attempt in range(200):
            version = client.get(f"/api/plans/{pid}").json()["version"]
            r = client.post(f"/api/plans/{pid}/goals", json={"title": f"Goal {i}", "area": "health"},
                            headers={"If-Match": f'"{version}"', "X-CSRF-Token": token})
            if r.status_code == 201:
                with lock:
                    results.append(r.json()["plan_version"])
                return
            assert r.status_code == 409, r.text

    run_threads(add, EDITORS)
    assert len(results) == EDITORS and len(set(results)) == EDITORS
    plan = editors[0][0].get(f"/api/plans/{pid}").json()
    assert sorted(g["title"]["text"] for g in plan["goals"]) == sorted(f"Goal {i}" for i in range(EDITORS))
    for client, _ in editors:
        client.close()
