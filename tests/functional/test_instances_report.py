"""playbooks/instances_report.yml against two real openQA instances: 4.6 on 9526 and master on 9600."""

from __future__ import annotations

import json
import os
import subprocess
import typing as t
from pathlib import Path

import pytest
import requests
import yaml
from conftest import ROOT, _ansible_env
from faultproxy_fixture import KeyRecorder

# It creates jobs on the 4.6 server as well: in the master pass (which scripts/test runs beside the 4.6 steps)
# that would race the 4.6 integration targets, so it runs in the 4.6 pass only.
pytestmark = pytest.mark.server_version("4.6")

MASTER_STATE = Path(os.environ.get("OPENQA_MASTER_STATE", ROOT / "tests" / "output" / "openqa-server-master.json"))


@pytest.fixture(scope="module")
def master() -> dict:
    if not MASTER_STATE.is_file():
        pytest.skip("no openQA master state file %s (tests/openqa-server --version master)" % MASTER_STATE)
    state = json.loads(MASTER_STATE.read_text())
    try:
        requests.get(state["url"] + "/api/v1/jobs", params={"limit": 1}, timeout=5).raise_for_status()
    except requests.RequestException as error:
        pytest.skip("openQA master at %s is not answering: %s" % (state["url"], error))
    return state


def run_report(tmp_path: Path, hosts: dict, *extra: str, env: t.Optional[dict] = None) -> subprocess.CompletedProcess:
    inventory = tmp_path / "instances.yml"
    inventory.write_text(yaml.safe_dump({"openqa_instances": {"hosts": hosts}}))
    proc = subprocess.run(["ansible-playbook", "-i", str(inventory), str(ROOT / "playbooks" / "instances_report.yml"),
                           "--forks", "3", *extra], capture_output=True, text=True,
                          env=_ansible_env(dict({"OPENQA_HOST": "", "OPENQA_CONFIG": str(tmp_path)}, **(env or {}))),
                          check=False,
                          timeout=300)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def summary(proc: subprocess.CompletedProcess) -> t.List[str]:
    block = proc.stdout.split("TASK [Show one summary of every instance]")[1]
    return json.loads("{" + block.split("=> {", 1)[1].split("\n}\n", 1)[0] + "}")["msg"]


def test_two_instances_each_with_its_own_credentials(tmp_path, server, master):
    with KeyRecorder(server.url) as old, KeyRecorder(master["url"]) as new:
        hosts = {
            "openqa46": {"openqa_host": old.url, "openqa_api_key": server.keys["operator"]["key"],
                         "openqa_api_secret": server.keys["operator"]["secret"]},
            "master": {"openqa_host": new.url, "openqa_api_key": master["keys"]["user"]["key"],
                       "openqa_api_secret": master["keys"]["user"]["secret"]},
        }
        proc = run_report(tmp_path, hosts, "-e", json.dumps({"BUILD": server.fixture["build"],
                                                             "GROUP": server.fixture["group_name"]}))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = summary(proc)
    assert [line.split(" ")[0] for line in lines] == ["master", "openqa46"]
    for line, url in zip(lines, (new.url, old.url), strict=True):
        assert line.split(": ", 1)[0].endswith("(%s)" % url)
        assert "workers" in line and "; build %s: 8 jobs" % server.fixture["build"] in line
        assert "1 passed" in line and "1 softfailed" in line
    # each instance saw only its own key, on every request
    assert old.keys and set(old.keys) == {server.keys["operator"]["key"]}
    assert new.keys and set(new.keys) == {master["keys"]["user"]["key"]}
    for secret in (server.keys["operator"]["secret"], master["keys"]["user"]["secret"]):
        assert secret not in proc.stdout + proc.stderr
    assert "every instance was read" in proc.stdout


