"""The first slice end to end: test status through the CLI and the module, errors, signing."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("kind", ["passed_job", "failed_job", "softfailed_job", "scheduled_job", "incomplete_job"])
def test_status_matches_between_cli_and_module(server, ctl, module, kind):
    job_id = server.fixture[kind]
    cli = ctl("test", "status", "--id", str(job_id))
    mod = module("test", {"action": "status", "id": job_id})
    expected = {"passed_job": "passed", "failed_job": "failed", "softfailed_job": "softfailed",
                "scheduled_job": "scheduled", "incomplete_job": "incomplete"}[kind]
    assert cli.rc == 0 and cli.envelope == {"invocation": {"status": 0, "message": "ok"}, "returns": expected}
    assert mod.rc == 0 and (mod.status, mod.returns) == (0, expected)
    assert mod.result["changed"] is False


def test_failed_job_prints_exact_envelope(server, ctl):
    run = ctl("test", "status", "--id", str(server.fixture["failed_job"]))
    assert run.stdout.strip() == '{"invocation":{"status":0,"message":"ok"},"returns":"failed"}'


def test_unknown_job_is_status_2_in_both(server, ctl, module):
    cli = ctl("test", "status", "--id", "987654321")
    mod = module("test", {"action": "status", "id": 987654321})
    assert cli.rc == cli.status == 2
    assert cli.message.startswith("unknown test") and "987654321" in cli.message
    assert "returns" not in cli.envelope
    assert mod.rc != 0 and mod.status == 2 and mod.result["msg"] == cli.message


def test_running_job_reports_running(server, ctl, make_job):
    job_id = make_job()
    server.sql("UPDATE jobs SET state='running', t_started=now() WHERE id=%d" % job_id)
    assert ctl("test", "status", "--id", str(job_id)).returns == "running"


def test_follow_reports_the_newest_clone(server, ctl, api, make_job):
    from conftest import api_post  # noqa: E402 (the harness's own helper)

    job_id = make_job(result="failed")
    clone = api_post(api, "jobs/%d/restart" % job_id)["result"][0][str(job_id)]
    assert ctl("test", "status", "--id", str(job_id)).returns == "failed"
    assert ctl("test", "status", "--id", str(job_id), "--follow").returns == "scheduled"
    api_post(api, "jobs/%d/set_done" % clone, result="passed")
    assert ctl("test", "status", "--id", str(job_id), "--follow").returns == "passed"


def test_unreachable_host_is_status_1(ctl):
    run = ctl("test", "status", "--id", "1", "--host", "http://127.0.0.1:9", "--retries", "0", host=False)
    assert run.rc == run.status == 1
    assert run.message.startswith("unknown remote host")


def test_credentials_source_is_reported_without_secret(server, module):
    mod = module("test", {"action": "status", "id": server.fixture["passed_job"], **server.creds()})
    assert mod.result["credential_source"] == "options"
    assert server.keys["admin"]["secret"] not in mod.stdout + mod.stderr


def test_environment_credentials(server, module):
    env = {"OPENQA_API_KEY": server.keys["admin"]["key"], "OPENQA_API_SECRET": server.keys["admin"]["secret"]}
    mod = module("test", {"action": "status", "id": server.fixture["passed_job"]}, env=env)
    assert mod.result["credential_source"].startswith("environment")


def test_secret_never_appears_with_vvvv(server, module):
    secret = server.keys["admin"]["secret"]
    for args in ({"action": "status", "id": server.fixture["failed_job"]},
                 {"action": "status", "id": 987654321}):
        mod = module("test", dict(args, **server.creds()), verbosity=4)
        assert secret not in mod.stdout + mod.stderr
