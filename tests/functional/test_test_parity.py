"""The CLI and the real `ansible` module give the same status and returns for every action."""

from __future__ import annotations

import uuid

import pytest

from ansible_collections.openqa.client.plugins.module_utils import _jobs, _runner


def both(server, ctl, module, cli_args: list, module_args: dict, creds: str = "admin") -> tuple:
    cli = ctl("test", *cli_args, *server.cli_creds(creds))
    mod = module("test", dict(module_args, **server.creds(creds)))
    return cli, mod


def assert_same(cli, mod) -> None:
    """The same answer; a module words it for a task (option names, action=), never with --flags."""
    assert (mod.status, mod.returns) == (cli.status, cli.returns)
    assert mod.result["msg"] == _runner.task_wording(_jobs.ENTRY, cli.message) and "--" not in mod.result["msg"]
    assert (mod.rc == 0) == (cli.rc == 0)


def test_restart_parity_and_second_run(server, ctl, module, make_job):
    job_id = make_job(result="failed")
    cli, mod = both(server, ctl, module, ["restart", "--id", str(job_id)], {"action": "restart", "id": job_id})
    assert cli.envelope["invocation"]["changed"] is True and mod.result["changed"] is False
    assert (mod.status, mod.returns) == (cli.status, cli.returns) == (0, cli.returns)


def test_stop_parity_in_check_mode(server, ctl, module, make_job):
    job_id = make_job()
    cli = ctl("test", "stop", "--id", str(job_id), "--check", *server.cli_creds())
    mod = module("test", {"action": "cancel", "id": job_id, **server.creds()}, check=True)
    assert_same(cli, mod)
    assert mod.result["changed"] is True and cli.returns == [job_id]


def test_clone_parity_check_mode(server, ctl, module, make_job):
    job_id = make_job(result="failed")
    build = "parity-" + uuid.uuid4().hex[:8]
    cli = ctl("test", "clone", "--id", str(job_id), "--vars", "BUILD=" + build, "--check", *server.cli_creds())
    mod = module("test", {"action": "clone", "id": job_id, "vars": ["BUILD=" + build], **server.creds()},
                 check=True)
    assert_same(cli, mod)


@pytest.mark.parametrize("cli_args, module_args", [
    (["status", "--id", "8"], {"action": "status", "id": 8}),
    (["search", "--build", "20261127", "--result", "failed"],
     {"action": "search", "build": "20261127", "result": ["failed"]}),
    (["info", "--id", "6", "--attributes", "previous_results", "--attributes", "comments"],
     {"action": "info", "id": 6, "attributes": ["previous_results", "comments"]}),
    (["wait", "--id", "5", "--id", "8"], {"action": "wait", "id": [5, 8]}),  # 7: failed
])
def test_read_actions_parity(server, ctl, module, cli_args, module_args):
    assert_same(*both(server, ctl, module, cli_args, module_args))


@pytest.mark.parametrize("cli_args, module_args, status", [
    (["restart", "--id", "987654321"], {"action": "restart", "id": 987654321}, 2),
    (["stop", "--id", "5", "--build", "x"], {"action": "stop", "id": 5, "build": "x"}, 3),
    (["info", "--id", "5", "--attributes", "bogus"], {"action": "info", "id": 5, "attributes": ["bogus"]}, 4),
    (["wait", "--id", "11", "--timeout", "0"], {"action": "wait", "id": 11, "timeout": "0"}, 8),
])
def test_error_parity(server, ctl, module, cli_args, module_args, status):
    cli, mod = both(server, ctl, module, cli_args, module_args)
    assert cli.status == status
    assert_same(cli, mod)


def test_refused_and_auth_parity(server, ctl, module, make_job):
    scheduled = make_job()
    cli, mod = both(server, ctl, module, ["restart", "--id", str(scheduled)], {"action": "restart", "id": scheduled})
    assert cli.status == 9
    assert_same(cli, mod)
    failed = make_job(result="failed")
    cli, mod = both(server, ctl, module, ["restart", "--id", str(failed)], {"action": "restart", "id": failed},
                    creds="user")
    assert cli.status == 5
    assert_same(cli, mod)
