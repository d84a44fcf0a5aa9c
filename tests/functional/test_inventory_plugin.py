"""The openqa_workers inventory plugin through ansible-inventory and ansible-playbook, against the real server."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import typing as t
import uuid
from pathlib import Path

import pytest
import yaml
from conftest import _ansible_env, api_post
from faultproxy_fixture import KeyRecorder

from ansible_collections.openqa.client.plugins.module_utils import _inventory
from ansible_collections.openqa.client.plugins.module_utils.client import OpenQAClient
from ansible_collections.openqa.client.plugins.module_utils.envelope import ServerError


@pytest.fixture
def own_machine(api, server) -> t.Iterator[t.Callable[..., str]]:
    """A worker machine of this test's own with one instance per class list; removed afterwards."""
    created: t.List[int] = []

    def register(*class_lists: str, arch: str = "x86_64", host: t.Optional[str] = None) -> str:
        # a given host name may be shared with other tests' workers: its instance numbers are this test's own
        first = 1 if host is None else 1000 + uuid.uuid4().int % 100000
        host = host or "inv-%s" % uuid.uuid4().hex[:10]
        for instance, classes in enumerate(class_lists, start=first):
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
    """Write NAME.openqa_workers.yml with the given options (None: left out) and run ansible-inventory on it."""

    def run(*args: str, name: str = "test", env: t.Optional[dict] = None,
            **options: t.Any) -> subprocess.CompletedProcess:
        config = dict({"plugin": "openqa.client.openqa_workers", "host": server.url}, **options)
        config = {key: value for key, value in config.items() if value is not None}
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


def test_an_inventory_source_gets_the_environments_credentials_only_for_openqa_hosts_server(
        server, inventory, tmp_path):
    """Issue 24 (High): the credentials belong to one instance, an inventory source names its own."""
    (tmp_path / "client.conf").write_text("")  # the machine's client.conf has a [127.0.0.1] section
    env = {"OPENQA_API_KEY": server.keys["admin"]["key"], "OPENQA_API_SECRET": server.keys["admin"]["secret"]}
    with KeyRecorder(server.url) as other:
        for named in ("", server.url):
            proc = inventory("--list", host=other.url, env=dict(env, OPENQA_HOST=named))
            listing(proc)
            assert "OPENQA_API_KEY/OPENQA_API_SECRET were not sent to %s" % other.url in " ".join(proc.stderr.split())
        assert other.keys and set(other.keys) == {None}
        other.keys.clear()
        listing(inventory("--list", host=other.url, env=dict(env, OPENQA_HOST=other.url)))
        assert other.keys and set(other.keys) == {server.keys["admin"]["key"]}


def test_bad_credentials_and_unreachable_server_fail_with_the_envelope_message(server, inventory):
    half = inventory("--list", api_key=server.keys["admin"]["key"])
    assert half.returncode != 0 and "api_secret is missing" in half.stderr
    down = inventory("--list", host="http://127.0.0.1:9", retries=0)
    assert down.returncode != 0 and "cannot reach http://127.0.0.1:9" in down.stderr


ANSIBLES_DEFAULT = {"ANSIBLE_INVENTORY_UNPARSED_FAILED": "false"}  # a source that fails is only a warning


def test_a_typo_is_an_error_naming_the_option_not_the_default_host(server, inventory):
    lenient = inventory("--graph", host=None, hots=server.url, env=ANSIBLES_DEFAULT)
    assert lenient.returncode == 0  # Ansible's choice: it goes on with the implicit localhost
    assert "unknown option 'hots' (did you mean 'host'?)" in lenient.stderr
    assert "http://localhost" not in lenient.stderr  # the plugin never read the default host's workers
    assert "ANSIBLE_INVENTORY_UNPARSED_FAILED=true" in lenient.stderr  # and says how to make it fatal
    fatal = inventory("--graph", host=None, hots=server.url)
    assert fatal.returncode != 0 and "unknown option 'hots'" in fatal.stderr


def test_every_known_option_is_accepted(server, inventory):
    proc = inventory("--graph", strict=True, compose={}, groups={}, keyed_groups=[], host_prefix="",
                     leading_separator=True, use_extra_vars=False, cache=False, validate_certs=True, retries=1,
                     **server.creds())
    assert proc.returncode == 0, proc.stderr


