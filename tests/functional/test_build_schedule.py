"""build new, the rest of openqa-cli's scheduling: --param-file, repeated keys, async then --wait.

The comparison runs openqa-cli itself (Debian openqa-client 4.6, which schedules with
``openqa-cli api -X POST isos``; its ``schedule`` command is newer) against the same server and
compares the scheduled products' settings as openQA stored them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import uuid

import pytest
from conftest import api_get

PRODUCT = {"DISTRI": "opensuse", "VERSION": "Tumbleweed", "FLAVOR": "DVD", "ARCH": "x86_64"}


def unique() -> str:
    return "sched-%s" % uuid.uuid4().hex[:12]


def product_settings(server, build: str) -> dict:
    rows = server.sql("SELECT settings FROM scheduled_products WHERE build='%s'" % build).splitlines()
    assert len(rows) == 1, rows
    settings = json.loads(rows[0])
    settings.pop("BUILD")
    return settings


def pairs(build: str, **extra: str) -> list:
    return ["%s=%s" % item for item in dict(PRODUCT, BUILD=build, TEST="raid0", **extra).items()]


@pytest.mark.skipif(not shutil.which("openqa-cli"), reason="openqa-cli (Debian openqa-client) is not installed")
def test_repeated_keys_and_param_files_reach_openqa_as_openqa_cli_sends_them(server, ctl, module, tmp_path):
    (tmp_path / "iso").write_text("from-a-file.iso")
    admin = server.keys["admin"]
    theirs, ours, module_build = unique(), unique(), unique()
    proc = subprocess.run(["openqa-cli", "api", "--host", server.url, "--apikey", admin["key"], "--apisecret",
                           admin["secret"], "-X", "POST", "isos", *pairs(theirs), "FOO=a", "FOO=b",
                           "_GROUP_ID=%d" % server.fixture["group_id"],
                           "--param-file", "ISO=%s" % (tmp_path / "iso")],
                          capture_output=True, text=True, check=True)
    assert json.loads(proc.stdout)["ids"], proc.stdout
    run = ctl("build", "new", "--group", str(server.fixture["group_id"]), "--vars", *pairs(ours), "FOO=a", "FOO=b",
              "--param-file", "ISO=%s" % (tmp_path / "iso"), *server.cli_creds())
    assert run.status == 0, run.message
    result = module("build", {"action": "new", "group": str(server.fixture["group_id"]),
                              "vars": pairs(module_build) + ["FOO=a", "FOO=b"],
                              "param_file": ["ISO=%s" % (tmp_path / "iso")], **server.creds()})
    assert result.status == 0, result.result["msg"]
    expected = product_settings(server, theirs)
    assert expected["FOO"] == ["a", "b"] and expected["ISO"] == "from-a-file.iso"
    assert product_settings(server, ours) == expected
    assert product_settings(server, module_build) == expected


def test_an_unreadable_param_file_is_invalid_input(server, ctl, tmp_path):
    build = unique()
    run = ctl("build", "new", "--vars", *pairs(build), "--param-file", "ISO=%s" % (tmp_path / "missing"),
              *server.cli_creds())
    assert run.rc == 4 and "cannot read param_file ISO" in run.message
    assert server.sql("SELECT count(*) FROM scheduled_products WHERE build='%s'" % build) == "0"


def _product_id(server, build: str, give_up_at: float) -> int:
    """The product the CLI posted; the CLI is polling it meanwhile (this server runs no gru)."""
    while time.monotonic() < give_up_at:
        found = server.sql("SELECT id FROM scheduled_products WHERE build='%s'" % build)
        if found:
            return int(found)
        time.sleep(0.1)
    raise AssertionError("the CLI did not post the product")


def test_async_then_wait_polls_the_product_then_waits_for_its_jobs(server, make_job):
    """openQA's gru creates the jobs of an async product; this server runs none, so the test does gru's
    part: it marks the product scheduled with a finished job, through SQL, while the CLI polls."""
    build = unique()
    job_id = make_job(result="passed", BUILD=build, TEST="async-made")
    argv = [sys.executable, "-m", "ansible_collections.openqa.client.cli.openqa_ctl", "build", "new", "--vars",
            *pairs(build), "async=1", "--wait", "--interval", "0.2", "--timeout", "60", "--host", server.url,
            *server.cli_creds()]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        product_id = _product_id(server, build, time.monotonic() + 30)
        assert proc.poll() is None  # still polling the product
        server.sql("UPDATE scheduled_products SET status='scheduled', results='%s' WHERE id=%d"
                   % (json.dumps({"successful_job_ids": [job_id], "failed_job_info": []}), product_id))
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    envelope = json.loads(out)
    assert proc.returncode == 0, (envelope, err)
    assert envelope["returns"] == {"ids": [job_id], "scheduled_product_id": product_id,
                                   "results": {str(job_id): "passed"}}


def test_async_then_wait_times_out_while_openqa_has_not_created_the_jobs(server, ctl, api):
    build = unique()
    run = ctl("build", "new", "--vars", *pairs(build), "async=1", "--wait", "--interval", "0.1", "--timeout", "1",
              *server.cli_creds())
    assert run.rc == 8 and "still 'added'" in run.message, run.message
    product = api_get(api, "isos/%d" % run.returns["scheduled_product_id"])
    assert product["status"] == "added"


def test_new_with_an_upper_case_distri_schedules_once(server, ctl, api):
    """openQA stores DISTRI lower-cased (JobSettings: lc DISTRI): the second run must find the jobs it made."""
    build = unique()
    given = ["%s=%s" % item for item in dict(PRODUCT, DISTRI="OPENSUSE", BUILD=build, TEST="raid0").items()]
    first = ctl("build", "new", "--vars", *given, *server.cli_creds())
    assert first.status == 0 and first.envelope["invocation"]["changed"] is True and first.returns["ids"], first.stdout
    stored = api_get(api, "jobs", build=build)["jobs"]
    assert {job["settings"]["DISTRI"] for job in stored} == {"opensuse"}
    again = ctl("build", "new", "--vars", *given, *server.cli_creds())
    assert again.status == 0 and again.envelope["invocation"]["changed"] is False, again.stdout
    assert again.returns["ids"] == sorted(first.returns["ids"])
    check = ctl("build", "new", "--vars", *given, "--check", *server.cli_creds())
    assert check.envelope["invocation"]["changed"] is False, check.stdout
    assert len(api_get(api, "jobs", build=build)["jobs"]) == len(first.returns["ids"])
