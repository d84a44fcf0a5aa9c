"""One return shape per action: plain, check mode and --wait give the same type, wait only adds results.

Every action that makes jobs (test restart, test clone, build restart) maps old ids to new ones in every
mode, with null new ids in check mode. Verbs run in-process through runner.execute (the CLI's and the
modules' code path); --wait uses a short timeout, so its status is 8 and the shape is what is checked.
"""

from __future__ import annotations

import typing as t
import uuid

from conftest import api_get

from ansible_collections.openqa.client.cli.openqa_ctl import ENTRIES
from ansible_collections.openqa.client.plugins.module_utils.envelope import Result, Status
from ansible_collections.openqa.client.plugins.module_utils._runner import execute

WAIT = {"wait": True, "timeout": 0.3, "interval": 0.1}
PRODUCT = ["DISTRI=opensuse", "VERSION=Tumbleweed", "FLAVOR=DVD", "ARCH=x86_64"]


def run(server: t.Any, entry: str, action: str, check: bool = False, **options: t.Any) -> Result:
    raw = dict(options, action=action, host=server.url, **server.creds())
    return execute(ENTRIES[entry], raw, check_mode=check)


def unique(prefix: str) -> str:
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


def clone_of(api: t.Any, job_id: int) -> int:
    return api_get(api, "jobs/%d" % job_id)["job"]["clone_id"]


def test_test_restart_has_one_shape(server, api, make_job):
    first, second = make_job(result="failed"), make_job(result="failed")
    check = run(server, "test", "restart", check=True, id=[first])
    assert (check.status, check.returns) == (Status.OK, {"ids": [], "clones": {str(first): None}})
    plain = run(server, "test", "restart", id=[first])
    assert plain.returns == {"ids": [clone_of(api, first)], "clones": {str(first): clone_of(api, first)}}
    waited = run(server, "test", "restart", id=[second], **WAIT)
    new = clone_of(api, second)
    assert waited.status == Status.TIMEOUT
    assert waited.returns == {"ids": [new], "clones": {str(second): new}, "results": {str(new): "scheduled"}}
    rerun = run(server, "test", "restart", id=[first])
    assert (rerun.changed, rerun.returns) == (False, plain.returns)


def test_test_clone_has_one_shape(server, api, make_job):
    source = make_job(result="passed")
    build = unique("shape-clone")
    options = {"id": [source], "vars": ["BUILD=" + build], "skip_deps": True}
    check = run(server, "test", "clone", check=True, **options)
    # check mode adds what it would post, and the equivalent openqa-clone-job command lines, to the one shape
    extras = ("settings", "command", "export_command")
    shape = {k: v for k, v in check.returns.items() if k not in extras}
    assert shape == {"id": None, "ids": [], "clones": {str(source): None}}
    assert set(check.returns["settings"]) == {str(source)}
    assert check.returns["command"].startswith("openqa-clone-job ")
    plain = run(server, "test", "clone", **options)
    new = plain.returns["id"]
    assert plain.returns == {"id": new, "ids": [new], "clones": {str(source): new}}
    again = run(server, "test", "clone", **options)
    assert (again.changed, again.returns) == (False, plain.returns)
    waited = run(server, "test", "clone", force=True, **options, **WAIT)
    other = waited.returns["id"]
    assert waited.returns == {"id": other, "ids": [other], "clones": {str(source): other},
                              "results": {str(other): "scheduled"}}


def test_test_stop_is_a_list_of_ids_in_every_mode(server, make_job):
    job_id = make_job()
    assert run(server, "test", "stop", check=True, id=[job_id]).returns == [job_id]
    assert run(server, "test", "stop", id=[job_id]).returns == [job_id]
    assert run(server, "test", "stop", id=[job_id]).returns == []


def test_build_restart_has_one_shape_and_says_when_the_build_is_unknown(server, api, make_job):
    build = unique("shape-brestart")
    job_id = make_job(result="failed", BUILD=build)
    check = run(server, "build", "restart", check=True, id=build)
    assert check.returns == {"ids": [], "clones": {str(job_id): None}, "found": True}
    plain = run(server, "build", "restart", id=build)
    new = clone_of(api, job_id)
    assert plain.returns == {"ids": [new], "clones": {str(job_id): new}, "found": True}
    assert run(server, "build", "restart", id=build).returns == {"ids": [], "clones": {}, "found": True}
    missing = run(server, "build", "restart", id=unique("no-such-build"))
    assert (missing.status, missing.changed, missing.returns) == (Status.OK, False,
                                                                  {"ids": [], "clones": {}, "found": False})


def test_build_new_has_one_shape(server, api):
    build = unique("shape-new")
    options = {"vars": PRODUCT + ["BUILD=" + build]}
    check = run(server, "build", "new", check=True, **options)
    assert check.returns == {"ids": [], "scheduled_product_id": None}
    waited = run(server, "build", "new", **options, **WAIT)
    ids = sorted(job["id"] for job in api_get(api, "jobs", build=build)["jobs"])
    assert waited.status == Status.TIMEOUT and sorted(waited.returns) == ["ids", "results", "scheduled_product_id"]
    assert waited.returns["ids"] == ids and waited.returns["results"] == {str(i): "scheduled" for i in ids}
    plain = run(server, "build", "new", **options)
    assert (plain.changed, plain.returns) == (False, {"ids": ids, "scheduled_product_id": None})


def test_worker_status_and_info_use_the_same_key_names(server):
    worker_id = server.fixture["workers"]["1"]
    status = run(server, "worker", "status", id=worker_id).returns
    info = run(server, "worker", "info", id=worker_id, display=["status", "jobid"]).returns
    assert sorted(status) == sorted(info) == ["jobid", "status"]
    assert status["status"] == info["status"]
