"""The api_secret never shows: not in the CLI's stdout/stderr, not in a module result, not in
``ansible-playbook -vvvv`` output (normal, check and diff mode), not in ansible's log; and a
secret bound for a non-local plain-http host raises a warning, not a failure.

The keys of the state file have secrets that differ from the keys, so a leak of the secret
cannot hide behind a legitimate echo of the key.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import typing as t
import uuid

import pytest
import yaml

from ansible_collections.openqa.client.cli import openqa_ctl
from ansible_collections.openqa.client.plugins.module_utils._runner import connection_values

ROLES = ("admin", "operator", "user")
MUTATING = ("restart", "stop", "clone", "new")


def every_action(job: int, build: str, worker: int) -> t.List[t.Tuple[str, str, dict]]:
    """One call per action of every entry; mutations aim at this test's own job and build."""
    new_vars = ["DISTRI=opensuse", "VERSION=Tumbleweed", "FLAVOR=DVD", "ARCH=x86_64", "BUILD=%s-new" % build]
    return [
        ("test", "wait", {"id": [job], "timeout": "5", "interval": "0.1"}),  # before restart: no pending clone
        ("build", "wait", {"id": build, "timeout": "5", "interval": "0.1"}),
        ("test", "status", {"id": [job]}),
        ("test", "info", {"id": [job]}),
        ("test", "search", {"build": build}),
        ("test", "restart", {"id": [job]}),
        ("test", "stop", {"id": [job]}),
        ("test", "clone", {"id": [job], "vars": ["BUILD=%s-clone" % build]}),
        ("worker", "search", {"instance": 1}),
        ("worker", "info", {"id": worker}),
        ("worker", "status", {"id": worker}),
        ("group", "search", {"name": "Fixture"}),
        ("group", "info", {"id": 1}),
        ("build", "search", {"groupid": 1, "limit": 3}),
        ("build", "info", {"id": build}),
        ("build", "restart", {"id": build}),
        ("build", "new", {"vars": new_vars}),
    ]


def failing(action: t.Tuple[str, str, dict]) -> t.Tuple[str, str, dict]:
    """The same action made to fail: an unknown object, or a malformed value when it takes no id."""
    entry, name, options = action
    if "id" not in options:
        return entry, name, dict(options, **{"vars" if name == "new" else "limit": "bogus"})
    unknown: t.Any = [987654321] if entry == "test" else 987654 if entry != "build" else "no-such-build"
    return entry, name, dict(options, id=unknown)


def argv_of(entry: str, action: str, options: dict) -> t.List[str]:
    argv = [entry, action]
    for key, value in options.items():
        for item in value if isinstance(value, list) else [value]:
            argv += ["--" + key.replace("_", "-"), str(item)]
    return argv


@pytest.fixture
def own(make_job: t.Callable[..., int]) -> t.Tuple[int, str]:
    build = "secrets-%s" % uuid.uuid4().hex[:10]
    return make_job(result="failed", BUILD=build), build


def secrets_of(server: t.Any) -> t.List[str]:
    return [server.keys[role]["secret"] for role in server.keys]


# ------------------------------------------------------------------ CLI


@pytest.mark.parametrize("role", ROLES)
def test_cli_never_prints_the_secret(role, server, own, capsys, monkeypatch):
    for name in ("OPENQA_API_KEY", "OPENQA_API_SECRET"):
        monkeypatch.delenv(name, raising=False)
    secret = server.keys[role]["secret"]
    job, build = own
    actions = every_action(job, build, int(server.fixture["workers"]["1"]))
    runs = 0
    for entry, action, options in actions + [failing(a) for a in actions]:
        for extra in (["--check"], ["--pretty"]) if action in MUTATING else ([],):
            argv = argv_of(entry, action, options) + ["--host", server.url, *server.cli_creds(role), *extra]
            openqa_ctl.main(argv)
            out, err = capsys.readouterr()
            assert secret not in out + err, argv
            runs += 1
    mutations = sum(1 for _entry, action, _options in actions if action in MUTATING)
    assert runs == 2 * len(actions) + 2 * mutations  # every action, failing too, mutations also in --check


