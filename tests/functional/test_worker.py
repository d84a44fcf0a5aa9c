"""worker search, info and status against the real server, as CLI and as module."""

from __future__ import annotations

import typing as t
import uuid

import pytest
from conftest import api_get, api_post

from ansible_collections.openqa.client.plugins.module_utils import _workers
from ansible_collections.openqa.client.plugins.module_utils.client import OpenQAClient


@pytest.fixture
def own_worker(api, server) -> t.Callable[..., dict]:
    """Register a worker of this test's own (unique host and classes), so fixture workers stay untouched."""
    created = []

    def register(classes: str = "", instance: int = 1) -> dict:
        tag = uuid.uuid4().hex[:10]
        host = "wg-%s" % tag
        worker_class = classes or "wgclass_a_%s,wgclass_b_%s" % (tag, tag)
        worker_id = api_post(api, "workers", host=host, instance=instance, cpu_arch="x86_64", mem_max=2048,
                             worker_class=worker_class, websocket_api_version=1)["id"]
        created.append(worker_id)
        return {"id": worker_id, "host": host, "instance": instance, "classes": worker_class.split(",")}

    yield register
    for worker_id in created:
        # the server deletes only offline workers without unfinished jobs
        server.sql("UPDATE jobs SET state='cancelled', result='user_cancelled', t_finished=now() "
                   "WHERE assigned_worker_id=%d AND t_finished IS NULL; UPDATE workers SET job_id=NULL, "
                   "t_seen=now() - interval '1 day' WHERE id=%d" % (worker_id, worker_id))
        api.delete(api.base + "workers/%d" % worker_id).raise_for_status()


def make_running(server, worker_id: int, job_id: int) -> None:
    server.sql("UPDATE jobs SET state='running', assigned_worker_id=%d, t_started=now() WHERE id=%d; "
               "UPDATE workers SET job_id=%d WHERE id=%d" % (worker_id, job_id, job_id, worker_id))


def ids(run) -> list:
    return [worker["id"] for worker in run.returns]


# ------------------------------------------------------------------------------------------- search

@pytest.mark.parametrize("worker_id", [1, 2])
def test_fixture_worker_found_by_host_instance_and_each_class(server, ctl, api, worker_id):
    worker_id = server.fixture["workers"][str(worker_id)]
    expected = api_get(api, "workers/%d" % worker_id)["worker"]
    by_host = ctl("worker", "search", "--worker-host", expected["host"])
    assert by_host.status == 0 and worker_id in ids(by_host)
    assert all(w["host"] == expected["host"] for w in by_host.returns)
    by_instance = ctl("worker", "search", "--instance", str(expected["instance"]))
    assert worker_id in ids(by_instance) and all(w["instance"] == expected["instance"] for w in by_instance.returns)
    exact = ctl("worker", "search", "--worker-host", expected["host"], "--instance", str(expected["instance"]))
    assert ids(exact) == [worker_id]
    for worker_class in expected["properties"]["WORKER_CLASS"].split(","):
        by_class = ctl("worker", "search", "--property", "WORKER_CLASS=" + worker_class)
        assert worker_id in ids(by_class), worker_class


def test_search_returns_the_proposals_worker_objects(ctl, own_worker):
    worker = own_worker()
    run = ctl("worker", "search", "--worker-host", worker["host"].upper())
    assert run.rc == 0 and len(run.returns) == 1
    found = run.returns[0]
    assert {"alive", "connected", "host", "id", "instance", "properties", "status", "websocket"} <= set(found)
    assert (found["id"], found["host"], found["instance"], found["status"]) == (
        worker["id"], worker["host"], 1, "idle")
    assert found["properties"]["WORKER_CLASS"] == ",".join(worker["classes"])


def test_class_matches_one_member_not_a_substring(ctl, own_worker):
    worker = own_worker()
    first, second = worker["classes"]
    assert ids(ctl("worker", "search", "--property", "WORKER_CLASS=" + second)) == [worker["id"]]
    both = ctl("worker", "search", "--property", "WORKER_CLASS=" + first, "--property", "worker_class=" + second)
    assert ids(both) == [worker["id"]]
    assert ids(ctl("worker", "search", "--property", "WORKER_CLASS=" + first[:-1])) == []
    assert ids(ctl("worker", "search", "--property", "WORKER_CLASS=" + first,
                   "--property", "CPU_ARCH=aarch64")) == []


def test_alive_and_status_filters(server, ctl, own_worker):
    alive, dead, broken = own_worker(), own_worker(), own_worker()
    server.sql("UPDATE workers SET t_seen = now() - interval '2 hours' WHERE id=%d" % dead["id"])
    server.sql("UPDATE workers SET error='qemu is missing' WHERE id=%d" % broken["id"])
    mine = {alive["id"], dead["id"], broken["id"]}

    def found(*args: str) -> set:
        return set(ids(ctl("worker", "search", *args))) & mine

    assert found("--alive") == {alive["id"], broken["id"]}
    assert found("--no-alive") == {dead["id"]}
    assert found("--no-connected") == {dead["id"]}
    assert found("--status", "dead") == {dead["id"]}
    assert found("--status", "broken") == {broken["id"]}
    assert found("--status", "idle", "--alive") == {alive["id"]}


def test_search_is_one_request(server, own_worker):
    worker = own_worker()
    client = OpenQAClient(server.url)
    params = _workers.ENTRY.prepare(_workers.ENTRY.action("search"),
                                    {"property": ["WORKER_CLASS=" + worker["classes"][0]]})
    result = _workers.search(client, params)
    assert [w["id"] for w in result.returns] == [worker["id"]]
    assert client.request_count == 1


