"""The wait loop with a fake client and a fake clock: polls, follow, statuses."""

from __future__ import annotations

import pytest

from ansible_collections.openqa.client.plugins.module_utils import _waiting
from ansible_collections.openqa.client.plugins.module_utils.envelope import NotFoundError, Status


class ScriptedClient:
    """Answers GET jobs from a list of states per poll; records each request's ids."""

    base_url = "http://openqa.test"

    def __init__(self, polls, check_mode=False):
        self.check_mode = check_mode
        self.polls = list(polls)
        self.requests = []
        self.messages = []

    def get(self, path, params):
        assert path == "jobs"
        self.requests.append(list(params["ids"]))
        table = self.polls[min(len(self.requests), len(self.polls)) - 1]
        return {"jobs": [dict(table[i], id=i) for i in params["ids"] if i in table]}

    def progress(self, message):
        self.messages.append(message)


@pytest.fixture
def clock(monkeypatch):
    now = {"t": 0.0}
    monkeypatch.setattr(_waiting.time, "monotonic", lambda: now["t"])
    monkeypatch.setattr(_waiting.time, "sleep", lambda s: now.__setitem__("t", now["t"] + s))
    return now


PENDING = {"state": "running", "result": "none"}
PASSED = {"state": "done", "result": "passed"}
FAILED = {"state": "done", "result": "failed"}


def test_polls_only_pending_jobs_and_reports_progress(clock):
    client = ScriptedClient([{1: PASSED, 2: PENDING}, {2: PASSED}])
    result = _waiting.wait_for_jobs(client, [1, 2], timeout=100, interval=5)
    assert (result.status, result.returns) == (Status.OK, {"1": "passed", "2": "passed"})
    assert client.requests == [[1, 2], [2]] and clock["t"] == 5
    assert client.messages == ["waiting for 2 jobs: 1 passed, 1 running"]


def test_follow_switches_to_the_clone_without_sleeping(clock):
    client = ScriptedClient([{1: dict(FAILED, clone_id=3)}, {3: PASSED}])
    result = _waiting.wait_for_jobs(client, [1], timeout=100, interval=5)
    assert result.returns == {"1": "passed"} and client.requests == [[1], [3]] and clock["t"] == 0


def test_not_ok_and_timeout_are_distinct(clock):
    failed = _waiting.wait_for_jobs(ScriptedClient([{1: FAILED}]), [1], timeout=10, interval=1)
    assert failed.status == Status.NOT_OK and "1 failed" in failed.message
    timed_out = _waiting.wait_for_jobs(ScriptedClient([{1: PENDING}]), [1], timeout=10, interval=3)
    assert timed_out.status == Status.TIMEOUT and timed_out.returns == {"1": "running"}


def test_unknown_job(clock):
    with pytest.raises(NotFoundError, match="unknown test: there is no job 2"):
        _waiting.wait_for_jobs(ScriptedClient([{1: PASSED}]), [1, 2], timeout=10, interval=1)


def test_many_ids_are_split_into_chunks():
    table = {i: PASSED for i in range(1, 451)}
    client = ScriptedClient([table])
    assert len(_waiting.list_jobs(client, table)) == 450
    assert [len(ids) for ids in client.requests] == [200, 200, 50]


def test_jobs_the_caller_listed_count_as_the_first_poll(clock):
    client = ScriptedClient([{2: PASSED}])
    listed = {1: dict(PASSED, id=1), 2: dict(PENDING, id=2)}
    result = _waiting.wait_for_jobs(client, [1, 2], timeout=100, interval=5, listed=listed)
    assert result.returns == {"1": "passed", "2": "passed"} and client.requests == [[2]] and clock["t"] == 5


def test_a_final_listing_needs_no_request(clock):
    client = ScriptedClient([])
    result = _waiting.wait_for_jobs(client, [1], timeout=100, interval=5, listed={1: dict(FAILED, id=1)})
    assert result.status == Status.NOT_OK and client.requests == []


