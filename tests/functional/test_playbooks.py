"""The example playbooks (playbooks/*.yml) run by ansible-playbook against the real test openQA.

Each test makes its own build (POST isos with a unique BUILD) and finishes its jobs through the API,
as a worker would: the test server has no worker. `WorkerStandIn` does that in a thread for the jobs a
playbook restarts while it waits.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
import threading
import typing as t
import uuid
from dataclasses import dataclass

import pytest
import requests

from conftest import ROOT, Server, _ansible_env, api_get, api_post

PLAYBOOKS = ROOT / "playbooks"
RECAP = re.compile(r"^localhost\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)
TESTS = ("textmode", "gnome", "raid0", "raid1")


@dataclass
class PlaybookRun:
    rc: int
    stdout: str
    stderr: str

    def recap(self) -> t.Dict[str, int]:
        match = RECAP.search(self.stdout)
        assert match, "no PLAY RECAP in:\n%s\n%s" % (self.stdout, self.stderr)
        return dict(zip(("ok", "changed", "unreachable", "failed"), map(int, match.groups()), strict=True))

    @property
    def changed(self) -> int:
        return self.recap()["changed"]


@pytest.fixture
def playbook(server: Server) -> t.Callable[..., PlaybookRun]:
    """ansible-playbook playbooks/NAME.yml with extra vars; credentials as the playbook variables."""

    def run(name: str, check: bool = False, **extra_vars: t.Any) -> PlaybookRun:
        extra = dict(dict(openqa_host=server.url, openqa_api_key=server.keys["admin"]["key"],
                          openqa_api_secret=server.keys["admin"]["secret"]), **extra_vars)
        with tempfile.NamedTemporaryFile("w", suffix=".json") as handle:
            json.dump(extra, handle)
            handle.flush()
            argv = ["ansible-playbook", str(PLAYBOOKS / (name + ".yml")), "-e", "@" + handle.name]
            argv += ["--check"] if check else []
            proc = subprocess.run(argv, capture_output=True, text=True, env=_ansible_env({"OPENQA_HOST": ""}),
                                  check=False, timeout=300)
        assert "Traceback" not in proc.stderr, proc.stderr
        assert server.keys["admin"]["secret"] not in proc.stdout + proc.stderr
        return PlaybookRun(proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture
def new_build(api: requests.Session, server: Server) -> t.Callable[..., str]:
    """Schedule a build of the fixture product in the fixture group; results= finishes its jobs."""

    def make(results: t.Optional[t.Mapping[str, str]] = None) -> str:
        build = "pb-" + uuid.uuid4().hex[:10]
        fixture = server.fixture
        answer = api_post(api, "isos", DISTRI=fixture["distri"], VERSION=fixture["version"],
                          FLAVOR=fixture["flavor"], ARCH="x86_64", BUILD=build, _GROUP=fixture["group_name"])
        assert len(answer["ids"]) == len(TESTS), answer
        # a chained parent before its child; a test left out stays scheduled (or skipped, when its parent failed)
        for job in sorted(api_get(api, "jobs", build=build)["jobs"], key=lambda j: TESTS.index(j["test"])):
            if results and job["test"] in results:
                api_post(api, "jobs/%d/set_done" % job["id"], result=results[job["test"]])
        return build

    return make


class WorkerStandIn(threading.Thread):
    """Finishes the scheduled jobs of a build: a restarted test gets the next result of its plan."""

    def __init__(self, api: requests.Session, build: str, plan: t.Mapping[str, t.Sequence[str]]) -> None:
        super().__init__(daemon=True)
        self.api, self.build, self.plan = api, build, plan
        self.attempts: t.Dict[str, int] = {}
        self.done: t.Set[int] = set()
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(0.3):
            try:
                self._finish_scheduled()
            except requests.RequestException:
                continue  # the shared server is busy: a worker would try again too, not die

    def _finish_scheduled(self) -> None:
        for job in api_get(self.api, "jobs", build=self.build, state="scheduled")["jobs"]:
            if job["id"] in self.done:
                continue
            attempt = self.attempts[job["test"]] = self.attempts.get(job["test"], 1) + 1
            results = self.plan.get(job["test"], ["passed"])
            api_post(self.api, "jobs/%d/set_done" % job["id"], result=results[min(attempt, len(results)) - 1])
            self.done.add(job["id"])

    def __enter__(self) -> "WorkerStandIn":
        self.start()
        return self

    def __exit__(self, *exc: t.Any) -> None:
        self.stopping.set()
        self.join(timeout=10)


def latest(api: requests.Session, build: str) -> t.Dict[str, dict]:
    jobs: t.Dict[str, dict] = {}
    for job in sorted(api_get(api, "jobs", build=build)["jobs"], key=lambda j: j["id"]):
        jobs[job["test"]] = job
    return jobs


OK = {"textmode": "passed", "gnome": "passed", "raid0": "softfailed", "raid1": "passed"}
RAID1_FAILED = dict(OK, raid1="failed")


def test_gate_passes_on_an_ok_build_and_a_rerun_changes_nothing(playbook, new_build):
    build = new_build(OK)
    first = playbook("schedule_and_gate", BUILD=build, TIMEOUT=30, INTERVAL=1)
    assert first.rc == 0, first.stdout
    assert "gate PASSED for build %s" % build in first.stdout
    assert "already scheduled: 4 jobs" in first.stdout
    assert first.changed == 0
    assert re.search(r"ok\s+raid0 \(x86_64\) job \d+: softfailed", first.stdout)


def test_gate_restarts_a_failure_once_and_passes_when_the_restart_passes(api, playbook, new_build):
    build = new_build(RAID1_FAILED)
    failed_id = latest(api, build)["raid1"]["id"]
    with WorkerStandIn(api, build, {"raid1": ["failed", "passed"]}):
        run = playbook("schedule_and_gate", BUILD=build, TIMEOUT=60, INTERVAL=1)
    assert run.rc == 0, run.stdout
    assert "gate PASSED" in run.stdout
    jobs = latest(api, build)
    assert jobs["raid1"]["id"] != failed_id and jobs["raid1"]["result"] == "passed"
    assert "restarted %d as %d (max_attempts 2)" % (failed_id, jobs["raid1"]["id"]) in run.stdout
    assert run.changed == 1   # the restart; the build was already scheduled


def test_gate_fails_with_a_summary_when_the_failure_persists(api, playbook, new_build):
    build = new_build(RAID1_FAILED)
    with WorkerStandIn(api, build, {"raid1": ["failed", "failed"]}):
        run = playbook("schedule_and_gate", BUILD=build, TIMEOUT=60, INTERVAL=1)
    assert run.rc != 0
    jobs = latest(api, build)
    assert re.search(r"gate FAILED for build %s: raid1 \(x86_64\) job %d failed" % (build, jobs["raid1"]["id"]),
                     run.stdout), run.stdout
    assert re.search(r"FAIL\s+raid1 \(x86_64\) job %d: failed" % jobs["raid1"]["id"], run.stdout)
    # the wait's message names the job its summary shows: the restart that failed
    assert "finished, not ok: %d failed" % jobs["raid1"]["id"] in run.stdout, run.stdout
    # restarted once only: the original and one clone
    assert len([j for j in api_get(api, "jobs", build=build)["jobs"] if j["test"] == "raid1"]) == 2
    # a rerun of the pipeline does not restart it again (max_attempts), and still gates with a summary
    again = playbook("schedule_and_gate", BUILD=build, TIMEOUT=5, INTERVAL=1)
    assert again.rc != 0 and again.changed == 0, again.stdout
    assert "already run 2 times (max_attempts): %d" % jobs["raid1"]["id"] in again.stdout
    assert "gate FAILED for build %s" % build in again.stdout
    assert len([j for j in api_get(api, "jobs", build=build)["jobs"] if j["test"] == "raid1"]) == 2


def test_gate_restarts_a_failed_chained_parent_with_its_skipped_child(api, playbook, new_build):
    build = new_build({"textmode": "failed", "raid0": "softfailed", "raid1": "passed"})
    first = latest(api, build)
    assert first["gnome"]["result"] == "skipped"  # gnome is textmode's chained child
    with WorkerStandIn(api, build, {"textmode": ["failed", "passed"]}):
        run = playbook("schedule_and_gate", BUILD=build, TIMEOUT=60, INTERVAL=1)
    assert run.rc == 0, run.stdout
    assert "gate PASSED" in run.stdout
    jobs = latest(api, build)
    assert (jobs["textmode"]["result"], jobs["gnome"]["result"]) == ("passed", "passed")
    for test in ("textmode", "gnome"):
        assert "%d as %d" % (first[test]["id"], jobs[test]["id"]) in run.stdout, run.stdout
    assert run.changed == 1


def test_gate_schedules_a_new_build(api, playbook, server):
    build = "pb-new-" + uuid.uuid4().hex[:10]
    with WorkerStandIn(api, build, {}):
        run = playbook("schedule_and_gate", BUILD=build, TIMEOUT=60, INTERVAL=1)
    assert run.rc == 0, run.stdout
    assert sorted(latest(api, build)) == sorted(TESTS)
    assert run.changed == 1   # build new


def test_gate_in_check_mode_posts_nothing_and_does_not_wait(api, playbook, new_build):
    build = "pb-check-" + uuid.uuid4().hex[:10]
    run = playbook("schedule_and_gate", check=True, BUILD=build, TIMEOUT="1h", INTERVAL=1)
    assert run.rc == 0, run.stdout
    assert "would schedule" in run.stdout and "check mode: cannot know yet: no job" in run.stdout
    assert "preflight: gate cannot know yet" in run.stdout and "gate PASSED" not in run.stdout
    assert api_get(api, "jobs", build=build)["jobs"] == []
    pending = new_build({"textmode": "passed", "raid0": "failed"})  # gnome and raid1 stay scheduled
    run = playbook("schedule_and_gate", check=True, BUILD=pending, TIMEOUT="1h", INTERVAL=1)
    # raid0 would be restarted and the rest is pending: no verdict yet, neither PASSED nor FAILED
    assert "check mode: cannot know yet: would restart " in run.stdout, run.stdout
    assert "2 jobs are pending" in run.stdout
    assert "preflight: gate cannot know yet" in run.stdout and run.rc == 0
    assert "gate FAILED" not in run.stdout and "gate PASSED" not in run.stdout
    run = playbook("schedule_and_gate", check=True, BUILD=pending, RESTART_FAILURES=False)
    assert "preflight: gate would FAIL" in run.stdout and run.rc != 0  # nothing restarts raid0


def test_gate_takes_several_arches_and_keeps_a_timeout_apart_from_a_failure(api, playbook):
    """Issue 25's minors: a list of arches (none: every product), and a timeout is not "gate FAILED"."""
    build = "pb-arches-" + uuid.uuid4().hex[:10]
    timed_out = playbook("schedule_and_gate", BUILD=build, ARCH="", TIMEOUT=1, INTERVAL=1)
    jobs = api_get(api, "jobs", build=build)["jobs"]
    assert sorted({job["settings"]["ARCH"] for job in jobs}) == ["aarch64", "x86_64"] and len(jobs) == 8
    assert timed_out.rc != 0 and "gate TIMED OUT after 1 for build %s: still pending: " % build in timed_out.stdout
    assert "gate FAILED" not in timed_out.stdout
    for job in jobs:
        api_post(api, "jobs/%d/set_done" % job["id"], result="passed")
    passed = playbook("schedule_and_gate", BUILD=build, ARCH="x86_64, aarch64", TIMEOUT=5, INTERVAL=1)
    assert passed.rc == 0 and passed.changed == 0 and "gate PASSED for build %s" % build in passed.stdout
    assert "aarch64: already scheduled: 4 jobs" in passed.stdout


