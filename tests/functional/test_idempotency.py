"""Idempotency and check mode of every mutating action, observed at the fault proxy.

For each: check mode sends no POST/PUT/DELETE (the proxy records every request) and predicts
the first run's ``changed``; the first run changes; the second run is ``changed: false`` and
sends no mutating request either; check mode after it predicts ``changed: false``.
Runs in-process through runner.execute; one action also goes through the module file and one
through ``ansible --check``.
"""

from __future__ import annotations

import typing as t
import uuid

import pytest

from ansible_collections.openqa.client.cli.openqa_ctl import ENTRIES
from ansible_collections.openqa.client.plugins.module_utils.envelope import Result, Status
from ansible_collections.openqa.client.plugins.module_utils._runner import execute

PRODUCT = ["DISTRI=opensuse", "VERSION=Tumbleweed", "FLAVOR=DVD", "ARCH=x86_64"]


def _new_build(make_job: t.Callable[..., int]) -> t.Tuple[str, dict]:
    build = "idem-new-%s" % uuid.uuid4().hex[:10]
    return build, {"vars": PRODUCT + ["BUILD=%s" % build]}


def _failed_job(make_job: t.Callable[..., int]) -> t.Tuple[str, dict]:
    build = "idem-%s" % uuid.uuid4().hex[:10]
    return build, {"id": [make_job(result="failed", BUILD=build)]}


def _pending_job(make_job: t.Callable[..., int]) -> t.Tuple[str, dict]:
    build = "idem-%s" % uuid.uuid4().hex[:10]
    return build, {"id": [make_job(BUILD=build)]}


def _clone(make_job: t.Callable[..., int]) -> t.Tuple[str, dict]:
    build = "idem-%s" % uuid.uuid4().hex[:10]
    return build, {"id": [make_job(result="passed", BUILD=build)], "vars": ["BUILD=%s-clone" % build],
                   "skip_deps": True}


def _stop_by_condition(make_job: t.Callable[..., int]) -> t.Tuple[str, dict]:
    build = "idem-%s" % uuid.uuid4().hex[:10]
    make_job(BUILD=build)
    make_job(BUILD=build, TEST="other")
    return build, {"build": build}


def _failed_build(make_job: t.Callable[..., int]) -> t.Tuple[str, dict]:
    build = "idem-%s" % uuid.uuid4().hex[:10]
    make_job(result="failed", BUILD=build)
    make_job(result="passed", BUILD=build, TEST="other")
    return build, {"id": build}


def _comment(make_job: t.Callable[..., int]) -> t.Tuple[str, dict]:
    build = "idem-%s" % uuid.uuid4().hex[:10]
    return build, {"id": [make_job(result="failed", BUILD=build), make_job(result="failed", BUILD=build)],
                   "text": "bsc#1: %s" % build}


MUTATIONS = {
    "test restart": ("test", "restart", _failed_job),
    "test stop by id": ("test", "stop", _pending_job),
    "test stop by condition": ("test", "stop", _stop_by_condition),
    "test clone": ("test", "clone", _clone),
    "build restart": ("build", "restart", _failed_build),
    "build new": ("build", "new", _new_build),
    "test comment": ("test", "comment", _comment),
}

# Mutating actions whose idempotency and check mode are tested where their own fixtures are:
COVERED_ELSEWHERE = {
    "test download": "test_test_download.py: it writes local files; a rerun fetches nothing (changed false)",
    "api call": "test_api.py: a raw call is as idempotent as the route; check mode sends only GETs",
    "test investigate": "test_test_investigate.py: a rerun finds the investigation (changed false, same ids); "
                        "check mode predicts the clones and the comment and posts nothing",
    "test label": "test_test_label.py: a rerun posts no label again (changed false); check mode predicts "
                  "without posting",
}


def run(proxy_url: str, server: t.Any, entry: str, action: str, options: dict, check: bool) -> Result:
    raw = dict(options, action=action, host=proxy_url, **server.creds("operator"))
    return execute(ENTRIES[entry], raw, check_mode=check)


def test_every_mutating_action_is_covered():
    declared = {"%s %s" % (entry.name, action.name) for entry in ENTRIES.values() for action in entry.actions
                if action.mutating}
    covered = {name.replace(" by id", "").replace(" by condition", "") for name in MUTATIONS}
    assert declared == covered | set(COVERED_ELSEWHERE)


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_check_predicts_first_run_and_second_run_is_unchanged(name, server, proxy, make_job):
    entry, action, setup = MUTATIONS[name]
    _build, options = setup(make_job)
    steps = []
    for check in (True, False, False, True):
        proxy.clear()
        result = run(proxy.url, server, entry, action, options, check)
        assert result.status == Status.OK, (name, check, result.message)
        mutations = proxy.mutations()
        steps.append((check, result.changed, bool(mutations)))
        if check:
            assert mutations == [], (name, mutations)
    assert steps == [(True, True, False), (False, True, True), (False, False, False), (True, False, False)]


def test_module_check_mode_sends_no_mutation(server, proxy, make_job, module_direct):
    job_id = make_job(result="failed")
    args = {"action": "restart", "id": [job_id], "host": proxy.url, **server.creds("operator")}
    predicted = module_direct("test", dict(args), check=True)  # copies: module_direct marks check mode in place
    assert predicted["changed"] is True and proxy.mutations() == []
    assert module_direct("test", dict(args))["changed"] is True and len(proxy.mutations()) == 1
    assert module_direct("test", dict(args))["changed"] is False and len(proxy.mutations()) == 1


def test_ansible_check_mode_sends_no_mutation(server, proxy, make_job, module):
    build = "idem-ansible-%s" % uuid.uuid4().hex[:10]
    run_ = module("build", {"action": "new", "vars": PRODUCT + ["BUILD=%s" % build], "host": proxy.url,
                            **server.creds("operator")}, check=True)
    assert run_.rc == 0 and run_.result["changed"] is True and proxy.mutations() == []
    assert all(record.method == "GET" for record in proxy.requests())