def test_check_mode_polls_once_and_never_sleeps(clock):
    client = ScriptedClient([{1: PASSED, 2: PENDING}], check_mode=True)
    result = _waiting.wait_for_jobs(client, [1, 2], timeout=3600, interval=5)
    assert (result.status, result.returns, clock["t"]) == (Status.UNDECIDED, {"1": "passed", "2": "running"}, 0.0)
    assert len(client.requests) == 1
    assert result.message.startswith("check mode: cannot know yet: 1 jobs are pending (2)")


def test_retry_restarts_a_failure_as_soon_as_it_is_final_and_waits_for_the_restarts(clock):
    client = ScriptedClient([{1: FAILED, 2: PASSED, 3: PENDING}, {3: FAILED, 5: PENDING}, {5: PASSED}])
    calls = []

    def retry(bad, words):
        calls.append((sorted(bad), words()))
        return {1: 5} if len(calls) == 1 else {}

    result = _waiting.wait_for_jobs(client, [1, 2, 3], timeout=100, interval=5, retry=retry)
    # 1 is restarted while 3 still runs; 3 is not ok but not restarted, 1's restart is waited for
    assert calls[0] == ([1], {"1": "failed", "2": "passed", "3": "running"})
    assert calls[1] == ([3], {"1": "running", "2": "passed", "3": "failed"})
    assert (result.status, result.returns) == (Status.NOT_OK, {"1": "passed", "2": "passed", "3": "failed"})
    assert client.requests == [[1, 2, 3], [3, 5], [5]]   # one listing per poll


def test_a_failure_whose_cluster_still_runs_waits_for_it(clock):
    """openQA restarts a job with its relatives: a failed job waits until its parallel sibling is final."""
    sibling = {"children": {"Parallel": [2]}}
    client = ScriptedClient([{1: dict(FAILED, **sibling), 2: PENDING}, {2: FAILED}, {5: PASSED, 6: PASSED}])
    calls = []

    def retry(bad, _words):
        calls.append(sorted(bad))
        return {1: 5, 2: 6}

    _waiting.wait_for_jobs(client, [1, 2], timeout=100, interval=5, retry=retry)
    assert calls[0] == [1, 2] and client.requests[:2] == [[1, 2], [2]]


def test_a_restart_is_scheduled_until_a_poll_says_otherwise(clock):
    client = ScriptedClient([{1: FAILED}])
    seen = {}

    def retry(bad, words):
        seen["words"] = words
        return {1: 7}

    client.polls.append({})  # the restart's poll finds nothing: status 2 for the unknown id
    with pytest.raises(NotFoundError):
        _waiting.wait_for_jobs(client, [1], timeout=100, interval=5, retry=retry)
    assert seen["words"]() == {"1": "scheduled"}


def test_describe_shapes_the_answer_from_the_jobs_as_last_polled(clock):
    """build wait answers as build info does: from the last poll's jobs, a restart standing for its job."""
    client = ScriptedClient([{1: dict(FAILED, test="raid"), 2: dict(PENDING, test="boot")},
                             {2: dict(PASSED, test="boot"), 5: dict(PENDING, test="raid")}])

    def describe(jobs):
        return sorted((job["id"], job["test"], job["state"], job["result"]) for job in jobs)

    result = _waiting.wait_for_jobs(client, [1, 2], timeout=7, interval=5, describe=describe,
                                    retry=lambda bad, answer: {1: 5})
    # the timeout's answer: 5 as its poll saw it, 2 as its last poll did
    assert result.status == Status.TIMEOUT and result.returns == [(2, "boot", "done", "passed"),
                                                                  (5, "raid", "running", "none")]
    # the message names the jobs the returns name: the restart, not the job it stands for
    assert result.message == "timeout after 7 s: still pending: 5"


def test_a_restart_keeps_its_jobs_scenario_until_polled(clock):
    client = ScriptedClient([{1: dict(FAILED, test="raid")}, {}])
    seen = {}

    def retry(bad, answer):
        seen["answer"] = answer
        return {1: 7}

    with pytest.raises(NotFoundError):
        _waiting.wait_for_jobs(client, [1], timeout=100, interval=5, retry=retry,
                               describe=lambda jobs: [(job["id"], job["test"], job["state"]) for job in jobs])
    assert seen["answer"]() == [(7, "raid", "scheduled")]
