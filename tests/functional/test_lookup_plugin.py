"""The openqa lookup plugin in real ansible runs against the real server, compared with the modules."""

from __future__ import annotations

import json
import re
import subprocess
import typing as t
import uuid

from conftest import ROOT, _ansible_env, api_get
from faultproxy_fixture import KeyRecorder

MARK = "LOOKUP-RESULT:"


def lookup(server, expression: str, env: t.Optional[dict] = None, verbosity: int = 0) -> subprocess.CompletedProcess:
    """Evaluate a Jinja expression on localhost and return the process; the value is printed as JSON."""
    argv = ["ansible", "localhost", "-m", "ansible.builtin.debug",
            "-a", "msg='%s{{ (%s) | to_json }}'" % (MARK, expression), "-e", "url=%s" % server.url]
    argv += ["-" + "v" * verbosity] if verbosity else []
    proc = subprocess.run(argv, capture_output=True, text=True, env=_ansible_env(env), check=False, timeout=120)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def value(proc: subprocess.CompletedProcess) -> t.Any:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    match = re.search(r'"msg": "%s(.*)"\n' % MARK, proc.stdout)
    assert match, proc.stdout
    return json.loads(json.loads('"%s"' % match.group(1)))


def test_build_info_is_what_the_module_returns(server, module_direct):
    fixture = server.fixture
    got = value(lookup(server, "lookup('openqa.client.openqa', 'build', 'info', id='%s', group='%s', host=url)"
                       % (fixture["build"], fixture["group_name"])))
    expected = module_direct("build", {"action": "info", "id": fixture["build"], "group": fixture["group_name"]})
    assert got == expected["returns"] and got


def test_each_entry_reads_through_the_same_code(server):
    failed = server.fixture["failed_job"]
    assert value(lookup(server, "lookup('openqa.client.openqa', 'test', 'status', id=[%d], host=url)" % failed)) \
        == "failed"
    ids = value(lookup(server, "lookup('openqa.client.openqa', 'test', 'search', build='%s', result=['failed'], "
                               "host=url)" % server.fixture["build"]))
    assert failed in ids
    worker = value(lookup(server, "lookup('openqa.client.openqa', 'worker', 'info', id=1, display=['host'], "
                                  "host=url)"))
    assert worker == {"host": "fixture-worker"}
    group = value(lookup(server, "lookup('openqa.client.openqa', 'group', 'info', id=%d, host=url)"
                                 % server.fixture["group_id"]))
    assert group["name"] == server.fixture["group_name"]


def test_query_gives_a_list_of_the_one_result(server):
    got = value(lookup(server, "query('openqa.client.openqa', 'test', 'status', id=[%d], host=url)"
                       % server.fixture["passed_job"]))
    assert got == ["passed"]


def test_mutating_action_is_refused_and_nothing_changes(server, api, make_job):
    job_id = make_job(result="failed")
    proc = lookup(server, "lookup('openqa.client.openqa', 'test', 'restart', id=[%d], host=url, api_key='%s', "
                          "api_secret='%s')" % ((job_id,) + tuple(server.creds().values())))
    assert proc.returncode != 0
    assert "'test restart' changes the server and a lookup only reads" in proc.stdout + proc.stderr
    assert api_get(api, "jobs/%d" % job_id)["job"]["clone_id"] is None
    assert server.keys["admin"]["secret"] not in proc.stdout + proc.stderr


def test_errors_carry_the_envelope_message(server):
    unknown = lookup(server, "lookup('openqa.client.openqa', 'test', 'status', id=[999999], host=url)")
    assert unknown.returncode != 0
    assert "unknown test: there is no job 999999 on %s (status 2)" % server.url in unknown.stdout + unknown.stderr
    bad = lookup(server, "lookup('openqa.client.openqa', 'test', 'info', id=[1], attributes=['bogus'], host=url)")
    assert "unknown attribute bogus" in bad.stdout + bad.stderr
    stray = lookup(server, "lookup('openqa.client.openqa', 'worker', 'info', id=1, status='idle', host=url)")
    assert "option status is not used by action=info" in stray.stdout + stray.stderr
    typo = lookup(server, "lookup('openqa.client.openqa', 'worker', 'info', idd=1, host=url)")
    assert "unknown option idd for 'worker info': its options are id, display" in typo.stdout + typo.stderr
    entry = lookup(server, "lookup('openqa.client.openqa', 'job', 'info', host=url)")
    assert "unknown entry 'job': use one of test, worker, group, build" in entry.stdout + entry.stderr
    terms = lookup(server, "lookup('openqa.client.openqa', 'test', host=url)")
    assert "give the entry and the action" in terms.stdout + terms.stderr
    down = lookup(server, "lookup('openqa.client.openqa', 'test', 'status', id=[1], host='http://127.0.0.1:9', "
                          "retries=0)")
    assert "cannot reach http://127.0.0.1:9" in down.stdout + down.stderr


