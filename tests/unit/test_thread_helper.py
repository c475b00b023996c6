"""An assertion that fails in a worker thread fails the test (issue 10: tests that cannot fail)."""

import pytest

from tests.integration.test_concurrency import run_threads


def test_an_assertion_in_a_worker_fails_the_caller():
    def work(i: int) -> None:
        assert i != 3, "worker 3 failed"

    with pytest.raises(AssertionError, match="worker 3 failed"):
        run_threads(work, 5)


def test_workers_that_pass_pass():
    seen: list[int] = []
    run_threads(seen.append, 4)
    assert sorted(seen) == [0, 1, 2, 3]
