"""Faults injected between the client and the real openQA (tests/faultproxy.py).

Reads must recover within the retry budget, no call may outlive its deadline, Retry-After is
honoured, exhausted retries say why, and a POST whose answer was lost after it reached openQA
never acts twice: the server's state is checked through the independent ``api`` session.
Verbs run in-process through runner.execute (the code path of the CLI and the modules); the
deadline is measured on the real CLI.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import time
import typing as t
import uuid

import pytest
import requests
from conftest import api_get
from faultproxy_fixture import Fault

from ansible_collections.openqa.client.cli.openqa_ctl import ENTRIES
from ansible_collections.openqa.client.plugins.module_utils.client import OpenQAClient
from ansible_collections.openqa.client.plugins.module_utils.envelope import Result, Status
from ansible_collections.openqa.client.plugins.module_utils._runner import execute

# A Python start-up plus one refused request: what "the deadline holds" may add.
DEADLINE_SLACK = 2.0
PRODUCT = {"DISTRI": "opensuse", "VERSION": "Tumbleweed", "FLAVOR": "DVD", "ARCH": "x86_64"}


@pytest.fixture
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Recovery tests count retries, not seconds: a 10 ms backoff keeps the matrix fast."""
    monkeypatch.setattr(OpenQAClient, "_backoff", lambda self, attempt: 0.01)


def run(proxy_url: str, entry: str, action: str, creds: t.Mapping[str, str], notes: t.Optional[list] = None,
        **options: t.Any) -> Result:
    raw = dict(options, action=action, host=proxy_url, **creds)
    return execute(ENTRIES[entry], raw, on_retry=(notes.append if notes is not None else None))


def unique(prefix: str) -> str:
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


def build_vars(build: str) -> t.List[str]:
    return ["%s=%s" % item for item in dict(PRODUCT, BUILD=build).items()]


def jobs_by_test(api: t.Any, build: str) -> t.Dict[str, int]:
    """How many jobs of each test the build has: one per test means one scheduled product."""
    counts: t.Dict[str, int] = {}
    for job in api_get(api, "jobs", build=build)["jobs"]:
        counts[job["test"]] = counts.get(job["test"], 0) + 1
    return counts


# ------------------------------------------------------------------ reads recover

READS = {
    "test status": ("test", "status", lambda s, own: {"id": [own[0]]}),
    "test info": ("test", "info", lambda s, own: {"id": [own[0]], "attributes": ["status", "clone_chain", "comments"]}),
    "test search": ("test", "search", lambda s, own: {"build": own[1]}),
    "test wait": ("test", "wait", lambda s, own: {"id": [own[0]], "timeout": 5.0, "interval": 0.1}),
    "worker search": ("worker", "search", lambda s, own: {"instance": 1}),
    "worker info": ("worker", "info", lambda s, own: {"id": s.fixture["workers"]["1"]}),
    "worker status": ("worker", "status", lambda s, own: {"id": s.fixture["workers"]["1"]}),
    "group search": ("group", "search", lambda s, own: {"name": s.fixture["group_name"]}),
    "group info": ("group", "info", lambda s, own: {"id": s.fixture["group_id"]}),
    "build search": ("build", "search", lambda s, own: {"groupid": s.fixture["group_id"], "limit": 5}),
    "build info": ("build", "info", lambda s, own: {"id": own[1]}),
    "build wait": ("build", "wait", lambda s, own: {"id": own[1], "timeout": 5.0, "interval": 0.1}),
}
# Transient faults a read must survive, each fired twice on the verb's first request.
READ_FAULTS = {
    "503": Fault("status", status=503, times=2),
    "502 html page": Fault("status", status=502, html=True, times=2),
    "500": Fault("status", status=500, times=2),
    "504": Fault("status", status=504, times=2),
    "408": Fault("status", status=408, times=2),
    "429 Retry-After 0": Fault("status", status=429, retry_after="0", times=2),
    "reset before answering": Fault("drop", times=2),
    "reset mid-response": Fault("reset", times=2),
    "truncated body": Fault("truncate", times=2),
    "delay 0.3 s": Fault("delay", delay=0.3, times=2),
}


