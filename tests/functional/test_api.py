"""The signed raw call: ``openqa-ctl api`` and ``openqa.client.openqa_api`` against the real openQA.

Module and CLI must give the same answer as an independent read; mutations go only where
asked, never in check mode; reads are retried, writes are not; secrets never show.
"""

from __future__ import annotations

import http.server
import json
import shutil
import subprocess
import threading
import typing as t
import uuid

import pytest
from conftest import api_get
from faultproxy_fixture import Fault

from ansible_collections.openqa.client.plugins.module_utils._api import ENTRY
from ansible_collections.openqa.client.plugins.module_utils._runner import execute
from ansible_collections.openqa.client.plugins.module_utils.envelope import Status


def prio(api: t.Any, job_id: int) -> int:
    return api_get(api, "jobs/%d" % job_id)["job"]["priority"]


def test_get_module_and_cli_agree_with_the_server(server, api, ctl, module):
    expected = api_get(api, "jobs/%d" % server.fixture["passed_job"])
    run = ctl("api", "jobs/%d" % server.fixture["passed_job"])
    assert (run.rc, run.status, run.returns) == (0, 0, expected)
    assert run.envelope["invocation"]["changed"] is False
    result = module("api", {"path": "/jobs/%d" % server.fixture["passed_job"]})
    assert (result.rc, result.status, result.returns, result.result["changed"]) == (0, 0, expected, False)


def test_a_key_given_twice_is_sent_twice(server, ctl, module, make_job):
    first, second = make_job(BUILD="api-twice"), make_job(BUILD="api-twice")
    run = ctl("api", "jobs", "ids=%d" % first, "ids=%d" % second)
    assert sorted(job["id"] for job in run.returns["jobs"]) == [first, second]
    result = module("api", {"path": "jobs", "params": {"ids": [first, second]}})
    assert sorted(job["id"] for job in result.returns["jobs"]) == [first, second]


def test_params_after_options_and_param_file(server, ctl, make_job, tmp_path):
    test_name = "api-file-" + uuid.uuid4().hex[:8]
    job_id = make_job(TEST=test_name)
    (tmp_path / "test").write_text(test_name)
    run = ctl("api", "jobs", "latest=1", "--param-file", "test=%s" % (tmp_path / "test"))
    assert [job["id"] for job in run.returns["jobs"]] == [job_id]


def test_post_changes_and_check_mode_sends_nothing(server, api, ctl, module, make_job):
    job_id = make_job()
    before = prio(api, job_id)
    run = ctl("api", "-X", "POST", "jobs/%d/prio" % job_id, "prio=%d" % (before + 7), "--check",
              *server.cli_creds())
    assert run.rc == 0 and run.envelope["invocation"]["changed"] is True
    assert run.returns["params"] == [["prio", str(before + 7)]] and prio(api, job_id) == before
    result = module("api", dict(server.creds(), method="POST", path="jobs/%d/prio" % job_id,
                                params={"prio": before + 7}), check=True)
    assert result.result["changed"] is True and prio(api, job_id) == before
    result = module("api", dict(server.creds(), method="POST", path="jobs/%d/prio" % job_id,
                                params={"prio": before + 7}))
    assert result.result["changed"] is True and result.status == 0 and prio(api, job_id) == before + 7


def test_get_runs_in_check_mode_and_is_never_changed(server, ctl):
    run = ctl("api", "jobs/%d" % server.fixture["passed_job"], "--check")
    assert run.returns["job"]["id"] == server.fixture["passed_job"]
    assert run.envelope["invocation"]["changed"] is False


def test_post_with_a_body_signs_its_query(server, api, ctl, make_job):
    job_id = make_job()
    run = ctl("api", "-X", "POST", "jobs/%d/prio" % job_id, "prio=61", "--body", "ignored", *server.cli_creds())
    assert run.status == 0, run.message
    assert prio(api, job_id) == 61


def test_status_codes_follow_the_server(server, api, ctl, make_job):
    job_id = make_job()
    assert ctl("api", "jobs/999999999").rc == Status.NOT_FOUND
    before = prio(api, job_id)
    run = ctl("api", "-X", "POST", "jobs/%d/prio" % job_id, "prio=1", *server.cli_creds("expired"))
    assert run.rc == Status.AUTH and prio(api, job_id) == before
    assert ctl("api", "jobs", "limit=0").rc == Status.INVALID_INPUT  # HTTP 400
    run = ctl("api", "/", "--apibase", "/")
    assert run.rc == Status.SERVER_ERROR and run.message.endswith("not JSON: <!DOCTYPE html>")
    assert ctl("api", "http://elsewhere/api/v1/jobs").rc == Status.INVALID_INPUT
    assert ctl("api", "-X", "PATCH", "jobs").rc == Status.INVALID_INPUT