def _admin_env(server, tmp_path: Path) -> dict:
    """The admin key in the environment, and a client.conf of no sections (the machine's has [127.0.0.1])."""
    (tmp_path / "client.conf").write_text("")
    return {"OPENQA_API_KEY": server.keys["admin"]["key"], "OPENQA_API_SECRET": server.keys["admin"]["secret"]}


def test_the_environments_credentials_reach_no_inventory_instance_without_openqa_host(tmp_path, server):
    """Issue 24 (High): an instance without a key of its own read with the environment's key."""
    with KeyRecorder(server.url) as own, KeyRecorder(server.url) as bare:
        hosts = {"own": {"openqa_host": own.url, "openqa_api_key": server.keys["operator"]["key"],
                         "openqa_api_secret": server.keys["operator"]["secret"]},
                 "bare": {"openqa_host": bare.url}}
        proc = run_report(tmp_path, hosts, "-e", "BUILD=%s" % server.fixture["build"], env=_admin_env(server, tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert own.keys and set(own.keys) == {server.keys["operator"]["key"]}
    assert bare.keys and set(bare.keys) == {None}  # read anonymously, nothing signed
    assert "OPENQA_API_KEY/OPENQA_API_SECRET were not sent to %s" % bare.url in proc.stdout + proc.stderr
    assert server.keys["admin"]["secret"] not in proc.stdout + proc.stderr


def test_the_environments_credentials_reach_only_the_instance_openqa_host_names(tmp_path, server):
    with KeyRecorder(server.url) as named, KeyRecorder(server.url) as other:
        hosts = {"named": {"openqa_host": named.url}, "other": {"openqa_host": other.url}}
        proc = run_report(tmp_path, hosts, env=dict(_admin_env(server, tmp_path), OPENQA_HOST=named.url))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert named.keys and set(named.keys) == {server.keys["admin"]["key"]}
    assert other.keys and set(other.keys) == {None}


def test_an_unreadable_instance_is_reported_and_fails_the_play_after_the_summary(tmp_path, server):
    hosts = {"good": {"openqa_host": server.url},
             "down": {"openqa_host": "http://127.0.0.1:9", "openqa_retries": 0},
             "nobuild": {"openqa_host": server.url, "openqa_build": "no-such-build"}}
    proc = run_report(tmp_path, hosts, "-e", "BUILD=%s" % server.fixture["build"])
    assert proc.returncode == 2
    lines = summary(proc)
    assert lines[0] == "down (http://127.0.0.1:9): NOT READ: unknown remote host: cannot reach " \
                       "http://127.0.0.1:9 (connection refused)"
    assert lines[1].startswith("good (%s): " % server.url) and "build %s: 8 jobs" % server.fixture["build"] in lines[1]
    assert lines[2].startswith("nobuild (%s): " % server.url) and "build no-such-build: " in lines[2]
    assert "not read: down" in proc.stdout and "nobuild" not in proc.stdout.split("not read:")[1].splitlines()[0]


def test_workers_only_without_a_build(tmp_path, server):
    proc = run_report(tmp_path, {"only": {"openqa_host": server.url}})
    assert proc.returncode == 0, proc.stdout
    line = summary(proc)[0]
    assert line.startswith("only (%s): " % server.url) and "workers" in line and "build" not in line


def test_the_summary_never_shows_the_password_in_a_host_url(tmp_path, server):
    """Issue 24 (Low): the summary printed http://user:PASSWORD@host."""
    secret_url = server.url.replace("://", "://reporter:PW-in-url-7@")
    proc = run_report(tmp_path, {"proxied": {"openqa_host": secret_url},
                                 "broken": {"openqa_host": "http://reporter:PW-in-url-7@host:port"}})
    assert proc.returncode == 2, proc.stdout + proc.stderr  # the broken one is not read
    assert "PW-in-url-7" not in proc.stdout + proc.stderr
    lines = summary(proc)
    assert lines[0].startswith("broken (no valid openqa_host): NOT READ: ")
    assert lines[1].startswith("proxied (%s): " % server.url.replace("://", "://***@")) and "workers" in lines[1]