@pytest.fixture(scope="module")
def read_job(server: t.Any) -> t.Tuple[int, str]:
    """A failed job in a build of its own (module-scoped, so made with a session of its own)."""
    session = requests.Session()
    admin = server.keys["admin"]
    session.auth = (admin["user"], "%s:%s" % (admin["key"], admin["secret"]))
    session.headers["Accept"] = "application/json"
    build = unique("reads")
    base = server.url + "/api/v1/"
    job_id = session.post(base + "jobs", data=dict(PRODUCT, TEST="own", MACHINE="64bit", BUILD=build)).json()["id"]
    session.post(base + "jobs/%d/set_done" % job_id, data={"result": "failed"}).raise_for_status()
    return job_id, build


# Every fault on one verb, and two faults (in rotation) on every other verb: each verb's
# requests go through the same client, so the full matrix would retest the client 12 times.
_FAULT_NAMES = list(READ_FAULTS)
READ_CASES = [("test status", name) for name in _FAULT_NAMES] + [
    (verb, _FAULT_NAMES[(index + shift) % len(_FAULT_NAMES)])
    for index, verb in enumerate(v for v in READS if v != "test status") for shift in (0, 5)]


@pytest.fixture(scope="module")
def baselines() -> t.Dict[str, Result]:
    return {}


@pytest.mark.parametrize("verb, fault_name", READ_CASES)
def test_reads_recover_within_the_retry_budget(server, proxy, read_job, baselines, quick_backoff, verb,
                                               fault_name):
    entry, action, options = READS[verb]
    if verb not in baselines:
        baselines[verb] = run(server.url, entry, action, {}, **options(server, read_job))
    baseline = baselines[verb]
    assert baseline.status in (Status.OK, Status.NOT_OK), baseline.message
    template = READ_FAULTS[fault_name]
    proxy.add(Fault(template.kind, status=template.status, html=template.html, retry_after=template.retry_after,
                    delay=template.delay, times=2))
    notes: list = []
    result = run(proxy.url, entry, action, {}, notes=notes, retries=2, **options(server, read_job))
    assert (result.status, result.message) == (baseline.status, baseline.message)
    if verb.startswith("test") or verb in ("worker info", "worker status", "build info", "build wait"):
        assert result.returns == baseline.returns  # stable objects; group/build listings may grow meanwhile
    retried = 0 if template.kind == "delay" else 2
    assert len(notes) == retried and not proxy.mutations()


# ------------------------------------------------------------------ deadline, Retry-After, exhaustion


def ctl_timed(*args: str) -> t.Tuple[float, subprocess.CompletedProcess]:
    argv = [sys.executable, "-m", "ansible_collections.openqa.client.cli.openqa_ctl", *args]
    start = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    return time.monotonic() - start, proc


@pytest.mark.parametrize("fault", [
    Fault("status", status=503),
    Fault("status", status=503, retry_after="3600"),
    Fault("status", status=429, retry_after="30"),
    Fault("drop"),
    Fault("delay", delay=10.0),
], ids=["always 503", "503 Retry-After 3600", "429 Retry-After 30", "always reset", "10 s delay"])
def test_no_call_outlives_its_deadline(proxy, fault):
    proxy.add(fault)
    elapsed, proc = ctl_timed("test", "status", "--id", "5", "--host", proxy.url, "--deadline", "3",
                              "--retries", "99")
    assert elapsed < 3 + DEADLINE_SLACK, (elapsed, proc.stdout)
    assert proc.returncode in (Status.UNREACHABLE, Status.SERVER_ERROR) and "Traceback" not in proc.stderr
    if fault.kind == "status":
        assert "HTTP %d" % fault.status in proc.stdout


def test_retry_after_seconds_is_honoured(server, proxy):
    proxy.add(Fault("status", status=503, retry_after="1", times=1))
    notes: list = []
    start = time.monotonic()
    result = run(proxy.url, "test", "status", {}, notes=notes, id=[5])
    assert result.status == Status.OK and time.monotonic() - start >= 1.0
    assert notes == ["GET jobs/5 failed (HTTP 503); retry 1 of 5 in 1.0 s"]


def test_retry_after_http_date_is_honoured(server, proxy):
    from email.utils import formatdate

    proxy.add(Fault("status", status=429, retry_after=formatdate(time.time() + 2, usegmt=True), times=1))
    notes: list = []
    result = run(proxy.url, "test", "status", {}, notes=notes, id=[5])
    assert result.status == Status.OK
    assert float(notes[0].rsplit(" in ", 1)[1].split()[0]) >= 1.0, notes