def test_gate_needs_a_build(playbook):
    run = playbook("schedule_and_gate")
    assert run.rc != 0
    assert "-e BUILD=" in run.stdout


def test_retrigger_failed_restarts_once_then_changes_nothing(api, playbook, new_build):
    build = new_build(RAID1_FAILED)
    failed_id = latest(api, build)["raid1"]["id"]
    check = playbook("retrigger_failed", check=True, BUILD=build)
    assert check.rc == 0 and check.changed == 1
    assert "would restart jobs %d" % failed_id in check.stdout
    assert latest(api, build)["raid1"]["id"] == failed_id   # check mode posted nothing
    first = playbook("retrigger_failed", BUILD=build)
    assert first.rc == 0 and first.changed == 1, first.stdout
    clone = latest(api, build)["raid1"]
    assert clone["id"] != failed_id and clone["state"] == "scheduled"
    second = playbook("retrigger_failed", BUILD=build)
    assert second.rc == 0 and second.changed == 0, second.stdout
    assert latest(api, build)["raid1"]["id"] == clone["id"]


def test_retrigger_failed_leaves_a_job_that_failed_twice_alone(api, playbook, new_build):
    """Issue 25: "restart ... once" restarted a job that had failed twice."""
    build = new_build(RAID1_FAILED)
    first = playbook("retrigger_failed", BUILD=build)
    clone = latest(api, build)["raid1"]
    api_post(api, "jobs/%d/set_done" % clone["id"], result="failed")   # the restart failed too
    again = playbook("retrigger_failed", BUILD=build)
    assert (first.changed, again.rc, again.changed) == (1, 0, 0), again.stdout
    assert "not restarted, already run 2 times (max_attempts): %d" % clone["id"] in again.stdout
    assert latest(api, build)["raid1"]["id"] == clone["id"]
    third = playbook("retrigger_failed", BUILD=build, MAX_ATTEMPTS=3)
    assert third.changed == 1 and latest(api, build)["raid1"]["id"] != clone["id"]


