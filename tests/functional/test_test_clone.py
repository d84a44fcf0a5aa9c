"""test clone against the real openQA: the cluster in one POST, overrides, idempotency, check mode."""

from __future__ import annotations

import uuid

from conftest import api_get, api_post
from faultproxy_fixture import KeyRecorder

from ansible_collections.openqa.client.cli.openqa_ctl import ENTRIES
from ansible_collections.openqa.client.plugins.module_utils.envelope import Status
from ansible_collections.openqa.client.plugins.module_utils._runner import execute


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
    assert first.returns == {"id": new_id, "ids": [new_id], "clones": {str(source): new_id}}
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
    ids = run.returns["clones"]
    assert set(ids) == {str(parent), str(child)} and run.returns["id"] == ids[str(child)]
    assert run.returns["ids"] == sorted(ids.values())
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
    shape = {k: result["returns"][k] for k in ("id", "ids", "clones")}
    assert shape == {"id": None, "ids": [], "clones": {str(source): None}}
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


# ------------------------------------------------------------------ clone --to: the destination's own credentials


def _clone_to(server, proxy, tmp_path, source, build, sections="", env=None, **options):
    """Clone from the server to the fault proxy (a second host in front of it), with only this client.conf."""
    (tmp_path / "client.conf").write_text("[elsewhere.example.com]\nkey = AAAA\nsecret = BBBB\n" + sections)
    environ = dict(env or {}, OPENQA_CONFIG=str(tmp_path))
    raw = dict(options, action="clone", id=[source], to=proxy.url, vars=["BUILD=" + build], skip_deps=True,
               host=server.url, **server.creds())
    return execute(ENTRIES["test"], raw, environ=environ)


def _section(server, proxy, role):
    key = server.keys[role]
    return "[127.0.0.1:%d]\nkey = %s\nsecret = %s\n" % (proxy.port, key["key"], key["secret"])


def test_clone_to_a_destination_without_credentials_is_status_5_and_sends_nothing_there(server, proxy, tmp_path,
                                                                                        make_job):
    source = make_job(result="passed")
    result = _clone_to(server, proxy, tmp_path, source, "to-none-" + uuid.uuid4().hex[:8])
    assert (result.status, result.changed) == (Status.AUTH, False)
    assert "no credentials for the destination %s" % proxy.url in result.message
    assert proxy.requests() == []  # not one request, let alone a POST


def test_clone_to_uses_to_api_key_not_the_sources_credentials(server, proxy, tmp_path, api, make_job):
    source = make_job(result="passed")
    build = "to-own-" + uuid.uuid4().hex[:8]
    admin_env = {"OPENQA_API_KEY": server.keys["admin"]["key"], "OPENQA_API_SECRET": server.keys["admin"]["secret"]}
    # a plain user may not create jobs: a 403 proves the destination got the user's key, not the admin's
    refused = _clone_to(server, proxy, tmp_path, source, build, sections=_section(server, proxy, "admin"),
                        env=admin_env, to_api_key=server.keys["user"]["key"],
                        to_api_secret=server.keys["user"]["secret"])
    assert refused.status == Status.AUTH and len(proxy.mutations()) == 1
    assert api_get(api, "jobs", build=build)["jobs"] == []
    made = _clone_to(server, proxy, tmp_path, source, build, to_api_key=server.keys["operator"]["key"],
                     to_api_secret=server.keys["operator"]["secret"])
    assert (made.status, made.changed) == (Status.OK, True)
    assert made.credential_source == "options; destination %s: options (to_api_key/to_api_secret)" % proxy.url


def test_clone_to_prefers_the_destinations_client_conf_to_the_environment(server, proxy, tmp_path, api, make_job):
    source = make_job(result="passed")
    build = "to-conf-" + uuid.uuid4().hex[:8]
    user_env = {"OPENQA_API_KEY": server.keys["user"]["key"], "OPENQA_API_SECRET": server.keys["user"]["secret"]}
    made = _clone_to(server, proxy, tmp_path, source, build, sections=_section(server, proxy, "operator"),
                     env=user_env)
    assert (made.status, made.changed) == (Status.OK, True), made.message
    assert "destination %s: client.conf [127.0.0.1:%d]" % (proxy.url, proxy.port) in made.credential_source
    assert [job["id"] for job in api_get(api, "jobs", build=build)["jobs"]] == [made.returns["id"]]
    # no section there: the environment's credentials are the source's, never the destination's
    proxy.clear()
    env_only = _clone_to(server, proxy, tmp_path, source, build + "e", env=user_env)
    assert (env_only.status, env_only.changed) == (Status.AUTH, False)
    assert "destination %s: none (anonymous)" % proxy.url in env_only.credential_source
    assert proxy.requests() == []  # nothing reached it