@pytest.mark.parametrize("fault, status, cause", [
    (Fault("status", status=503), Status.SERVER_ERROR, "HTTP 503 from http://127.0.0.1:%d: injected 503"),
    (Fault("status", status=502, html=True), Status.SERVER_ERROR, "HTTP 502 from http://127.0.0.1:%d: an HTML page"),
    (Fault("drop"), Status.UNREACHABLE, "cannot reach http://127.0.0.1:%d"),
    (Fault("truncate"), Status.UNREACHABLE, "cannot reach http://127.0.0.1:%d"),
], ids=["503", "502 html", "reset", "truncated"])
def test_exhausted_retries_give_the_cause(proxy, quick_backoff, fault, status, cause):
    proxy.add(fault)
    result = run(proxy.url, "test", "status", {}, retries=3, id=[5])
    assert result.status == status and cause % proxy.port in result.message
    assert len(result.message) < 400 and "<html" not in result.message
    assert len(proxy.requests("GET")) == 4  # the first try and three retries


def test_corrupt_json_is_a_server_error_not_a_crash(proxy):
    proxy.add(Fault("corrupt"))
    result = run(proxy.url, "test", "status", {}, id=[5])
    assert result.status == Status.SERVER_ERROR and "broken JSON" in result.message


def test_refused_read_is_retried_and_recovers(proxy):
    proxy.pause()
    notes: list = []
    result = execute(ENTRIES["test"], {"action": "status", "id": [5], "host": proxy.url},
                     on_retry=lambda message: (notes.append(message), proxy.resume()))
    assert result.status == Status.OK and len(notes) == 1 and "ConnectionError" in notes[0]


# ------------------------------------------------------------------ POSTs never act twice


def test_restart_answered_502_after_it_reached_openqa_restarts_once(server, proxy, api, make_job):
    job_id = make_job(result="failed")
    proxy.add(Fault("forward_then", status=502, method="POST", path=r"/jobs/restart"))
    result = run(proxy.url, "test", "restart", server.creds(), id=[job_id])
    clone = api_get(api, "jobs/%d" % job_id)["job"]["clone_id"]
    shape = {"ids": [clone], "clones": {str(job_id): clone}}
    assert (result.status, result.changed, result.returns) == (Status.OK, True, shape)
    assert api_get(api, "jobs/%d" % clone)["job"]["clone_id"] is None
    assert len(proxy.requests("POST")) == 1
    again = run(proxy.url, "test", "restart", server.creds(), id=[job_id])
    assert (again.changed, again.returns) == (False, shape) and len(proxy.requests("POST")) == 1


def test_restart_reset_mid_answer_restarts_once(server, proxy, api, make_job):
    job_id = make_job(result="failed")
    proxy.add(Fault("reset", method="POST", path=r"/jobs/restart"))
    result = run(proxy.url, "test", "restart", server.creds(), id=[job_id])
    clone = api_get(api, "jobs/%d" % job_id)["job"]["clone_id"]
    assert (result.status, result.returns["ids"]) == (Status.OK, [clone]) and len(proxy.requests("POST")) == 1


def test_restart_answered_503_by_the_proxy_is_not_resent(server, proxy, api, make_job):
    job_id = make_job(result="failed")
    proxy.add(Fault("status", status=503, method="POST"))
    result = run(proxy.url, "test", "restart", server.creds(), id=[job_id])
    assert result.status == Status.UNREACHABLE and "run it again" in result.message
    assert len(proxy.requests("POST")) == 1 and api_get(api, "jobs/%d" % job_id)["job"]["clone_id"] is None


def test_restart_comment_answered_502_is_posted_once(server, proxy, api, make_job):
    """4.6: the comment is a POST of its own, whose lost answer is status 6 and is not re-posted by a rerun.
    master: the comment rides in POST jobs/restart (the probe before it is let through), whose lost answer is
    read back: restarted and commented once."""
    job_id = make_job(result="failed")
    if server.version == "master":
        proxy.add(Fault("forward_then", status=502, method="POST", path=r"/jobs/restart$", skip=1))
    else:
        proxy.add(Fault("forward_then", status=502, method="POST", path=r"/comments$"))
    first = run(proxy.url, "test", "restart", server.creds(), id=[job_id], comment="lost answer")
    second = run(proxy.url, "test", "restart", server.creds(), id=[job_id], comment="lost answer")
    if server.version == "master":
        assert first.status == Status.OK and first.changed is True, first.message
    else:
        assert first.status == Status.SERVER_ERROR and "HTTP 502" in first.message
    clone = api_get(api, "jobs/%d" % job_id)["job"]["clone_id"]
    assert (first.changed, first.returns) == (True, {"ids": [clone], "clones": {str(job_id): clone}})
    assert second.status == Status.OK and second.changed is False
    assert [c["text"] for c in api_get(api, "jobs/%d/comments" % job_id)] == ["lost answer"]