def test_cli_secret_in_json_data_is_not_printed(server, tmp_path, capsys):
    secret = server.keys["operator"]["secret"]
    data = tmp_path / "options.json"
    data.write_text(json.dumps({"api_key": server.keys["operator"]["key"], "api_secret": secret, "id": "x"}))
    openqa_ctl.main(["test", "status", "--json-data", str(data), "--host", server.url])
    out, err = capsys.readouterr()
    assert secret not in out + err and "not a whole number" in out


@pytest.mark.parametrize("shape", ["list", "object"])
def test_malformed_secret_is_not_echoed(shape, server, tmp_path, capsys):
    secret = server.keys["operator"]["secret"]
    value = [secret, "second"] if shape == "list" else {"secret": secret}
    data = tmp_path / "options.json"
    data.write_text(json.dumps({"api_key": server.keys["operator"]["key"], "api_secret": value, "id": 5}))
    status = openqa_ctl.main(["test", "status", "--json-data", str(data), "--host", server.url])
    out, err = capsys.readouterr()
    assert status == 4 and secret not in out + err


# ------------------------------------------------------------------ ansible -vvvv, check and diff mode


def test_playbook_vvvv_check_and_diff_never_show_the_secret(server, own, tmp_path):
    job, build = own
    actions = every_action(job, build, int(server.fixture["workers"]["1"]))
    # Every action once (mutations in check mode: ansible runs a task per fork, so this is the
    # slow part) and one failure per entry; -vvvv prints every module's arguments and result.
    failures = [failing(a) for a in actions if a[1] in ("info", "search") and a[0] in ("test", "worker", "group")]
    tasks = []
    for number, (entry, action, options) in enumerate(actions + failures + [failing(actions[-1])]):
        tasks.append({"name": "%d %s %s" % (number, entry, action),
                      "openqa.client.openqa_%s" % entry: dict(options, action=action),
                      "ignore_errors": True, "check_mode": action in MUTATING, "diff": True})
    role = "operator"
    play = [{"hosts": "localhost", "gather_facts": False,
             "module_defaults": {"group/openqa.client.openqa": {
                 "host": server.url, "api_key": server.keys[role]["key"], "api_secret": server.keys[role]["secret"]}},
             "tasks": tasks}]
    playbook = tmp_path / "all-actions.yml"
    playbook.write_text(yaml.safe_dump(play))
    log = tmp_path / "ansible.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENQA_API_")}
    env.update(ANSIBLE_LOG_PATH=str(log), ANSIBLE_PIPELINING="1", ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    proc = subprocess.run(["ansible-playbook", "-vvvv", "--diff", "-i", "localhost,", "-c", "local",
                           "-e", "ansible_python_interpreter=%s" % sys.executable, str(playbook)],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    recap = re.search(r"ok=(\d+) +changed=(\d+) .*failed=0 .*ignored=(\d+)", proc.stdout)
    assert recap, proc.stdout[-3000:] + proc.stderr[-3000:]
    ok, changed, ignored = (int(n) for n in recap.groups())
    assert ok == len(tasks) and changed > 0 and ignored >= len(failures)  # successes, predicted changes, failures
    everything = proc.stdout + proc.stderr + log.read_text()
    for secret in secrets_of(server):
        assert secret not in everything


# ------------------------------------------------------------------ plain http, TLS


@pytest.mark.parametrize("host, warned", [
    ("http://openqa.invalid:1", True),
    ("https://openqa.invalid:1", False),
    ("http://localhost:1", False),
    ("http://127.0.0.1:1", False),
])
def test_plain_http_to_a_remote_host_warns_but_does_not_fail_for_it(host, warned, server, capsys,
                                                                    module_direct):
    argv = ["test", "status", "--id", "5", "--host", host, "--retries", "0", *server.cli_creds("operator")]
    status = openqa_ctl.main(argv)
    out, err = capsys.readouterr()
    assert status == 1 and ("over plain http" in err) is warned  # unreachable: status 1, not a refusal
    result = module_direct("test", {"action": "status", "id": [5], "host": host, "retries": 0,
                                    **server.creds("operator")})
    assert ("over plain http" in json.dumps(result.get("warnings", []))) is warned
    assert server.keys["operator"]["secret"] not in out + err + json.dumps(result)


def test_tls_is_verified_unless_asked_otherwise():
    assert connection_values({})["validate_certs"] is True
    assert connection_values({"validate_certs": "no"})["validate_certs"] is False