def _admin_env(server, tmp_path, **extra: str) -> dict:
    """The admin key in the environment and a client.conf of no sections (the machine's has [127.0.0.1])."""
    (tmp_path / "client.conf").write_text("")
    return dict({"OPENQA_API_KEY": server.keys["admin"]["key"], "OPENQA_API_SECRET": server.keys["admin"]["secret"],
                 "OPENQA_CONFIG": str(tmp_path), "OPENQA_HOST": ""}, **extra)


def test_clone_to_never_sends_the_environments_credentials_to_the_destination(server, ctl, api, tmp_path, make_job):
    """Issue 24 (High): the destination got the source's OPENQA_API_KEY and a job was created there."""
    source = make_job(result="passed")
    build = "to-env-" + uuid.uuid4().hex[:8]
    with KeyRecorder(server.url) as destination:
        run = ctl("test", "clone", "--id", str(source), "--from", server.url, "--to", destination.url,
                  "--vars", "BUILD=" + build, host=False, env=_admin_env(server, tmp_path))
    assert (run.status, run.envelope["invocation"]["changed"]) == (5, False), run.envelope
    assert destination.keys == []  # not one request, signed or not
    assert "no credentials for the destination %s" % destination.url in run.message
    assert "OPENQA_API_KEY/OPENQA_API_SECRET were not sent to %s" % destination.url in run.stderr
    assert api_get(api, "jobs", build=build)["jobs"] == []


def test_clone_to_the_server_openqa_host_names_takes_the_environments_credentials(
        server, ctl, api, tmp_path, make_job):
    source = make_job(result="passed")
    build = "to-named-" + uuid.uuid4().hex[:8]
    with KeyRecorder(server.url) as origin, KeyRecorder(server.url) as destination:
        run = ctl("test", "clone", "--id", str(source), "--from", origin.url, "--to", destination.url,
                  "--vars", "BUILD=" + build, "--skip-deps", host=False,
                  env=_admin_env(server, tmp_path, OPENQA_HOST=destination.url))
    assert run.status == 0, run.envelope
    assert [job["id"] for job in api_get(api, "jobs", build=build)["jobs"]] == [run.returns["id"]]
    # the environment's key went to OPENQA_HOST's server only: --from read anonymously
    assert destination.keys and set(destination.keys) == {server.keys["admin"]["key"]}
    assert origin.keys and set(origin.keys) == {None}


def test_to_api_key_without_to_is_invalid(server, ctl):
    run = ctl("test", "clone", "--id", "5", "--to-api-key", "A", "--to-api-secret", "B", *server.cli_creds())
    assert run.status == 4 and "give --to as well" in run.message


def test_explicit_defaults_do_not_conflict_in_a_task(server, module_direct, make_job):
    """skip_deps: false next to clone_children: true is what a playbook with variables passes."""
    source = make_job(result="passed")
    result = module_direct("test", {"action": "clone", "id": [source], "skip_deps": False, "clone_children": True,
                                    "force": False, "wait": False, **server.creds()}, check=True)
    assert (result.get("failed", False), result["status"], result["changed"]) == (False, 0, True)
    restart = module_direct("test", {"action": "restart", "id": [source], "parent": True, "skip_children": False,
                                     "skip_parents": False, **server.creds()}, check=True)
    assert restart["status"] == 0, restart["msg"]


def test_a_change_on_a_server_whose_environment_credentials_are_another_servers_is_never_sent(
        server, proxy, api, tmp_path, make_job):
    """Reads go anonymously; the POST it cannot sign fails with status 5 before it leaves."""
    source = make_job(result="passed")
    build = "unsigned-" + uuid.uuid4().hex[:8]
    raw = {"action": "clone", "id": [source], "vars": ["BUILD=" + build], "host": proxy.url}
    result = execute(ENTRIES["test"], raw, environ=_admin_env(server, tmp_path, OPENQA_HOST=server.url))
    assert (result.status, result.changed) == (Status.AUTH, False)
    assert result.message.startswith("POST jobs not sent: OPENQA_API_KEY/OPENQA_API_SECRET were not sent to %s"
                                     % proxy.url), result.message
    assert proxy.requests() and proxy.mutations() == []
    assert api_get(api, "jobs", build=build)["jobs"] == []