def test_clone_answered_502_never_makes_a_second_job(server, proxy, api, make_job):
    build = unique("clone502")
    job_id = make_job(result="passed")
    proxy.add(Fault("forward_then", status=502, method="POST", path=r"/api/v1/jobs$"))
    options = {"id": [job_id], "vars": ["BUILD=%s" % build], "skip_deps": True}
    run(proxy.url, "test", "clone", server.creds(), **options)
    again = run(proxy.url, "test", "clone", server.creds(), **options)
    made = [job["id"] for job in api_get(api, "jobs", build=build)["jobs"]]
    assert len(made) == 1 and (again.status, again.changed, again.returns["id"]) == (Status.OK, False, made[0])
    assert len(proxy.requests("POST")) == 1


def test_clone_answered_502_reports_the_clone_it_made(server, proxy, api, make_job):
    build = unique("clone502r")
    job_id = make_job(result="passed")
    proxy.add(Fault("forward_then", status=502, method="POST", path=r"/api/v1/jobs$"))
    result = run(proxy.url, "test", "clone", server.creds(), id=[job_id], vars=["BUILD=%s" % build],
                 skip_deps=True)
    made = [job["id"] for job in api_get(api, "jobs", build=build)["jobs"]]
    assert (result.status, result.changed, result.returns["id"]) == (Status.OK, True, made[0])


def test_stop_answered_502_reports_the_cancel_it_made(server, proxy, api, make_job):
    job_id = make_job()
    proxy.add(Fault("forward_then", status=502, method="POST", path=r"/cancel$"))
    result = run(proxy.url, "test", "stop", server.creds(), id=[job_id])
    assert api_get(api, "jobs/%d" % job_id)["job"]["state"] == "cancelled"
    assert (result.status, result.changed, result.returns) == (Status.OK, True, [job_id])


def test_stop_answered_502_cancels_once_and_a_rerun_is_unchanged(server, proxy, api, make_job):
    job_id = make_job()
    proxy.add(Fault("forward_then", status=502, method="POST", path=r"/cancel$"))
    run(proxy.url, "test", "stop", server.creds(), id=[job_id])
    again = run(proxy.url, "test", "stop", server.creds(), id=[job_id])
    assert api_get(api, "jobs/%d" % job_id)["job"]["state"] == "cancelled"
    assert (again.status, again.changed) == (Status.OK, False) and len(proxy.requests("POST")) == 1


@pytest.mark.parametrize("fault", [
    Fault("forward_then", status=502, method="POST", path=r"/isos$"),
    Fault("forward_then", status=504, method="POST", path=r"/isos$"),
    Fault("reset", method="POST", path=r"/isos$"),
], ids=["502 after openQA", "504 after openQA", "reset mid-answer"])
def test_build_new_answer_lost_schedules_once(server, proxy, api, fault):
    build = unique("new-lost")
    proxy.add(fault)
    result = run(proxy.url, "build", "new", server.creds(), vars=build_vars(build))
    counts = jobs_by_test(api, build)
    assert counts and set(counts.values()) == {1}, counts
    assert (result.status, result.changed) == (Status.OK, True) and sorted(result.returns["ids"]) == sorted(
        job["id"] for job in api_get(api, "jobs", build=build)["jobs"])
    assert "answer to POST isos was lost" in result.warnings[0]
    again = run(proxy.url, "build", "new", server.creds(), vars=build_vars(build))
    assert (again.status, again.changed) == (Status.OK, False) and jobs_by_test(api, build) == counts
    assert len(proxy.requests("POST")) == 1


def test_build_new_refused_connection_is_resent_once(server, proxy, api):
    build = unique("new-refused")
    # The listing before the POST is answered, then the port closes: the POST's connection is
    # refused (provably unsent), the client retries it, and the retry hook reopens the port.
    proxy.add(Fault("refuse_after", method="GET", path=r"/jobs\?", times=1))
    notes: list = []
    raw = {"action": "new", "vars": build_vars(build), "host": proxy.url, **server.creds()}
    result = execute(ENTRIES["build"], raw, on_retry=lambda message: (notes.append(message), proxy.resume()))
    assert (result.status, result.changed) == (Status.OK, True)
    assert len(notes) == 1 and notes[0].startswith("POST isos failed (ConnectionError)")
    assert set(jobs_by_test(api, build).values()) == {1} and len(proxy.requests("POST")) == 1