def test_malformed_property_is_invalid_input(ctl, module):
    cli = ctl("worker", "search", "--property", "WORKER_CLASS")
    mod = module("worker", {"action": "search", "property": ["WORKER_CLASS"]})
    assert cli.rc == cli.status == 4 and "KEY=VAL" in cli.message and "returns" not in cli.envelope
    assert mod.rc != 0 and mod.status == 4 and mod.result["msg"] == cli.message


# --------------------------------------------------------------------------------------------- info

def test_info_display_returns_exactly_the_asked_fields(ctl, own_worker):
    worker = own_worker(instance=3)
    run = ctl("worker", "info", "--id", str(worker["id"]), "--display", "host", "--display", "instance")
    assert run.envelope == {"invocation": {"status": 0, "message": "ok"},
                            "returns": {"host": worker["host"], "instance": 3}}
    mixed = ctl("worker", "info", "--id", str(worker["id"]), "--display", "HOST", "--display", "worker_class",
                "--display", "Status")
    assert mixed.returns == {"host": worker["host"], "WORKER_CLASS": ",".join(worker["classes"]), "status": "idle"}


def test_info_without_display_is_the_whole_worker(ctl, own_worker):
    worker = own_worker()
    run = ctl("worker", "info", "--id", str(worker["id"]))
    assert run.returns["id"] == worker["id"] and run.returns["properties"]["MEM_MAX"] == "2048"


def test_unknown_field_lists_valid_ones(ctl, own_worker):
    worker = own_worker()
    run = ctl("worker", "info", "--id", str(worker["id"]), "--display", "host", "--display", "colour")
    assert run.rc == run.status == 4
    assert "colour" in run.message and "WORKER_CLASS" in run.message and "instance" in run.message


# ------------------------------------------------------------------------------------------- status

def test_status_of_idle_and_running_worker(server, ctl, module, own_worker, make_job):
    worker = own_worker()
    idle = ctl("worker", "status", "--id", str(worker["id"]))
    assert idle.envelope == {"invocation": {"status": 0, "message": "ok"},
                             "returns": {"status": "idle", "jobid": None}}
    job_id = make_job()
    make_running(server, worker["id"], job_id)
    running = ctl("worker", "status", "--id", str(worker["id"]))
    assert running.returns == {"status": "running", "jobid": job_id}
    mod = module("worker", {"action": "status", "id": worker["id"]})
    assert (mod.status, mod.returns) == (0, running.returns)
    assert worker["id"] in ids(ctl("worker", "search", "--status", "running"))
    shown = ctl("worker", "info", "--id", str(worker["id"]), "--display", "jobid", "--display", "status")
    assert shown.returns == {"jobid": job_id, "status": "running"}


def test_jobid_of_an_idle_worker_is_null(ctl, own_worker):
    worker = own_worker()
    assert ctl("worker", "info", "--id", str(worker["id"]), "--display", "jobid").returns == {"jobid": None}


@pytest.mark.parametrize("action", ["status", "info"])
def test_unknown_worker_is_status_2(ctl, action):
    run = ctl("worker", action, "--id", "987654321")
    assert run.rc == run.status == 2
    assert run.message.startswith("unknown worker") and "987654321" in run.message


# ------------------------------------------------------------------------------------------- parity

def test_cli_and_module_agree_on_every_action(ctl, module, own_worker):
    worker = own_worker()
    wid = worker["id"]
    cases = [
        (["search", "--worker-host", worker["host"], "--property", "WORKER_CLASS=" + worker["classes"][1],
          "--alive", "--status", "idle"],
         {"action": "search", "worker_host": worker["host"], "property": ["WORKER_CLASS=" + worker["classes"][1]],
          "alive": True, "status": "idle"}),
        (["info", "--id", str(wid)], {"action": "info", "id": wid}),
        (["info", "--id", str(wid), "--display", "host", "--display", "cpu_arch"],
         {"action": "info", "id": wid, "display": ["host", "cpu_arch"]}),
        (["info", "--id", str(wid), "--display", "nope"], {"action": "info", "id": wid, "display": ["nope"]}),
        (["status", "--id", str(wid)], {"action": "status", "id": wid}),
        (["status", "--id", "987654321"], {"action": "status", "id": 987654321}),
        (["search", "--property", "=x"], {"action": "search", "property": ["=x"]}),
    ]
    for cli_args, module_args in cases:
        cli = ctl("worker", *cli_args)
        mod = module("worker", module_args)
        assert (mod.status, mod.result["msg"]) == (cli.status, cli.message), cli_args
        assert mod.returns == cli.returns, cli_args
        assert mod.result["changed"] is False
        assert (mod.rc == 0) == (cli.rc == 0), cli_args


@pytest.mark.parametrize("url", ["http://127.0.0.1:9526", "https://openqa.example.com/"])
def test_search_by_a_host_that_is_a_url_is_status_4_pointing_at_from(server, ctl, module, url):
    """worker info --host URL means the server; in worker search --host filters workers (issue 25, major 4)."""
    cli = ctl("worker", "search", "--host", url)
    assert (cli.rc, cli.message) == (4, "the worker host filter %r is a URL, not a worker machine's name; the "
                                        "openQA server is given as --from" % url)
    mod = module("worker", {"action": "search", "worker_host": url})
    assert mod.status == 4 and mod.result["msg"].endswith("the openQA server is given as host")
    assert ctl("worker", "search", "--host", "fixture-worker").rc == 0