def test_credentials_from_the_environment_and_never_in_the_output(server, make_job):
    secret = server.keys["admin"]["secret"]
    half = lookup(server, "lookup('openqa.client.openqa', 'test', 'status', id=[1], host=url)",
                  env={"OPENQA_API_KEY": server.keys["admin"]["key"], "OPENQA_HOST": server.url}, verbosity=3)
    assert "api_secret is missing: environment" in half.stdout + half.stderr
    full = lookup(server, "lookup('openqa.client.openqa', 'test', 'status', id=[%d], host=url)"
                  % server.fixture["passed_job"], env={"OPENQA_API_KEY": server.keys["admin"]["key"],
                                                       "OPENQA_API_SECRET": secret, "OPENQA_HOST": server.url},
                  verbosity=3)
    assert value(full) == "passed"
    assert secret not in full.stdout + full.stderr + half.stdout + half.stderr


def test_a_lookup_with_its_own_host_never_gets_the_environments_credentials(server, tmp_path):
    """Issue 24 (High): a lookup with host= signed its reads with the key OPENQA_HOST's server was given."""
    (tmp_path / "client.conf").write_text("")  # the machine's client.conf has a [127.0.0.1] section
    env = {"OPENQA_API_KEY": server.keys["admin"]["key"], "OPENQA_API_SECRET": server.keys["admin"]["secret"],
           "OPENQA_CONFIG": str(tmp_path)}
    expression = "lookup('openqa.client.openqa', 'test', 'status', id=[%d]%s)"
    with KeyRecorder(server.url) as other:
        own_host = lookup(server, expression % (server.fixture["passed_job"], ", host='%s'" % other.url),
                          env=dict(env, OPENQA_HOST=server.url))
        assert value(own_host) == "passed" and other.keys and set(other.keys) == {None}
        assert "OPENQA_API_KEY/OPENQA_API_SECRET were not sent to %s" % other.url in own_host.stderr
        # without OPENQA_HOST a host given to the lookup is one instance among others as well
        other.keys.clear()
        assert value(lookup(server, expression % (server.fixture["passed_job"], ", host='%s'" % other.url),
                            env=dict(env, OPENQA_HOST=""))) == "passed"
        assert other.keys and set(other.keys) == {None}
        # the server OPENQA_HOST names gets them, with or without host=
        other.keys.clear()
        for host in ("", ", host='%s'" % other.url):
            assert value(lookup(server, expression % (server.fixture["passed_job"], host),
                                env=dict(env, OPENQA_HOST=other.url))) == "passed"
        assert other.keys and set(other.keys) == {server.keys["admin"]["key"]}


def test_lookup_playbook(server):
    proc = subprocess.run(["ansible-playbook", str(ROOT / "playbooks" / "build_lookup.yml"),
                           "-e", "BUILD=%s" % server.fixture["build"], "-e", "openqa_host=%s" % server.url],
                          capture_output=True, text=True, env=_ansible_env({}), check=False, timeout=120)
    # the fixture build has failed jobs: the playbook lists them and fails on them
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "textmode (x86_64) job %d: passed" % server.fixture["passed_job"] in proc.stdout
    assert "idle qemu_x86_64 workers: 1" in proc.stdout
    assert re.search(r"not ok: .*\b%d\b" % server.fixture["failed_job"], proc.stdout)


def test_an_option_that_would_restart_is_refused_and_nothing_changes(server, api, make_job):
    """build wait max_attempts restarts failures: a lookup ran it in check mode and passed a failed build."""
    build = "gate-%s" % uuid.uuid4().hex[:8]
    job_id = make_job(result="failed", BUILD=build)
    proc = lookup(server, "lookup('openqa.client.openqa', 'build', 'wait', id='%s', max_attempts=2, host=url, "
                          "api_key='%s', api_secret='%s')" % ((build,) + tuple(server.creds().values())))
    assert proc.returncode != 0, proc.stdout
    assert "'build wait' with max_attempts changes the server and a lookup only reads: use the " \
           "openqa.client.openqa_build module (action=wait)" in proc.stdout + proc.stderr
    assert api_get(api, "jobs/%d" % job_id)["job"]["clone_id"] is None
    plain = lookup(server, "lookup('openqa.client.openqa', 'build', 'wait', id='%s', host=url)" % build)
    assert plain.returncode != 0 and "(status 7)" in plain.stdout + plain.stderr
