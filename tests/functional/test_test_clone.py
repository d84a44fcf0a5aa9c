"""test clone against the real openQA: the cluster in one POST, overrides, idempotency, check mode."""

from __future__ import annotations

import uuid

from conftest import api_get, api_post


def job(api, job_id: int) -> dict:
    return api_get(api, "jobs/%d" % job_id)["job"]


def test_clone_with_vars_sets_cloned_from_and_a_second_run_is_unchanged(server, ctl, api, make_job):
    source = make_job(result="failed", FOO="old", DROP="me")
    build = "clone-" + uuid.uuid4().hex[:8]
    args = ("test", "clone", "--id", str(source), "--vars", "BUILD=" + build, "--vars", "FOO+=new",
            "--vars", "DROP=", *server.cli_creds())
    first = ctl(*args)
    assert first.status == 0 and first.envelope["invocation"]["changed"] is True
    new_id = first.returns["id"]
    assert first.returns["ids"] == {str(source): new_id}
    settings = job(api, new_id)["settings"]
    assert settings["BUILD"] == build and settings["FOO"] == "oldnew" and "DROP" not in settings
    assert settings["CLONED_FROM"] == "%s/tests/%d" % (server.url, source)
    assert job(api, source)["clone_id"] is None  # unlike restart
    second = ctl(*args)
    assert (second.returns["id"], second.envelope["invocation"]["changed"]) == (new_id, False)
    forced = ctl(*args, "--force")
    assert forced.envelope["invocation"]["changed"] is True and forced.returns["id"] != new_id


def test_clone_takes_the_parent_along_in_one_post(server, ctl, api, make_job):
    parent = make_job(result="passed", TEST="base")
    child = make_job(_START_AFTER_JOBS=parent, TEST="on-top")
    api_post(api, "jobs/%d/set_done" % child, result="failed")
    run = ctl("test", "clone", "--id", str(child), "--vars", "BUILD=c" + uuid.uuid4().hex[:8],
              *server.cli_creds())
    ids = run.returns["ids"]
    assert set(ids) == {str(parent), str(child)} and run.returns["id"] == ids[str(child)]
    new_child = job(api, ids[str(child)])
    assert new_child["parents"]["Chained"] == [ids[str(parent)]]
    # vars apply to the job, not to its parents (openqa-clone-job without --parental-inheritance)
    assert job(api, ids[str(parent)])["settings"]["BUILD"] == "own"


def test_check_mode_returns_the_settings_and_creates_nothing(server, module_direct, api, make_job):
    source = make_job(result="failed")
    build = "chk-" + uuid.uuid4().hex[:8]
    result = module_direct("test", {"action": "clone", "id": [source], "vars": {"BUILD": build},
                                    **server.creds()}, check=True)
    assert result["status"] == 0 and result["changed"] is True
    assert result["returns"]["settings"][str(source)]["BUILD"] == build
    assert api_get(api, "jobs", build=build)["jobs"] == []


def test_clone_errors(server, ctl):
    unknown = ctl("test", "clone", "--id", "987654321", *server.cli_creds())
    assert unknown.status == 2 and unknown.message.startswith("unknown test")
    twice = ctl("test", "clone", "--id", "5", "--vars", "A=1", "--vars", "A=2", *server.cli_creds())
    assert twice.status == 3
    groups = ctl("test", "clone", "--id", "5", "--vars", "_GROUP=x", "--vars", "_GROUP_ID=1", *server.cli_creds())
    assert groups.status == 3
    deps = ctl("test", "clone", "--id", "5", "--skip-deps", "--clone-children", *server.cli_creds())
    assert deps.status == 3
    lower = ctl("test", "clone", "--id", "5", "--vars", "foo=1", *server.cli_creds())
    assert lower.status == 4


def test_clone_to_another_host_uses_its_own_credentials(server, ctl, api, make_job):
    """--to names the destination; the same server under another spelling stands in for a second one."""
    source = make_job(result="failed")
    build = "to-" + uuid.uuid4().hex[:8]
    env = {"OPENQA_API_KEY": server.keys["admin"]["key"], "OPENQA_API_SECRET": server.keys["admin"]["secret"]}
    run = ctl("test", "clone", "--id", str(source), "--to", server.url.replace("127.0.0.1", "localhost"),
              "--vars", "BUILD=" + build, env=env)
    assert run.status == 0, run.envelope
    assert job(api, run.returns["id"])["settings"]["CLONED_FROM"] == "%s/tests/%d" % (server.url, source)
