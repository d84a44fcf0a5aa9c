"""playbooks/label_known.yml against the real server: label known failures once, fail on the rest."""

from __future__ import annotations

import json
import re
import typing as t
import uuid

import pytest
from conftest import api_get, api_post
from test_playbooks import playbook  # noqa: F401  pylint: disable=unused-import
from test_test_comment import add_modules

KNOWN = {"first_boot": "bsc#1111", "zypper_up": "poo#2222", "never_fails": "bsc#1111"}


@pytest.fixture
def failing_build(server, api, make_job) -> t.Callable[[], t.Tuple[str, t.Dict[str, int]]]:
    def make() -> t.Tuple[str, t.Dict[str, int]]:
        tag = uuid.uuid4().hex[:8]
        build = "lk-" + tag
        jobs = {}
        for test, result, modules in (("known_a", "failed", [("boot", "passed"), ("first_boot", "failed")]),
                                      ("known_b", "failed", [("zypper_up", "failed")]),
                                      ("unknown", "failed", [("boot", "passed"), ("surprise", "failed")]),
                                      ("earlier", "failed", [("odd", "failed")]),
                                      ("fine", "passed", [("boot", "passed")])):
            # a test name of its own: openQA carries bug comments over within a scenario
            jobs[test] = make_job(BUILD=build, TEST="%s_%s" % (test, tag), _GROUP=server.fixture["group_name"])
            add_modules(server, jobs[test], modules)
            api_post(api, "jobs/%d/set_done" % jobs[test], result=result)
        api_post(api, "jobs/%d/comments" % jobs["earlier"], text="bsc#3333 labelled by a person")
        return build, jobs
    return make


def summary(stdout: str) -> t.List[str]:
    """The summary task's lines about jobs (the debug task prints its msg as a list, one string per line)."""
    return [json.loads(line.strip().rstrip(",")) for line in stdout.splitlines()
            if re.match(r'\s+"(known|labelled|UNKNOWN) ', line)]


def texts(api, job_id: int) -> t.List[str]:
    return [comment["text"] for comment in api_get(api, "jobs/%d/comments" % job_id)]


def test_labels_known_failures_once_and_fails_on_the_rest(api, playbook, failing_build):  # noqa: F811
    build, jobs = failing_build()
    first = playbook("label_known", BUILD=build, KNOWN=KNOWN)
    assert first.rc == 2, first.stdout
    assert first.changed == 1   # the labelling task (a loop counts once in the recap)
    assert texts(api, jobs["known_a"]) == ["bsc#1111: known failure of first_boot, never_fails (label_known)"]
    assert texts(api, jobs["known_b"]) == ["poo#2222: known failure of zypper_up (label_known)"]
    assert texts(api, jobs["unknown"]) == [] and texts(api, jobs["fine"]) == []
    assert texts(api, jobs["earlier"]) == ["bsc#3333 labelled by a person"]
    assert "unknown failures in build %s: %d (first failed modules: surprise)" % (build, jobs["unknown"]) \
        in first.stdout
    assert "labelled job %d (x86_64): failed in odd -> bsc#3333" % jobs["earlier"] in first.stdout
    assert sorted(summary(first.stdout)) == sorted([  # one line each, never run together
        "known    job %d (x86_64): failed in first_boot -> bsc#1111" % jobs["known_a"],
        "known    job %d (x86_64): failed in zypper_up -> poo#2222" % jobs["known_b"],
        "UNKNOWN  job %d (x86_64): failed in surprise" % jobs["unknown"],
        "labelled job %d (x86_64): failed in odd -> bsc#3333" % jobs["earlier"]])
    again = playbook("label_known", BUILD=build, KNOWN=KNOWN)
    assert again.rc == 2 and again.changed == 0
    assert len(texts(api, jobs["known_a"])) == 1
    api_post(api, "jobs/%d/comments" % jobs["unknown"], text="boo#4444 looked at it")
    done = playbook("label_known", BUILD=build, KNOWN=KNOWN)
    assert done.rc == 0 and done.changed == 0, done.stdout
    assert "every failure of build %s is labelled" % build in done.stdout


def test_check_mode_predicts_without_posting(api, playbook, failing_build):  # noqa: F811
    build, jobs = failing_build()
    run = playbook("label_known", check=True, BUILD=build, KNOWN=KNOWN)
    assert run.rc == 2 and run.changed == 1, run.stdout
    assert len(re.findall(r'known +job \d+ \(x86_64\)', run.stdout)) == 2, run.stdout
    assert texts(api, jobs["known_a"]) == [] and texts(api, jobs["known_b"]) == []


def test_needs_a_build_and_a_map(playbook):  # noqa: F811
    run = playbook("label_known", BUILD="x", KNOWN=["first_boot"])
    assert run.rc == 2 and "give the build and a map of module to bug" in run.stdout


def test_rules_of_test_labels_format_come_first(api, playbook, failing_build):  # noqa: F811
    """KNOWN is converted to rules of test label's format; RULES adds rules of that format, checked first."""
    build, jobs = failing_build()
    rules = [{"module": "surprise", "label": "poo#5555 a surprise"},
             {"module": "zypper_up", "label": "poo#6666 zypper_up, by the rule that comes first"}]
    run = playbook("label_known", BUILD=build, KNOWN=KNOWN, RULES=rules)
    assert run.rc == 0 and run.changed == 1, run.stdout
    assert texts(api, jobs["unknown"]) == ["poo#5555 a surprise"]
    assert texts(api, jobs["known_b"]) == ["poo#6666 zypper_up, by the rule that comes first"]
    assert texts(api, jobs["known_a"]) == ["bsc#1111: known failure of first_boot, never_fails (label_known)"]
    assert "every failure of build %s is labelled" % build in run.stdout
