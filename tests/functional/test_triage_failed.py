"""playbooks/triage_failed.yml against the real server: label the known, investigate the unknown, gate on the rest."""

from __future__ import annotations

import re
import typing as t
import uuid

import pytest
from conftest import api_get, api_post
from test_playbooks import playbook  # noqa: F401  pylint: disable=unused-import
from triage_data import scenarios, triage_worker  # noqa: F401  pylint: disable=unused-import

RULES = [{"pattern": r"\[error\] Failed to download .*404", "label": "poo#1001 asset download 404", "retry": True},
         {"pattern": "QEMU exited unexpectedly", "label": "poo#1002 qemu died"}]


def texts(api, job_id: int) -> t.List[str]:
    return [c["text"] for c in api_get(api, "jobs/%d/comments" % job_id)]


@pytest.fixture
def failing_build(scenarios) -> t.Tuple[str, t.Dict[str, int]]:  # noqa: F811
    """A build with a failure per rule, an unknown failure whose scenario last passed in an older build with
    older tests, one a person labelled, and a passed job."""
    build = "tri-" + uuid.uuid4().hex[:8]
    jobs = {}

    def scenario():  # one product, a test each
        return scenarios.scenario(VERSION=build)

    jobs["download"] = scenarios.job(scenario(), "failed", build, log_lines="[error] Failed to download a.qcow2 404")
    jobs["qemu"] = scenarios.job(scenario(), "incomplete", build, reason="QEMU exited unexpectedly")
    regressed = scenario()
    jobs["good_before"] = scenarios.job(regressed, "passed", "older", git_hash="aaa111")
    jobs["unknown"] = scenarios.job(regressed, "failed", build, git_hash="bbb222", reason="something new")
    jobs["person"] = scenarios.job(scenario(), "failed", build, reason="odd")
    api_post(scenarios.api, "jobs/%d/comments" % jobs["person"], text="bsc#3333 looked at by a person")
    jobs["fine"] = scenarios.job(scenario(), "passed", build)
    return build, jobs


def test_labels_the_known_investigates_the_rest_and_fails_on_it(server, api, playbook, failing_build):  # noqa: F811
    build, jobs = failing_build
    first = playbook("triage_failed", BUILD=build, GROUP=server.fixture["group_name"], RULES=RULES)
    assert first.rc == 2 and first.changed == 2, first.stdout  # the label task and the investigate task
    assert texts(api, jobs["download"]) == ["poo#1001 asset download 404"]
    assert texts(api, jobs["qemu"]) == ["poo#1002 qemu died"]
    assert api_get(api, "jobs/%d" % jobs["download"])["job"]["clone_id"]  # retried once
    investigation = texts(api, jobs["unknown"])
    assert len(investigation) == 1
    assert investigation[0].startswith("Automatic investigation jobs for job %d:" % jobs["unknown"])
    assert investigation[0].count("t#") == 4  # build and tests differ from the last good run: all four kinds
    assert texts(api, jobs["person"]) == ["bsc#3333 looked at by a person"]
    assert "unknown failures in build %s: %d " % (build, jobs["unknown"]) in first.stdout
    table = first.stdout
    assert re.search(r'"job +status +outcome +label / investigation"', table)
    assert re.search(r'"%d +failed +unknown +retry t#\d+, last_good_tests t#' % jobs["unknown"], table), table
    assert re.search(r'"%d +failed +labelled +bsc#3333"' % jobs["person"], table)
    assert re.search(r'"%d +failed +labelled +poo#1001 asset download 404 \(retried as \d+\)"' % jobs["download"],
                     table)
    again = playbook("triage_failed", BUILD=build, GROUP=server.fixture["group_name"], RULES=RULES)
    assert again.rc == 2 and again.changed == 0, again.stdout
    assert len(texts(api, jobs["unknown"])) == 1 and len(texts(api, jobs["download"])) == 1
    api_post(api, "jobs/%d/comments" % jobs["unknown"], text="boo#4444 product bug")
    done = playbook("triage_failed", BUILD=build, GROUP=server.fixture["group_name"], RULES=RULES)
    assert done.rc == 0 and done.changed == 0, done.stdout
    assert "every failure of build %s is labelled" % build in done.stdout


def test_check_mode_predicts_and_posts_nothing(server, api, playbook, failing_build):  # noqa: F811
    build, jobs = failing_build
    run = playbook("triage_failed", check=True, BUILD=build, GROUP=server.fixture["group_name"], RULES=RULES)
    assert run.rc == 2 and run.changed == 2, run.stdout
    assert texts(api, jobs["download"]) == [] and texts(api, jobs["unknown"]) == []
    assert not api_get(api, "jobs/%d" % jobs["download"])["job"].get("clone_id")


def test_needs_a_build_and_rules(playbook):  # noqa: F811
    run = playbook("triage_failed", BUILD="x", RULES={"pattern": "a"})
    assert run.rc == 2 and "give the build and the rules" in run.stdout


def test_conclude_shows_and_posts_the_verdict_once_the_investigation_is_done(server, api, playbook,  # noqa: F811
                                                                            failing_build, scenarios):  # noqa: F811
    build, jobs = failing_build
    playbook("triage_failed", BUILD=build, GROUP=server.fixture["group_name"], RULES=RULES)
    investigation = dict(re.findall(r":investigate:(\w+)\*: t#(\d+)", texts(api, jobs["unknown"])[0]))
    for kind, result in (("retry", "failed"), ("last_good_tests", "failed"), ("last_good_build", "passed"),
                         ("last_good_tests_and_build", "passed")):
        scenarios.finish(int(investigation[kind]), result)
    run = playbook("triage_failed", BUILD=build, GROUP=server.fixture["group_name"], RULES=RULES, CONCLUDE=True)
    assert run.rc == 2 and run.changed == 1, run.stdout  # the verdict's comment
    assert re.search(r'"%d +failed +unknown +retry t#\d+.*: product regression"' % jobs["unknown"], run.stdout)
    assert texts(api, jobs["unknown"])[1].startswith("Investigation of job %d concluded: the jobs with the last "
                                                     "good build passed" % jobs["unknown"])
    again = playbook("triage_failed", BUILD=build, GROUP=server.fixture["group_name"], RULES=RULES, CONCLUDE=True)
    assert again.changed == 0 and len(texts(api, jobs["unknown"])) == 2
