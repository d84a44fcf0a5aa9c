"""test wait against the real openQA: the CLI runs in the background while the test finishes jobs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import _clean_env, api_post

from ansible_collections.openqa.client.plugins.module_utils import _waiting
from ansible_collections.openqa.client.plugins.module_utils.client import OpenQAClient


def start_wait(server, *job_ids: int, timeout: str = "60", extra: tuple = ()) -> subprocess.Popen:
    argv = [sys.executable, "-m", "ansible_collections.openqa.client.cli.openqa_ctl", "test", "wait",
            "--host", server.url, "--interval", "0.1", "--timeout", timeout, *extra]
    for job_id in job_ids:
        argv += ["--id", str(job_id)]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_clean_env(None))


def finish(proc: subprocess.Popen) -> tuple:
    stdout, stderr = proc.communicate(timeout=60)
    assert "Traceback" not in stderr, stderr
    return proc.returncode, json.loads(stdout)


def test_wait_returns_when_every_job_is_final(server, api, make_job):
    first, second = make_job(), make_job()
    proc = start_wait(server, first, second)
    api_post(api, "jobs/%d/set_done" % first, result="passed")
    api_post(api, "jobs/%d/set_done" % second, result="softfailed")
    rc, envelope = finish(proc)
    assert rc == 0 and envelope["returns"] == {str(first): "passed", str(second): "softfailed"}


def test_a_failed_job_is_status_7(server, api, make_job):
    first, second = make_job(), make_job()
    proc = start_wait(server, first, second)
    api_post(api, "jobs/%d/set_done" % first, result="passed")
    api_post(api, "jobs/%d/set_done" % second, result="failed")
    rc, envelope = finish(proc)
    assert rc == envelope["invocation"]["status"] == 7
    assert envelope["returns"] == {str(first): "passed", str(second): "failed"}


def test_timeout_is_status_8_and_shows_what_is_pending(server, make_job):
    pending = make_job()
    rc, envelope = finish(start_wait(server, pending, timeout="0.3"))
    assert rc == 8 and envelope["returns"] == {str(pending): "scheduled"}
    assert str(pending) in envelope["invocation"]["message"]


def test_wait_follows_a_restart(server, api, make_job):
    job_id = make_job()
    server.sql("UPDATE jobs SET state='running', t_started=now() WHERE id=%d" % job_id)
    proc = start_wait(server, job_id)
    clone = api_post(api, "jobs/%d/restart" % job_id)["result"][0][str(job_id)]
    api_post(api, "jobs/%d/set_done" % clone, result="passed")
    rc, envelope = finish(proc)
    assert rc == 0 and envelope["returns"] == {str(job_id): "passed"}


def test_without_follow_the_restarted_job_itself_counts(server, api, make_job):
    job_id = make_job(result="failed")
    api_post(api, "jobs/%d/restart" % job_id)
    rc, envelope = finish(start_wait(server, job_id, extra=("--no-follow",)))
    assert rc == 7 and envelope["returns"] == {str(job_id): "failed"}


def test_unknown_job_is_status_2(server):
    rc, envelope = finish(start_wait(server, 987654321))
    assert rc == 2 and envelope["invocation"]["message"].startswith("unknown test")


def test_one_request_per_poll_for_ten_jobs(server, make_job, monkeypatch):
    """A fake clock: each sleep advances it, so the test counts polls without sleeping."""
    ids = [make_job() for _index in range(10)]
    clock = {"now": 0.0, "sleeps": 0}

    def sleep(seconds: float) -> None:
        clock["now"] += seconds
        clock["sleeps"] += 1

    monkeypatch.setattr(_waiting.time, "monotonic", lambda: clock["now"])
    monkeypatch.setattr(_waiting.time, "sleep", sleep)
    client = OpenQAClient(server.url)
    result = _waiting.wait_for_jobs(client, ids, timeout=50, interval=10)
    assert result.status == _waiting.Status.TIMEOUT
    assert clock["sleeps"] == 5 and client.request_count == clock["sleeps"] + 1  # one GET per poll


@pytest.mark.parametrize("follow", [True, False])
def test_finished_jobs_cost_one_request(server, follow):
    client = OpenQAClient(server.url)
    fixture = server.fixture
    ids = [fixture["passed_job"], fixture["softfailed_job"]]
    result = _waiting.wait_for_jobs(client, ids, timeout=5, interval=1, follow=follow)
    assert (result.status, client.request_count) == (0, 1)


def test_restart_with_wait_waits_for_the_new_job(server, api, make_job):
    job_id = make_job(result="failed")
    argv = [sys.executable, "-m", "ansible_collections.openqa.client.cli.openqa_ctl", "test", "restart",
            "--id", str(job_id), "--wait", "--interval", "0.1", "--timeout", "60", "--host", server.url,
            *server.cli_creds()]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_clean_env(None))
    clone = None
    while clone is None and proc.poll() is None:  # event: the restart shows up on the server
        clone = api.get(api.base + "jobs/%d" % job_id).json()["job"]["clone_id"]
    api_post(api, "jobs/%d/set_done" % clone, result="passed")
    rc, envelope = finish(proc)
    shape = {"ids": [clone], "clones": {str(job_id): clone}, "results": {str(clone): "passed"}}
    assert rc == 0 and envelope["returns"] == shape


def test_check_mode_polls_once_and_does_not_block(server, make_job):
    pending = make_job()
    rc, envelope = finish(start_wait(server, pending, timeout="1h", extra=("--check",)))
    assert (rc, envelope["returns"]) == (10, {str(pending): "scheduled"})
    assert envelope["invocation"]["message"].startswith("check mode: cannot know yet: 1 jobs are pending")