def test_build_restart_answered_502_restarts_once(server, proxy, api, make_job):
    build = unique("brestart")
    job_id = make_job(result="failed", BUILD=build)
    proxy.add(Fault("forward_then", status=502, method="POST", path=r"/jobs/restart"))
    result = run(proxy.url, "build", "restart", server.creds(), id=build)
    clone = api_get(api, "jobs/%d" % job_id)["job"]["clone_id"]
    assert (result.status, result.changed, result.returns) == (Status.OK, True, {
        "ids": [clone], "clones": {str(job_id): clone}, "found": True})
    again = run(proxy.url, "build", "restart", server.creds(), id=build)
    assert again.changed is False and len(proxy.requests("POST")) == 1


# ------------------------------------------------------------------ a failure after a change keeps the change


@pytest.mark.server_version("4.6")  # newer openQA takes the comment inside the restart request: no later step
def test_restart_comment_failing_after_the_restart_keeps_changed_and_the_new_ids(server, proxy, api, make_job):
    job_id = make_job(result="failed")
    proxy.add(Fault("status", status=503, method="POST", path=r"/comments$"))
    result = run(proxy.url, "test", "restart", server.creds(), id=[job_id], comment="never posted")
    clone = api_get(api, "jobs/%d" % job_id)["job"]["clone_id"]
    assert clone and (result.status, result.changed) == (Status.SERVER_ERROR, True)
    assert result.returns == {"ids": [clone], "clones": {str(job_id): clone}}
    assert "then posting the comment on job %d failed" % job_id in result.message


def test_stop_by_id_failing_on_the_second_job_keeps_the_first_cancel(server, proxy, api, make_job):
    first, second = sorted([make_job(), make_job()])
    proxy.add(Fault("status", status=503, method="POST", path=r"/jobs/%d/cancel$" % second))
    result = run(proxy.url, "test", "stop", server.creds(), id=[first, second])
    assert [api_get(api, "jobs/%d" % i)["job"]["state"] for i in (first, second)] == ["cancelled", "scheduled"]
    assert (result.status, result.changed, result.returns) == (Status.SERVER_ERROR, True, [first])
    assert "then cancelling job %d failed" % second in result.message


def test_stop_by_conditions_answered_502_reports_the_cancel_it_made(server, proxy, api, make_job):
    build = unique("stop502")
    ids = sorted([make_job(BUILD=build), make_job(BUILD=build, TEST="other")])
    proxy.add(Fault("forward_then", status=502, method="POST", path=r"/jobs/cancel$"))
    result = run(proxy.url, "test", "stop", server.creds(), build=build)
    assert all(api_get(api, "jobs/%d" % i)["job"]["state"] == "cancelled" for i in ids)
    assert (result.status, result.changed, result.returns) == (Status.OK, True, ids)
    assert "answer to POST jobs/cancel was lost" in result.warnings[0] and len(proxy.requests("POST")) == 1
    again = run(proxy.url, "test", "stop", server.creds(), build=build)
    assert (again.status, again.changed, again.returns) == (Status.OK, False, []) and len(proxy.requests("POST")) == 1


def test_stop_by_conditions_refused_by_the_proxy_changes_nothing(server, proxy, api, make_job):
    build = unique("stop503")
    job_id = make_job(BUILD=build)
    proxy.add(Fault("status", status=503, method="POST", path=r"/jobs/cancel$"))
    result = run(proxy.url, "test", "stop", server.creds(), build=build)
    assert (result.status, result.changed, result.returns) == (Status.SERVER_ERROR, False, None)
    assert "run it again" in result.message and api_get(api, "jobs/%d" % job_id)["job"]["state"] == "scheduled"


def _restart_failed(make_job, build):
    job_id = make_job(result="failed", BUILD=build)
    return {"id": [job_id]}, 1  # restart reads the job by id once before posting


def _clone_passed(make_job, build):
    return {"id": [make_job(result="passed")], "vars": ["BUILD=%s" % build], "skip_deps": True}, 0


def _new_build(make_job, build):
    return {"vars": build_vars(build)}, 0


