"""The release engineer's nightly of issue 25 as a functional test, on both servers.

Two arches, a chained parent and child, a parallel cluster, a flaky test and a persistent failure, the
build name also in another group (see nightly.py), driven through playbooks/schedule_and_gate.yml as the
trial did: a --check preflight with a bad key and with a wrong FLAVOR, a first run per arch, a rerun, a
preflight of the finished build, and an operator's cancel between two runs of another build.
"""

from __future__ import annotations

import uuid

import pytest
from conftest import api_get
from test_playbooks import WorkerStandIn, playbook  # noqa: F401  pylint: disable=unused-import  # the fixture

import nightly as nightly_world


@pytest.fixture(scope="module")
def nightly(server):
    return nightly_world.create(server)


def _products(server, build: str) -> int:
    return int(server.sql("SELECT count(*) FROM scheduled_products WHERE build = '%s'" % build).strip())


def _gate_vars(nightly, build: str, arch: str, **extra) -> dict:
    return dict(dict(BUILD=build, GROUP=nightly.group, DISTRI=nightly.distri, VERSION=nightly_world.VERSION,
                     FLAVOR=nightly_world.FLAVOR, ARCH=arch, TIMEOUT=120, INTERVAL=1), **extra)


def _first_attempt_is_one(stand_in: WorkerStandIn, nightly) -> WorkerStandIn:
    """The stand-in counts attempts from 2 (it finishes restarts of jobs a test set done): here it runs
    the first attempts too."""
    stand_in.attempts.update({test: 0 for test in nightly.tests.values()})
    return stand_in


def test_the_nightly_preflight_runs_rerun_and_an_operators_cancel(server, api, ctl, playbook, nightly):  # noqa: F811
    build = "nightly-" + uuid.uuid4().hex[:8]
    elsewhere = nightly_world.same_build_elsewhere(server, nightly, build)

    # preflight: a bad key and a wrong FLAVOR fail as the real run would; a good one cannot know the verdict yet
    bad_key = playbook("schedule_and_gate", check=True, openqa_api_secret="0123456789ABCDEF",
                       **_gate_vars(nightly, build, "x86_64"))
    assert bad_key.rc != 0 and "check mode verified the key with GET isos/0" in bad_key.stdout, bad_key.stdout
    wrong_flavor = playbook("schedule_and_gate", check=True, **_gate_vars(nightly, build, "x86_64", FLAVOR="NOPE"))
    assert wrong_flavor.rc != 0
    assert "no products found for %s-Nightly-NOPE-x86_64" % nightly.distri in wrong_flavor.stdout
    good = playbook("schedule_and_gate", check=True, **_gate_vars(nightly, build, "x86_64"))
    assert good.rc == 0 and "%d jobs, one per matching job template" % nightly.jobs_per_arch("x86_64") in good.stdout
    assert "preflight: gate cannot know yet" in good.stdout and "PASS" not in good.stdout
    assert _products(server, build) == 0

    # first run, one arch after the other: the flaky test is restarted once and passes, the broken one fails
    with _first_attempt_is_one(WorkerStandIn(api, build, nightly.plan()), nightly):
        x86 = playbook("schedule_and_gate", **_gate_vars(nightly, build, "x86_64"))
        arm = playbook("schedule_and_gate", **_gate_vars(nightly, build, "aarch64"))
    assert x86.rc != 0 and "gate FAILED for build %s: %s (x86_64)" % (build, nightly.tests["broken"]) in x86.stdout
    assert "%s (x86_64) job" % nightly.tests["flaky"] not in x86.stdout.split("gate FAILED")[1]
    assert arm.rc == 0 and "gate PASSED for build %s" % build in arm.stdout, arm.stdout
    jobs = api_get(api, "jobs", build=build, groupid=nightly.group_id)["jobs"]
    assert len(jobs) == nightly.jobs_per_arch("x86_64") + nightly.jobs_per_arch("aarch64") + 2   # 2 restarts
    assert _products(server, build) == 2

    # the rerun schedules nothing and restarts nothing: the broken test has had its two attempts
    rerun = playbook("schedule_and_gate", **_gate_vars(nightly, build, "x86_64"))
    assert rerun.rc != 0 and rerun.changed == 0 and "gate FAILED" in rerun.stdout
    assert "not restarted, already run 2 times (max_attempts)" in rerun.stdout
    assert len(api_get(api, "jobs", build=build, groupid=nightly.group_id)["jobs"]) == len(jobs)
    assert _products(server, build) == 2

    # a preflight of the finished build knows the verdict; the same BUILD in another group does not mix in
    x86 = playbook("schedule_and_gate", check=True, **_gate_vars(nightly, build, "x86_64"))
    assert "preflight: gate would FAIL" in x86.stdout
    aarch64 = playbook("schedule_and_gate", check=True, **_gate_vars(nightly, build, "aarch64"))
    assert "preflight: gate would PASS" in aarch64.stdout
    assert ctl("build", "wait", "--id", build, "--check").status == 3   # two groups hold this BUILD
    assert api_get(api, "jobs/%d" % elsewhere)["job"]["clone_id"] is None

    # an operator's cancel between two runs of another build: the second run leaves it cancelled
    cancelled = "nightly-" + uuid.uuid4().hex[:8]
    first = playbook("schedule_and_gate", **_gate_vars(nightly, cancelled, "x86_64", TIMEOUT=1))
    assert first.rc != 0 and "timeout after" in first.stdout and _products(server, cancelled) == 1
    stop = ctl("test", "stop", "--build", cancelled, "--group", nightly.group, *server.cli_creds())
    assert stop.rc == 0 and stop.returns
    second = playbook("schedule_and_gate", **_gate_vars(nightly, cancelled, "x86_64"))
    assert _products(server, cancelled) == 1 and second.changed == 0, second.stdout
    assert second.rc != 0 and "user_cancelled" in second.stdout
    assert "not restarted, cancelled by a person (force restarts them)" in second.stdout
    assert {job["clone_id"] for job in api_get(api, "jobs", build=cancelled)["jobs"]} == {None}
