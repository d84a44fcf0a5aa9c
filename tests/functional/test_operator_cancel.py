"""An operator's cancel is respected (issue 25, major 3), against the real server.

After ``test stop --build B --group G`` the jobs are user_cancelled: a rerun of the pipeline schedules
nothing (``build new`` counts them as the build), and no restart (``build wait --max-attempts``,
``build restart``) touches them unless ``force``; the answer says so.
"""

from __future__ import annotations

import uuid

import pytest
from conftest import api_get
from test_playbooks import playbook  # noqa: F401  pylint: disable=unused-import  # the fixture

import nightly as nightly_world


@pytest.fixture(scope="module")
def nightly(server):
    return nightly_world.create(server)


def _vars(values: dict) -> list:
    return [arg for key, value in values.items() for arg in ("--vars", "%s=%s" % (key, value))]


def _products(server, build: str) -> int:
    return int(server.sql("SELECT count(*) FROM scheduled_products WHERE build = '%s'" % build).strip())


def test_a_cancelled_build_is_not_scheduled_again_nor_restarted(server, ctl, api, nightly, playbook):  # noqa: F811
    build = "cancel-" + uuid.uuid4().hex[:8]
    group = ["--group", nightly.group]
    scheduled = ctl("build", "new", *group, *_vars(nightly.product_vars("x86_64", build)), *server.cli_creds())
    assert scheduled.rc == 0 and len(scheduled.returns["ids"]) == nightly.jobs_per_arch("x86_64")
    stop = ctl("test", "stop", "--build", build, *group, *server.cli_creds())
    assert stop.rc == 0 and sorted(stop.returns) == sorted(scheduled.returns["ids"])
    # the chained child of a cancelled parent is skipped by openQA: it goes with its parent
    results = {job["result"] for job in api_get(api, "jobs", build=build)["jobs"]}
    assert "user_cancelled" in results and results <= {"user_cancelled", "skipped", "parallel_failed"}

    again = ctl("build", "new", *group, *_vars(nightly.product_vars("x86_64", build)), *server.cli_creds())
    assert (again.rc, again.envelope["invocation"]["changed"]) == (0, False), again.envelope
    assert "cancelled by a person, which is left alone; force schedules it again" in again.message

    rerun = playbook("schedule_and_gate", BUILD=build, GROUP=nightly.group, DISTRI=nightly.distri,
                     VERSION=nightly_world.VERSION, FLAVOR=nightly_world.FLAVOR, ARCH="x86_64", TIMEOUT=60,
                     INTERVAL=1)
    assert _products(server, build) == 1, rerun.stdout   # the pipeline's rerun scheduled nothing
    assert rerun.rc != 0 and "gate FAILED" in rerun.stdout and "user_cancelled" in rerun.stdout
    assert "not restarted, cancelled by a person (force restarts them)" in rerun.stdout

    check = ctl("build", "wait", "--id", build, *group, "--max-attempts", "2", "--check", *server.cli_creds())
    assert check.rc == 7 and "would restart" not in check.message, check.message
    assert check.message.startswith("check mode: would fail: finished, not ok")
    assert "not restarted, cancelled by a person (force restarts them): " in check.message
    restart = ctl("build", "restart", "--id", build, *group, "--check", *server.cli_creds())
    assert restart.rc == 0 and restart.returns["ids"] == [] and "cancelled by a person" in restart.message
    assert {job["clone_id"] for job in api_get(api, "jobs", build=build)["jobs"]} == {None}

    forced = ctl("build", "restart", "--id", build, *group, "--force", "--check", *server.cli_creds())
    assert forced.rc == 0 and sorted(map(int, forced.returns["clones"])) == sorted(scheduled.returns["ids"])
