"""Check mode as a preflight (issue 25, major 2; issue 24 "check mode trusts server-side filters"),
against the real server.

A prediction rests only on what the client re-checked: GET products ignores distri, flavor and arch on
4.6 and master, so the products are matched here as POST isos matches them; the key a real run would
sign with is verified by GET isos/0 (operator rights, changes nothing); a wait's verdict is "would
pass" (0), "would fail" (7) or "cannot know yet" (10), never a pass it cannot have.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from conftest import api_get, api_post

import nightly as nightly_world


@pytest.fixture(scope="module")
def nightly(server):
    return nightly_world.create(server)


def _vars(values: dict) -> list:
    return [arg for key, value in values.items() for arg in ("--vars", "%s=%s" % (key, value))]


@pytest.mark.parametrize("wrong", [{"DISTRI": "nosuch"}, {"FLAVOR": "NOPE"}, {"ARCH": "s390x"}])
def test_check_mode_predicts_the_failure_of_a_wrong_product_key(server, ctl, nightly, wrong):
    build = "pre-" + uuid.uuid4().hex[:8]
    values = dict(nightly.product_vars("x86_64", build), **wrong)
    check = ctl("build", "new", "--group", nightly.group, "--check", *_vars(values), *server.cli_creds())
    real = ctl("build", "new", "--group", nightly.group, *_vars(values), *server.cli_creds())
    assert (check.rc, check.status) == (real.rc, real.status) == (4, 4), (check.envelope, real.envelope)
    assert check.message.startswith("openQA would schedule nothing: no products found for")


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_check_mode_predicts_the_jobs_openqa_schedules(server, ctl, nightly, arch):
    """A VERSION * product beside the exact one: openQA schedules from the exact one only."""
    build = "pre-" + uuid.uuid4().hex[:8]
    values = nightly.product_vars(arch, build)
    check = ctl("build", "new", "--group", nightly.group, "--check", *_vars(values), *server.cli_creds())
    real = ctl("build", "new", "--group", nightly.group, *_vars(values), *server.cli_creds())
    assert real.rc == 0 and len(real.returns["ids"]) == nightly.jobs_per_arch(arch), real.envelope
    assert check.rc == 0 and "%d jobs, one per matching job template" % len(real.returns["ids"]) in check.message


def test_check_mode_falls_back_to_the_version_pattern_as_openqa_does(server, ctl, nightly):
    build = "pre-" + uuid.uuid4().hex[:8]
    values = dict(nightly.product_vars("x86_64", build), VERSION="Other")
    check = ctl("build", "new", "--group", nightly.group, "--check", *_vars(values), *server.cli_creds())
    real = ctl("build", "new", "--group", nightly.group, *_vars(values), *server.cli_creds())
    assert real.rc == 0 and len(real.returns["ids"]) == 1, real.envelope
    assert check.rc == 0 and "1 jobs, one per matching job template" in check.message


def _no_credentials(tmp_path: Path) -> dict:
    """A config directory whose client.conf has no key, so nothing is found anywhere."""
    (tmp_path / "client.conf").write_text("")
    return {"OPENQA_CONFIG": str(tmp_path), "HOME": str(tmp_path)}


@pytest.mark.parametrize("key", ["wrong", "missing", "no rights"])
def test_check_mode_verifies_the_key_without_changing_anything(server, ctl, nightly, make_job, tmp_path, key):
    creds = {"wrong": ["--api-key", server.keys["admin"]["key"], "--api-secret", "0123456789ABCDEF"],
             "missing": [], "no rights": server.cli_creds("user")}[key]
    env = _no_credentials(tmp_path)
    build = "pre-" + uuid.uuid4().hex[:8]
    failed = make_job(result="failed", BUILD=build, _GROUP_ID=nightly.group_id)
    pending = make_job(BUILD=build + "-pending", _GROUP_ID=nightly.group_id)
    calls = [
        ["build", "new", "--group", nightly.group, *_vars(nightly.product_vars("x86_64", build + "-new"))],
        ["build", "restart", "--id", build, "--group", nightly.group],
        ["build", "wait", "--id", build, "--group", nightly.group, "--max-attempts", "2"],
        ["test", "restart", "--id", str(failed)],
        ["test", "stop", "--id", str(pending)],
    ]
    for call in calls:
        check = ctl(*call, "--check", *creds, env=env)
        real = ctl(*call, *creds, env=env)
        assert (check.rc, real.rc) == (5, 5), (call, check.envelope, real.envelope)
        assert "check mode verified the key with GET isos/0, which changes nothing" in check.message, check.message
    assert api_get(api_session(server), "jobs/%d" % pending)["job"]["state"] == "scheduled"
    assert api_get(api_session(server), "jobs", build=build + "-new")["jobs"] == []


def api_session(server):
    import requests

    session = requests.Session()
    admin = server.keys["admin"]
    session.auth = (admin["user"], "%s:%s" % (admin["key"], admin["secret"]))
    session.headers["Accept"] = "application/json"
    session.base = server.url + "/api/v1/"  # type: ignore[attr-defined]
    return session


def test_check_mode_wait_answers_would_pass_would_fail_or_cannot_know_yet(server, ctl, make_job, nightly):
    build = "pre-" + uuid.uuid4().hex[:8]
    group = ["--group", nightly.group]
    passed = make_job(result="passed", BUILD=build + "-ok", TEST="a", _GROUP_ID=nightly.group_id)
    ok = ctl("build", "wait", "--id", build + "-ok", *group, "--check")
    assert (ok.rc, ok.message) == (0, "check mode: would pass: every job is final and ok"), ok.envelope
    make_job(result="failed", BUILD=build, TEST="a", _GROUP_ID=nightly.group_id)
    make_job(BUILD=build, TEST="b", _GROUP_ID=nightly.group_id)   # still scheduled
    fails = ctl("build", "wait", "--id", build, *group, "--check")
    assert fails.rc == 7 and fails.message.startswith("check mode: would fail: finished, not ok"), fails.envelope
    unknown = ctl("build", "wait", "--id", build, *group, "--check", "--max-attempts", "2", *server.cli_creds())
    # a is restarted as soon as it is final: no verdict while its restart and b would still run
    assert unknown.rc == 10 and unknown.message.startswith("check mode: cannot know yet: would restart ")
    assert "1 jobs are pending" in unknown.message
    make_job(result="failed", BUILD=build + "-r", TEST="a", _GROUP_ID=nightly.group_id)
    restart = ctl("build", "wait", "--id", build + "-r", *group, "--check", "--max-attempts", "2", *server.cli_creds())
    assert restart.rc == 10 and restart.message.startswith("check mode: cannot know yet: would restart")
    pending_only = make_job(BUILD=build + "-p", TEST="a", _GROUP_ID=nightly.group_id)
    assert ctl("build", "wait", "--id", build + "-p", *group, "--check").rc == 10
    assert ctl("test", "wait", "--id", str(pending_only), "--check").rc == 10
    assert ctl("test", "wait", "--id", str(passed), "--check").rc == 0
    not_yet = ctl("build", "wait", "--id", build + "-never", *group, "--check")
    assert not_yet.rc == 10 and "cannot know yet: no job has build" in not_yet.message
    api_post(api_session(server), "jobs/%d/set_done" % pending_only, result="passed")
