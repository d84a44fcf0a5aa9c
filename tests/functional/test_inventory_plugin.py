"""The openqa_workers inventory plugin through ansible-inventory and ansible-playbook, against the real server."""

from __future__ import annotations

import json
import subprocess
import typing as t
import uuid
from pathlib import Path

import pytest
import yaml
from conftest import _ansible_env, api_post
from faultproxy_fixture import KeyRecorder

from ansible_collections.openqa.client.plugins.module_utils import _inventory
from ansible_collections.openqa.client.plugins.module_utils.client import OpenQAClient


@pytest.fixture
def own_machine(api, server) -> t.Iterator[t.Callable[..., str]]:
    """A worker machine of this test's own with one instance per class list; removed afterwards."""
    created: t.List[int] = []

    def register(*class_lists: str, arch: str = "x86_64") -> str:
        host = "inv-%s" % uuid.uuid4().hex[:10]
        for instance, classes in enumerate(class_lists, start=1):
            created.append(api_post(api, "workers", host=host, instance=instance, cpu_arch=arch, mem_max=2048,
                                    worker_class=classes, websocket_api_version=1)["id"])
        return host

    yield register
    if created:
        # the server deletes only offline workers; all are marked first so one failed delete leaves none alive
        server.sql("UPDATE workers SET t_seen=now() - interval '1 day' WHERE id IN (%s)"
                   % ", ".join(map(str, created)))
    answers = [api.delete(api.base + "workers/%d" % worker_id) for worker_id in created]
    for answer in answers:
        answer.raise_for_status()


@pytest.fixture
def inventory(server, tmp_path: Path) -> t.Callable[..., subprocess.CompletedProcess]:
    """Write NAME.openqa_workers.yml with the given options and run ansible-inventory on it."""

    def run(*args: str, name: str = "test", env: t.Optional[dict] = None,
            **options: t.Any) -> subprocess.CompletedProcess:
        config = dict({"plugin": "openqa.client.openqa_workers", "host": server.url}, **options)
        path = tmp_path / (name + ".openqa_workers.yml")
        path.write_text(yaml.safe_dump(config))
        extra = dict({"ANSIBLE_INVENTORY_UNPARSED_FAILED": "1", "OPENQA_CONFIG": str(tmp_path)}, **(env or {}))
        proc = subprocess.run(["ansible-inventory", "-i", str(path), *args], capture_output=True, text=True,
                              env=_ansible_env(extra), check=False, timeout=120, cwd=tmp_path)
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc

    return run


def _plain(value: dict) -> t.Any:
    """ansible-inventory marks strings from an inventory source as unsafe: {"__ansible_unsafe": "text"}."""
    return value["__ansible_unsafe"] if set(value) == {"__ansible_unsafe"} else value


def listing(proc: subprocess.CompletedProcess) -> dict:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout, object_hook=_plain)


def members(data: dict, group: str) -> t.List[str]:
    return data.get(group, {}).get("hosts", [])


def test_graph_groups_the_fixture_worker_by_class_status_and_arch(server, inventory):
    proc = inventory("--graph", **server.creds())
    assert proc.returncode == 0, proc.stderr
    graph = proc.stdout
    for group in ("@openqa_workers:", "@openqa_class_qemu_x86_64:", "@openqa_class_qemu_i686:",
                  "@openqa_class_qemu_aarch64:", "@openqa_arch_x86_64:", "@openqa_arch_aarch64:"):
        assert group in graph
    section = graph.split("@openqa_class_qemu_x86_64:")[1].split("@")[0]
    assert "fixture-worker" in section


def test_one_host_per_machine_with_its_instances(server, inventory, own_machine):
    host = own_machine("inv_a,inv_b", "inv_c")
    data = listing(inventory("--list"))
    variables = data["_meta"]["hostvars"][host]
    instances = variables["openqa_worker_instances"]
    assert [item["instance"] for item in instances] == [1, 2]
    assert instances[0]["worker_class"] == ["inv_a", "inv_b"] and instances[1]["worker_class"] == ["inv_c"]
    assert all(item["status"] == "idle" and item["job_id"] is None and item["arch"] == "x86_64"
               and item["properties"]["MEM_MAX"] == "2048" for item in instances)
    assert variables["openqa_worker_classes"] == ["inv_a", "inv_b", "inv_c"]
    assert variables["openqa_server"] == server.url
    for group in ("openqa_class_inv_a", "openqa_class_inv_b", "openqa_class_inv_c", "openqa_status_idle"):
        assert host in members(data, group)
    # the instances are folded into one inventory host, not one per instance
    assert [name for name in data["_meta"]["hostvars"] if name.startswith(host)] == [host]


def test_running_instance_has_its_job_and_status_group(server, inventory, own_machine, make_job):
    host = own_machine("inv_run")
    worker_id = [w for w in OpenQAClient(server.url).get("workers")["workers"] if w["host"] == host][0]["id"]
    job_id = make_job()
    server.sql("UPDATE jobs SET state='running', assigned_worker_id=%d, t_started=now() WHERE id=%d; "
               "UPDATE workers SET job_id=%d WHERE id=%d" % (worker_id, job_id, job_id, worker_id))
    try:
        data = listing(inventory("--list"))
    finally:
        server.sql("UPDATE jobs SET state='cancelled', result='user_cancelled', t_finished=now() WHERE id=%d; "
                   "UPDATE workers SET job_id=NULL WHERE id=%d" % (job_id, worker_id))
    variables = data["_meta"]["hostvars"][host]
    assert variables["openqa_worker_instances"][0]["job_id"] == job_id
    assert variables["openqa_worker_jobs"] == [job_id]
    assert host in members(data, "openqa_status_running")