@pytest.mark.parametrize("name", ["a b", "\u00fc", "a%7Eb", "(1)"])
def test_a_path_is_signed_as_it_is_sent(server, name):
    """Issue 24: the signature covered the path before requests encoded it ('a b' went as 'a%20b', 'a%7Eb' as
    'a~b'), so openQA refused it (status 5, "check api_secret"). PUT machines/NAME is signed and routes any
    name; openQA then refuses the missing parameters (status 4), which shows the signature was accepted."""
    result = execute(ENTRY, dict(action="call", host=server.url, method="PUT", path="machines/" + name,
                                 body={"name": "x"}, json=True, **server.creds()))
    assert result.status == Status.INVALID_INPUT and "Missing parameter" in result.message, result.message


@pytest.mark.skipif(not shutil.which("openqa-cli"), reason="openqa-cli (Debian openqa-client) is not installed")
def test_openqa_cli_exits_1_on_any_4xx_or_5xx_as_docs_from_openqa_cli_says(server):
    """docs/from-openqa-cli.md's exit-code row, checked against the installed openqa-cli (4.6's)."""

    def openqa_cli(*args: str) -> int:
        return subprocess.run(["openqa-cli", "api", "--host", server.url, *args], capture_output=True,
                              timeout=120, check=False).returncode

    creds = ("--apikey", server.keys["admin"]["key"], "--apisecret", server.keys["admin"]["secret"])
    assert openqa_cli("jobs/999999999") == 1  # 404
    assert openqa_cli("jobs", "limit=0") == 1  # 400
    assert openqa_cli("-X", "POST", "jobs/999999999/prio", "prio=1") == 1  # 403: no key
    assert openqa_cli("-X", "POST", "jobs/restart", "jobs=abc", *creds) == 1  # 500
    assert openqa_cli("jobs/%d" % server.fixture["passed_job"]) == 0
    assert openqa_cli("-X", "POST", "jobs/999999999/restart", *creds) == 0  # 200 {"result": []}: nothing restarted


def test_root_routes_through_apibase(server, ctl):
    run = ctl("api", "dashboard_build_results", "--apibase", "/", "limit_builds=1")
    assert run.rc == 0 and isinstance(run.returns["results"], list)


def test_the_secret_never_shows(server, ctl, make_job):
    secret = server.keys["admin"]["secret"]
    job_id = make_job()
    for run in (ctl("api", "jobs/%d" % job_id, *server.cli_creds()),
                ctl("api", "-X", "POST", "jobs/%d/prio" % job_id, "prio=x", *server.cli_creds()),
                ctl("api", "jobs/5", "--api-key", server.keys["admin"]["key"], "--api-secret", secret + "no")):
        assert secret not in run.stdout + run.stderr


def test_reads_are_retried_writes_are_not(server, proxy, make_job):
    job_id = make_job()
    raw = dict(action="call", host=proxy.url, retries=2, **server.creds())
    proxy.add(Fault("status", status=503, method="GET", times=2))
    assert execute(ENTRY, dict(raw, path="jobs/%d" % job_id)).status == Status.OK
    assert len(proxy.requests("GET")) == 3
    proxy.add(Fault("status", status=503, method="POST", times=1))
    result = execute(ENTRY, dict(raw, method="POST", path="jobs/%d/prio" % job_id, params=["prio=5"]))
    assert result.status == Status.SERVER_ERROR and len(proxy.requests("POST")) == 1


class _Echo(http.server.BaseHTTPRequestHandler):
    seen: t.List[dict] = []

    def do_PUT(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append({"path": self.path, "type": self.headers.get("Content-Type"), "body": body,
                          "signed": bool(self.headers.get("X-API-Hash"))})
        answer = b'{"ok": 1}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: t.Any) -> None:
        pass


@pytest.fixture
def echo() -> t.Iterator[str]:
    """openQA 4.6 has no route that echoes a JSON body: this one shows what was sent."""
    _Echo.seen = []
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % httpd.server_port
    httpd.shutdown()


def test_bodies_are_sent_as_given(echo, tmp_path):
    raw = dict(action="call", host=echo, method="PUT", api_key="K", api_secret="S")
    assert execute(ENTRY, dict(raw, path="x", params=["a=1"], body={"k": [1]})).returns == {"ok": 1}
    (tmp_path / "data").write_bytes(b"line1\nline2")
    execute(ENTRY, dict(raw, path="y", data_file=str(tmp_path / "data"), json=True))
    assert _Echo.seen == [
        {"path": "/api/v1/x?a=1", "type": "application/json", "body": json.dumps({"k": [1]}).encode(), "signed": True},
        {"path": "/api/v1/y", "type": "application/json", "body": b"line1\nline2", "signed": True}]