def test_an_unreachable_server_fails_the_play_when_ansible_is_told_to(tmp_path):
    inventory_file = tmp_path / "down.openqa_workers.yml"
    inventory_file.write_text(yaml.safe_dump({"plugin": "openqa.client.openqa_workers",
                                              "host": "http://127.0.0.1:9", "retries": 0}))
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAYBOOK.replace("openqa_class_qemu_x86_64", "all"))

    def play(env: dict) -> subprocess.CompletedProcess:
        return subprocess.run(["ansible-playbook", "-i", str(inventory_file), str(playbook)], capture_output=True,
                              text=True, env=_ansible_env(env), check=False, timeout=120)

    lenient = play(ANSIBLES_DEFAULT)
    assert lenient.returncode == 0 and "cannot reach http://127.0.0.1:9" in lenient.stderr
    assert "ANSIBLE_INVENTORY_UNPARSED_FAILED=true" in lenient.stderr
    fatal = play({"ANSIBLE_INVENTORY_UNPARSED_FAILED": "true"})
    assert fatal.returncode != 0 and "cannot reach http://127.0.0.1:9" in fatal.stderr
    assert "TASK [" not in fatal.stdout


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


# ------------------------------------------------------------------ a server that does not page like openQA (issue 24)

_HOSTILE = Path(__file__).resolve().parents[1] / "hostile_server.py"
_SPEC = importlib.util.spec_from_file_location("hostile_server", _HOSTILE)
hostile_server = importlib.util.module_from_spec(_SPEC)
sys.modules.setdefault("hostile_server", hostile_server)
_SPEC.loader.exec_module(hostile_server)
# the endless list ends after this many pages, so that the unbounded code (which read 413 pages in 30 s) ends too
PAGES_BEFORE_THE_END = 20


def _long_worker_list(request) -> None:
    limit, offset = (int(request.query.get(key, ["0"])[0]) for key in ("limit", "offset"))
    if offset >= PAGES_BEFORE_THE_END * limit:
        return request.json({"workers": []})
    return request.json({"workers": [{"id": offset + index + 1, "host": "w%d" % ((offset + index) // 50000),
                                      "instance": 1} for index in range(limit)]})


def test_a_worker_list_without_end_stops_at_the_bound():
    with hostile_server.HostileServer(_long_worker_list) as fake:
        with pytest.raises(ServerError, match="answered more than 100000 workers in 11 full pages and still no "
                                              "end: it does not page like openQA"):
            _inventory.list_workers(OpenQAClient(fake.url))
        assert len(fake.requests) == 11


@pytest.mark.parametrize("answer", [{"workers": None}, {"workers": [1, 2]}, [], {"workers": [{"id": "x"}]}])
def test_a_worker_list_of_another_shape_is_status_6(answer):
    with hostile_server.HostileServer(lambda request: request.json(answer)) as fake:
        with pytest.raises(ServerError, match="answered workers without a list of workers with integer ids"):
            _inventory.list_workers(OpenQAClient(fake.url))


def test_the_inventory_fails_with_a_clear_error_at_the_bound(inventory):
    with hostile_server.HostileServer(_long_worker_list) as fake:
        proc = inventory("--list", host=fake.url)
    assert proc.returncode != 0 and "Unexpected" not in proc.stderr, proc.stderr
    assert "it does not page like openQA" in proc.stderr


# ------------------------------------------------------------------ worker host names (issue 24)

def test_a_worker_on_localhost_never_shadows_the_controller(server, inventory, own_machine, tmp_path):
    own_machine("inv_local", host="localhost")
    data = listing(inventory("--list"))
    assert "localhost" not in data["_meta"]["hostvars"]
    variables = data["_meta"]["hostvars"]["openqa_worker_localhost"]
    assert variables["openqa_worker_host"] == "localhost" and "ansible_host" not in variables
    assert "openqa_worker_localhost" in members(data, "openqa_class_inv_local")
    assert "localhost" not in members(data, "openqa_workers")
    # Ansible's implicit localhost keeps its local connection: a play on localhost runs without ssh
    source = next(tmp_path.glob("*.openqa_workers.yml"))
    ping = subprocess.run(["ansible", "-i", str(source), "localhost", "-m", "ansible.builtin.ping"],
                          capture_output=True, text=True, env=_ansible_env({}), check=False, timeout=120,
                          cwd=tmp_path)
    assert ping.returncode == 0 and '"ping": "pong"' in ping.stdout, ping.stdout + ping.stderr


def test_host_prefix_namespaces_worker_machines_and_keeps_their_address(inventory, own_machine):
    host = own_machine("inv_prefixed")
    data = listing(inventory("--list", host_prefix="oq_"))
    assert host not in data["_meta"]["hostvars"]
    variables = data["_meta"]["hostvars"]["oq_" + host]
    assert variables["ansible_host"] == host and variables["openqa_worker_host"] == host
    assert "oq_" + host in members(data, "openqa_class_inv_prefixed")