def test_constructed_options(server, inventory, own_machine):
    host = own_machine("inv_k1,inv_k2")
    data = listing(inventory(
        "--list", strict=True,
        compose={"busy": "openqa_worker_jobs | length", "first_class": "openqa_worker_classes[0]"},
        groups={"inv_all_idle": "openqa_worker_statuses == ['idle'] and 'inv_k1' in openqa_worker_classes"},
        keyed_groups=[{"key": "openqa_worker_classes", "prefix": "cls"}]))
    variables = data["_meta"]["hostvars"][host]
    assert variables["busy"] == 0 and variables["first_class"] == "inv_k1"
    assert host in members(data, "inv_all_idle")
    assert host in members(data, "cls_inv_k1") and host in members(data, "cls_inv_k2")


def test_strict_reports_a_broken_expression(inventory):
    proc = inventory("--list", strict=True, compose={"bad": "no_such_variable + 1"})
    assert proc.returncode != 0
    assert "no_such_variable" in proc.stderr


def test_cache_serves_the_listing_until_flushed(server, inventory, own_machine, tmp_path):
    options = dict(cache=True, cache_plugin="ansible.builtin.jsonfile", cache_connection=str(tmp_path / "cache"),
                   cache_timeout=3600)
    first = own_machine("inv_cache")
    assert first in listing(inventory("--list", **options))["_meta"]["hostvars"]
    second = own_machine("inv_cache")
    cached = listing(inventory("--list", **options))["_meta"]["hostvars"]
    assert first in cached and second not in cached
    flushed = listing(inventory("--list", "--flush-cache", **options))["_meta"]["hostvars"]
    assert second in flushed


def test_secrets_never_in_the_output_nor_the_cache(server, inventory, tmp_path):
    secret = server.keys["admin"]["secret"]
    cache = tmp_path / "cache"
    from_options = inventory("--list", **server.creds(), cache=True, cache_plugin="ansible.builtin.jsonfile",
                             cache_connection=str(cache))
    from_env = inventory("--list", "-vvv", env={"OPENQA_API_KEY": server.keys["admin"]["key"],
                                                "OPENQA_API_SECRET": secret, "OPENQA_HOST": server.url})
    (tmp_path / "client.conf").write_text("[%s]\nkey = %s\nsecret = %s\n"
                                          % (server.url, server.keys["admin"]["key"], secret))
    from_conf = inventory("--graph", "-vvv")
    for proc in (from_options, from_env, from_conf):
        assert proc.returncode == 0, proc.stderr
        assert secret not in proc.stdout + proc.stderr
    assert "fixture-worker" in from_conf.stdout
    assert all(secret not in path.read_text() for path in cache.iterdir())


def test_an_inventory_source_gets_the_environments_credentials_only_for_openqa_hosts_server(server, inventory,
                                                                                         tmp_path):
    """Issue 24 (High): the credentials belong to one instance, an inventory source names its own."""
    (tmp_path / "client.conf").write_text("")  # the machine's client.conf has a [127.0.0.1] section
    env = {"OPENQA_API_KEY": server.keys["admin"]["key"], "OPENQA_API_SECRET": server.keys["admin"]["secret"]}
    with KeyRecorder(server.url) as other:
        for named in ("", server.url):
            listing(inventory("--list", host=other.url, env=dict(env, OPENQA_HOST=named)))
        assert other.keys and set(other.keys) == {None}
        other.keys.clear()
        listing(inventory("--list", host=other.url, env=dict(env, OPENQA_HOST=other.url)))
        assert other.keys and set(other.keys) == {server.keys["admin"]["key"]}


def test_bad_credentials_and_unreachable_server_fail_with_the_envelope_message(server, inventory):
    half = inventory("--list", api_key=server.keys["admin"]["key"])
    assert half.returncode != 0 and "api_secret is missing" in half.stderr
    down = inventory("--list", host="http://127.0.0.1:9", retries=0)
    assert down.returncode != 0 and "cannot reach http://127.0.0.1:9" in down.stderr


def test_one_request_for_a_listing(server):
    client = OpenQAClient(server.url)
    workers = _inventory.list_workers(client)
    assert client.request_count == 1
    assert {1, 2} <= {w["id"] for w in workers}


def test_a_server_ignoring_offset_still_gives_every_worker(server):
    every = [w["id"] for w in _inventory.list_workers(OpenQAClient(server.url))]
    client = OpenQAClient(server.url)
    # page 1 full, page 2 repeats it (4.6 ignores offset), then one request for everything
    assert [w["id"] for w in _inventory.list_workers(client, page_size=1)] == every
    assert client.request_count == 3


PLAYBOOK = """
- name: Every qemu_x86_64 worker machine
  hosts: openqa_class_qemu_x86_64
  connection: local
  gather_facts: false
  tasks:
    - name: Show the machine's x86_64 instances
      ansible.builtin.debug:
        msg: "{{ inventory_hostname }} instances {{ openqa_worker_instances | map(attribute='instance') | join(',') }}"
"""


def test_playbook_targets_a_class_group(server, tmp_path):
    inventory_file = tmp_path / "farm.openqa_workers.yml"
    inventory_file.write_text(yaml.safe_dump(dict(plugin="openqa.client.openqa_workers", host=server.url,
                                                  **server.creds())))
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAYBOOK)
    proc = subprocess.run(["ansible-playbook", "-i", str(inventory_file), str(playbook)], capture_output=True,
                          text=True, env=_ansible_env({}), check=False, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "fixture-worker instances 1,2" in proc.stdout
    assert server.keys["admin"]["secret"] not in proc.stdout + proc.stderr