def test_clone_for_debug_clones_once_out_of_the_build(api, playbook, new_build, server):
    build = new_build(RAID1_FAILED)
    failed_id = latest(api, build)["raid1"]["id"]
    first = playbook("clone_for_debug", JOB=failed_id, CLONE_TO=server.url)
    assert first.rc == 0 and first.changed == 1, first.stdout
    clones = api_get(api, "jobs", build=build + "-debug")["jobs"]
    assert [job["test"] for job in clones] == ["raid1:debug"]
    assert clones[0]["group_id"] is None
    assert "%s/tests/%d" % (server.url, clones[0]["id"]) in first.stdout
    second = playbook("clone_for_debug", JOB=failed_id, CLONE_TO=server.url)
    assert second.rc == 0 and second.changed == 0, second.stdout
    assert len(api_get(api, "jobs", build=build + "-debug")["jobs"]) == 1


def test_worker_report_groups_by_class(playbook):
    run = playbook("worker_report")
    assert run.rc == 0 and run.changed == 0, run.stdout
    assert re.search(r'"qemu_x86_64: \d+ idle \(fixture-worker:1\)"', run.stdout), run.stdout
    need_more = playbook("worker_report", WORKER_CLASS="qemu_aarch64", REQUIRE_IDLE=99)
    assert need_more.rc != 0
    assert "idle workers of class qemu_aarch64, 99 required" in need_more.stdout