@pytest.mark.parametrize("entry, action, setup", [
    ("test", "restart", _restart_failed), ("test", "clone", _clone_passed), ("build", "new", _new_build),
], ids=["test restart", "test clone", "build new"])
def test_wait_failing_after_the_change_keeps_changed_and_the_new_ids(server, proxy, api, make_job, entry, action,
                                                                     setup):
    build = unique("waitfail")
    options, reads_before = setup(make_job, build)
    # every poll of the wait fails; the listings by id before the change go through
    proxy.add(Fault("status", status=503, method="GET", path=r"/jobs\?ids=", skip=reads_before))
    result = run(proxy.url, entry, action, server.creds(), retries=0, wait=True, interval=0.1, timeout=30.0,
                 **options)
    made = sorted(job["id"] for job in api_get(api, "jobs", build=build)["jobs"] if job["state"] == "scheduled")
    assert made and (result.status, result.changed) == (Status.SERVER_ERROR, True), result.message
    assert result.returns["ids"] == made and "results" not in result.returns
    assert "then waiting for" in result.message and "HTTP 503" in result.message


def test_build_wait_failing_after_its_restart_keeps_changed_and_says_what_restarted(
        server, proxy, api, make_job):
    build = unique("waitretry")
    failed = make_job(result="failed", BUILD=build)
    # the build's listing (jobs?build=) goes through; every poll by id after the restart fails
    proxy.add(Fault("status", status=503, method="GET", path=r"/jobs\?ids="))
    result = run(proxy.url, "build", "wait", server.creds(), retries=0, id=build, max_attempts=2, interval=0.1,
                 timeout=30.0)
    clone = api_get(api, "jobs/%d" % failed)["job"]["clone_id"]
    assert clone and (result.status, result.changed) == (Status.SERVER_ERROR, True), result.message
    # the build as the wait knew it: the restart stands for the failed job
    assert [(test["id"], test["status"]) for name in result.returns for test in name["tests"]] == \
        [(clone, "scheduled")]
    assert result.message.startswith("restarted %d as %d (max_attempts 2); then waiting for the restarted jobs "
                                     "failed" % (failed, clone)) and "HTTP 503" in result.message
    assert len(proxy.requests("POST")) == 1


def test_build_wait_whose_second_restart_fails_keeps_the_first_and_says_the_second_failed(
        server, proxy, api, make_job):
    """max_attempts 3: the restart fails again (a stand-in in the proxy fails every restart as openQA answers
    it), and the POST of the second restart is answered 503 without reaching openQA."""
    build = unique("waitretry2")
    failed = make_job(result="failed", BUILD=build)

    def fail_each_restart(method: str, path: str, status: int, body: bytes) -> None:
        if method == "POST" and status == 200 and "restart" in path:
            answer = json.loads(gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body)
            made = [int(new) for entry in answer.get("result") or [] for new in entry.values()]
            server.sql("UPDATE jobs SET state = 'done', result = 'failed' WHERE id IN (%s)"
                       % ",".join(str(i) for i in made))

    proxy.on_answer = fail_each_restart
    proxy.add(Fault("status", status=503, method="POST", path=r"restart", skip=1))
    result = run(proxy.url, "build", "wait", server.creds(), retries=0, id=build, max_attempts=3, interval=0.1,
                 timeout=30.0)
    clone = api_get(api, "jobs/%d" % failed)["job"]["clone_id"]
    assert clone and api_get(api, "jobs/%d" % clone)["job"]["clone_id"] is None
    # the lost POST is read back: openQA shows no second restart, so it is safe to run again
    assert (result.status, result.changed) == (Status.UNREACHABLE, True), result.message
    assert result.message == ("restarted %d as %d (max_attempts 3); then restarting failed: restart of %d: the "
                              "request failed in transit and openQA shows no restart; run it again"
                              % (failed, clone, clone))
    assert [(test["id"], test["status"]) for name in result.returns for test in name["tests"]] == [(clone, "failed")]
    assert len(proxy.requests("POST")) == 2


