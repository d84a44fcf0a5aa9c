"""The first slice end to end: test status through the CLI and the module, errors, signing."""

from __future__ import annotations

import http.server
import re
import subprocess
import sys
import threading
import typing as t
import uuid

import pytest
import yaml
from conftest import _ansible_env, api_get

from ansible_collections.openqa.client.plugins.module_utils.client import OpenQAClient
from ansible_collections.openqa.client.plugins.module_utils.envelope import UnreachableError


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
    env = {"OPENQA_API_KEY": server.keys["admin"]["key"], "OPENQA_API_SECRET": server.keys["admin"]["secret"],
           "OPENQA_HOST": server.url}
    mod = module("test", {"action": "status", "id": server.fixture["passed_job"]}, env=env)
    assert mod.result["credential_source"].startswith("environment")


def test_the_single_server_environment_credentials_still_change_things(
        server, ctl, module, api, make_job, tmp_path):
    """The README's setup: OPENQA_HOST with the key for a task, the key alone for one openqa-ctl command."""
    (tmp_path / "client.conf").write_text("")  # the machine's client.conf would answer otherwise
    env = {"OPENQA_API_KEY": server.keys["operator"]["key"], "OPENQA_API_SECRET": server.keys["operator"]["secret"],
           "OPENQA_CONFIG": str(tmp_path)}
    source = make_job(result="failed")
    build = "env-" + uuid.uuid4().hex[:8]
    by_ctl = ctl("test", "clone", "--id", str(source), "--vars", "BUILD=" + build, env=dict(env, OPENQA_HOST=""))
    assert (by_ctl.status, by_ctl.envelope["invocation"]["changed"]) == (0, True), by_ctl.envelope
    by_task = module("test", {"action": "clone", "id": [source], "vars": ["BUILD=%s-task" % build]}, host=False,
                     env=dict(env, OPENQA_HOST=server.url))
    assert (by_task.status, by_task.result["changed"]) == (0, True), by_task.result
    assert by_task.result["credential_source"] == "environment (OPENQA_API_KEY/OPENQA_API_SECRET)"
    for name, made in ((build, by_ctl.returns["id"]), (build + "-task", by_task.returns["id"])):
        assert [job["id"] for job in api_get(api, "jobs", build=name)["jobs"]] == [made]


def test_secret_never_appears_with_vvvv(server, module):
    secret = server.keys["admin"]["secret"]
    for args in ({"action": "status", "id": server.fixture["failed_job"]},
                 {"action": "status", "id": 987654321}):
        mod = module("test", dict(args, **server.creds()), verbosity=4)
        assert secret not in mod.stdout + mod.stderr


def test_https_to_a_plain_http_server_fails_at_once_suggesting_http(server):
    plain = server.url.split("://", 1)[1]
    client = OpenQAClient("https://" + plain)
    with pytest.raises(UnreachableError) as error:
        client.get("jobs/%d" % server.fixture["passed_job"])
    assert client.request_count == 1  # no retries: the mismatch stays
    assert error.value.message.startswith("TLS handshake with https://%s failed: the server answered in plain HTTP"
                                          % plain)
    assert error.value.message.endswith("if it serves only http, use http://%s" % plain)


class _NotFoundPage(http.server.BaseHTTPRequestHandler):
    """A web server that is not openQA: every path is a 404 HTML page."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        page = b"<html><body><h1>404 Not Found</h1></body></html>"
        self.send_response(404)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, format: str, *args: t.Any) -> None:  # pylint: disable=redefined-builtin
        """Quiet."""


def test_html_404_is_not_an_unknown_object_but_not_openqa(ctl):
    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotFoundPage)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    try:
        url = "http://127.0.0.1:%d" % web.server_address[1]
        run = ctl("test", "status", "--id", "8", "--host", url, host=False)
    finally:
        web.shutdown()
    assert run.rc == run.status == 6
    assert run.message.startswith("GET jobs/8: this does not look like an openQA API at %s (HTTP 404: an HTML page"
                                  % url)


def _library() -> str:
    return subprocess.run([sys.executable, "-m", "ansible_collections.openqa.client.cli.openqa_ctl",
                           "--ansible-library"], capture_output=True, text=True, check=True).stdout.strip()


def _short_name_run(server, args: str, env: dict) -> str:
    proc = subprocess.run(["ansible", "localhost", "-m", "openqa_test", "-a", args], capture_output=True, text=True,
                          env=_ansible_env(dict(env, ANSIBLE_LIBRARY=_library())), timeout=300, check=False)
    return proc.stdout + proc.stderr


def test_short_name_without_any_host_warns(server, tmp_path):
    job = server.fixture["passed_job"]
    lost = _short_name_run(server, "action=status id=%d retries=0" % job, {"OPENQA_HOST": ""})
    assert "ran by its short name with no host and no OPENQA_HOST" in lost
    assert "use openqa.client.openqa_test" in lost
    (tmp_path / "client.conf").write_text("")  # no credentials from anywhere but the task: nothing to warn about
    quiet = {"OPENQA_CONFIG": str(tmp_path)}
    with_env = _short_name_run(server, "action=status id=%d" % job, dict(quiet, OPENQA_HOST=server.url))
    with_host = _short_name_run(server, "action=status id=%d host=%s" % (job, server.url),
                                dict(quiet, OPENQA_HOST=""))
    assert '"returns": "passed"' in with_env and '"returns": "passed"' in with_host
    assert "short name" not in with_env + with_host


def test_a_short_name_that_misses_module_defaults_never_does_so_silently(server, tmp_path):
    """Issue 25 major 5: with ANSIBLE_LIBRARY and the README's OPENQA_HOST, module_defaults' restricted key was
    ignored for the environment's (or client.conf's) admin key, with no word."""
    play = [{"hosts": "localhost", "gather_facts": False,
             "module_defaults": {"group/openqa.client.openqa": {
                 "host": server.url, "api_key": server.keys["user"]["key"],
                 "api_secret": server.keys["user"]["secret"]}},
             "tasks": [{"name": "short", "openqa_test": {"action": "status", "id": server.fixture["passed_job"]},
                        "register": "short"},
                       {"name": "fqcn", "openqa.client.openqa_test": {"action": "status",
                                                                      "id": server.fixture["passed_job"]},
                        "register": "fqcn"},
                       {"ansible.builtin.debug": {"msg": "SHORT={{ short.credential_source }}|"
                                                         "FQCN={{ fqcn.credential_source }}|"}}]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    (tmp_path / "client.conf").write_text("[%s]\nkey = %s\nsecret = %s\n" % (
        server.url, server.keys["admin"]["key"], server.keys["admin"]["secret"]))
    admin = {"OPENQA_API_KEY": server.keys["admin"]["key"], "OPENQA_API_SECRET": server.keys["admin"]["secret"]}
    for env, source in ((admin, "environment"), ({}, "client.conf [%s]" % server.url)):
        proc = subprocess.run(["ansible-playbook", str(tmp_path / "play.yml")], capture_output=True, text=True,
                              timeout=300, check=False,
                              env=_ansible_env(dict(env, ANSIBLE_LIBRARY=_library(), OPENQA_HOST=server.url,
                                                    OPENQA_CONFIG=str(tmp_path))))
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, out
        short, fqcn = re.search(r"SHORT=([^|]*)\|FQCN=([^|]*)\|", out).groups()
        assert short.startswith(source) and fqcn == "options"  # the short name really missed module_defaults
        assert out.count("ran by its short name") == 1, out
        assert "openqa_test ran by its short name with credentials from %s" % source in " ".join(out.split())
        assert "use openqa.client.openqa_test" in out