def test_build_wait_whose_restart_is_partly_refused_waits_for_the_restart_it_made(server, proxy, api, make_job):
    """One failure restarts, the other misses its medium: status 9 and changed, and the answer shows the
    build as it now is (the restart, finished by a stand-in in the proxy, and the refused job)."""
    build = unique("waitpartial")
    restartable = make_job(result="failed", BUILD=build, TEST="restartable")
    refused = make_job(result="failed", BUILD=build, TEST="refused", ISO="no-such-medium-%s.iso" % build)

    def pass_each_restart(method: str, path: str, status: int, body: bytes) -> None:
        if method == "POST" and status == 200 and "restart" in path:
            answer = json.loads(gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body)
            made = [int(new) for entry in answer.get("result") or [] for new in entry.values()]
            if made:
                server.sql("UPDATE jobs SET state = 'done', result = 'passed' WHERE id IN (%s)"
                           % ",".join(str(i) for i in made))

    proxy.on_answer = pass_each_restart
    result = run(proxy.url, "build", "wait", server.creds(), retries=0, id=build, max_attempts=2, interval=0.1,
                 timeout=30.0)
    clone = api_get(api, "jobs/%d" % restartable)["job"]["clone_id"]
    assert clone and api_get(api, "jobs/%d" % refused)["job"]["clone_id"] is None
    assert (result.status, result.changed) == (Status.REFUSED, True), result.message
    assert result.message.startswith("restarted %d as %d (max_attempts 2); then restarting failed: not restarted: "
                                     % (restartable, clone)) and "no-such-medium" in result.message
    assert sorted((test["id"], test["status"]) for name in result.returns for test in name["tests"]) == \
        [(refused, "failed"), (clone, "passed")]
    assert len(proxy.requests("POST")) == 1


def _clone_repeat(proxy, server, make_job, fault):
    build = unique("repeat")
    proxy.add(fault)
    result = run(proxy.url, "test", "clone", server.creds(), retries=0, id=[make_job(result="passed")],
                 vars=["BUILD=" + build], skip_deps=True, repeat=2)
    return result, build


def test_clone_repeat_failing_after_the_first_clone_keeps_changed_and_its_ids(server, proxy, api, make_job):
    # the first POST jobs goes through; the second is answered by the proxy and never reaches openQA
    refused = Fault("status", status=503, method="POST", path=r"/jobs$", skip=1)
    result, build = _clone_repeat(proxy, server, make_job, refused)
    made = [job["id"] for job in api_get(api, "jobs", build=build)["jobs"]]
    assert len(made) == 1 and (result.status, result.changed) == (Status.SERVER_ERROR, True), result.message
    assert result.returns["id"] == made[0] and [r["id"] for r in result.returns["repeats"]] == made
    assert "then clone 2 of 2 failed" in result.message


def test_clone_repeat_whose_answer_is_lost_reports_the_clone_openqa_made(server, proxy, api, make_job):
    # openQA makes the second clone, its answer is lost: read back, as a single clone's would be
    lost = Fault("forward_then", status=502, method="POST", path=r"/jobs$", skip=1)
    result, build = _clone_repeat(proxy, server, make_job, lost)
    made = sorted(job["id"] for job in api_get(api, "jobs", build=build)["jobs"])
    assert len(made) == 2 and (result.status, result.changed) == (Status.OK, True), result.message
    assert sorted(r["id"] for r in result.returns["repeats"]) == made
    assert "answer to POST jobs was lost" in result.warnings[0]
    assert len(proxy.requests("POST")) == 2


@pytest.mark.server_version("4.6")  # newer openQA takes the comment inside the restart request: no later step
def test_module_and_cli_report_the_change_when_a_later_step_fails(server, proxy, api, make_job, ctl, module_direct):
    """The module fails with changed=true and the ids; the CLI's envelope keeps "changed": true and the ids."""
    proxy.add(Fault("status", status=503, method="POST", path=r"/comments$"))
    job_id = make_job(result="failed")
    result = module_direct("test", {"action": "restart", "id": [job_id], "comment": "lost", "host": proxy.url,
                                    **server.creds()})
    clone = api_get(api, "jobs/%d" % job_id)["job"]["clone_id"]
    assert (result["failed"], result["changed"], result["status"]) == (True, True, Status.SERVER_ERROR)
    assert result["returns"] == {"ids": [clone], "clones": {str(job_id): clone}}
    other = make_job(result="failed")
    cli = ctl("test", "restart", "--id", str(other), "--comment", "lost", "--host", proxy.url, *server.cli_creds(),
              host=False)
    clone = api_get(api, "jobs/%d" % other)["job"]["clone_id"]
    assert (cli.rc, cli.envelope["invocation"]["changed"]) == (Status.SERVER_ERROR, True)
    assert cli.returns == {"ids": [clone], "clones": {str(other): clone}}
