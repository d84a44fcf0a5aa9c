"""test clone against openqa-clone-job itself: the settings each would post, setting by setting.

openqa-clone-job (Debian openqa-client 4.6) runs with --export-command, which prints the POST it
would send without sending it; ours runs in check mode, which returns the settings per job. Both
read the same cluster on the same server. Scoped overrides, --repeat and _GROUP reaching parents
are newer than 4.6's openqa-clone-job: they are tested against the server alone.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import typing as t
import uuid

import pytest
from conftest import api_get

HAS_CLONE_JOB = shutil.which("openqa-clone-job") is not None


def theirs(server, job_id: int, *args: str) -> t.Dict[str, dict]:
    admin = server.keys["admin"]
    proc = subprocess.run(["openqa-clone-job", "--within-instance", server.url, "--export-command", "--apikey",
                           admin["key"], "--apisecret", admin["secret"], *args[:-1], str(job_id), *args[-1]],
                          capture_output=True, text=True, check=True)
    line = next(line for line in proc.stdout.splitlines() if line.startswith("openqa-cli api"))
    words = shlex.split(line)
    settings: t.Dict[str, dict] = {}
    for word in words[words.index("jobs") + 1:]:
        key, _equals, value = word.partition("=")
        if key != "is_clone_job":
            name, _colon, owner = key.rpartition(":")
            settings.setdefault(owner, {})[name] = value
    return settings


def ours(ctl, server, job_id: int, *args: str) -> t.Tuple[t.Dict[str, dict], t.Any]:
    options = list(args[:-1])
    overrides = [flag for pair in args[-1] for flag in ("--vars", pair)]
    run = ctl("test", "clone", "--id", str(job_id), *options, *overrides, "--check", *server.cli_creds())
    assert run.status == 0, run.message
    return run.returns["settings"], run


@pytest.fixture
def cluster(make_job) -> dict:
    """parent <- (chained) job <- (chained) child <- (chained) grandchild, and a parallel sibling of the job."""
    uid = uuid.uuid4().hex[:8]
    parent = make_job(result="passed", TEST="parent-" + uid, FOO="p", DROP="p")
    job = make_job(_START_AFTER_JOBS=str(parent), TEST="job-" + uid, FOO="j", DROP="j")
    peer = make_job(_PARALLEL_JOBS=str(job), TEST="peer-" + uid, FOO="s")
    child = make_job(_START_AFTER_JOBS=str(job), TEST="child-" + uid, FOO="c")
    grandchild = make_job(_START_AFTER_JOBS=str(child), TEST="grandchild-" + uid, FOO="g")
    return {"parent": parent, "job": job, "peer": peer, "child": child, "grandchild": grandchild, "uid": uid}


# (case name, openqa-clone-job/openqa-ctl options, overrides)
CASES = [
    ("KEY=VALUE", [], ["FOO=new"]),
    ("KEY+=VALUE", [], ["FOO+=-more"]),
    ("KEY= deletes", [], ["DROP="]),
    ("WORKER_CLASS is global", [], ["WORKER_CLASS=qemu_debug"]),
    ("_GROUP replaces _GROUP_ID", ["--skip-deps"], ["_GROUP=Fixture Other"]),
    ("--parental-inheritance", ["--parental-inheritance"], ["FOO=everywhere"]),
    ("--clone-children --max-depth 0", ["--clone-children", "--max-depth", "0"], ["BAR=1"]),
    ("--clone-children --max-depth 2", ["--clone-children", "--max-depth", "2"], ["BAR=1"]),
    ("--skip-chained-deps", ["--skip-chained-deps"], ["BAR=1"]),
    ("--skip-deps", ["--skip-deps"], ["FOO=alone"]),
]


@pytest.mark.skipif(not HAS_CLONE_JOB, reason="openqa-clone-job (Debian openqa-client) is not installed")
@pytest.mark.parametrize("name, options, overrides", CASES, ids=[case[0] for case in CASES])
def test_settings_match_openqa_clone_job(server, ctl, cluster, name, options, overrides):
    expected = theirs(server, cluster["job"], *options, overrides)
    got, run = ours(ctl, server, cluster["job"], *options, overrides)
    assert sorted(got) == sorted(expected)
    for job_id in expected:
        assert got[job_id] == expected[job_id], (name, job_id)
    assert run.returns["command"].startswith("openqa-clone-job --within-instance %s " % server.url)


def test_global_group_reaches_parents_as_newer_openqa_clone_job_does(server, ctl, cluster):
    """4.6's openqa-clone-job sets _GROUP on the job only; since GLOBAL_SETTINGS gained _GROUP and
    _GROUP_ID it reaches the parents too, and so does ours."""
    got, _envelope = ours(ctl, server, cluster["job"], ["_GROUP=Fixture Other"])
    parent = got[str(cluster["parent"])]
    assert parent["_GROUP"] == "Fixture Other" and "_GROUP_ID" not in parent


def test_scoped_override_sets_only_the_named_test(server, ctl, api, cluster):
    scoped = "FOO:child-%s=scoped" % cluster["uid"]
    got, _envelope = ours(ctl, server, cluster["job"], "--clone-children", [scoped, "BAR:parent-%s=p" % cluster["uid"]])
    assert got[str(cluster["child"])]["FOO"] == "scoped" and got[str(cluster["job"])]["FOO"] == "j"
    assert got[str(cluster["parent"])]["BAR"] == "p" and "BAR" not in got[str(cluster["job"])]
    build = "scoped-" + cluster["uid"]
    run = ctl("test", "clone", "--id", str(cluster["job"]), "--clone-children", "--vars", scoped, "--vars",
              "BUILD=" + build, *server.cli_creds())
    assert run.status == 0, run.message
    new_child = api_get(api, "jobs/%d" % run.returns["clones"][str(cluster["child"])])["job"]
    assert new_child["settings"]["FOO"] == "scoped"


def test_repeat_makes_numbered_clones_once(server, ctl, api, make_job):
    source = make_job(result="failed", TEST="rep-" + uuid.uuid4().hex[:8])
    args = ("test", "clone", "--id", str(source), "--repeat", "3", "--vars", "BUILD=rep" + uuid.uuid4().hex[:8],
            *server.cli_creds())
    check = ctl(*args, "--check")
    assert check.envelope["invocation"]["changed"] is True and len(check.returns["settings"]) == 3
    assert "--repeat 3" in check.returns["command"]
    first = ctl(*args)
    assert first.status == 0 and first.envelope["invocation"]["changed"] is True, first.message
    tests = [api_get(api, "jobs/%d" % r["id"])["job"]["test"] for r in first.returns["repeats"]]
    base = api_get(api, "jobs/%d" % source)["job"]["test"]
    assert tests == [base + "-1", base + "-2", base + "-3"]
    again = ctl(*args)
    assert again.envelope["invocation"]["changed"] is False
    assert [r["id"] for r in again.returns["repeats"]] == [r["id"] for r in first.returns["repeats"]]


def test_missing_assets_refuse_the_clone_unless_ignored(server, ctl, api, make_job):
    iso = "missing-%s.iso" % uuid.uuid4().hex[:8]
    source = make_job(result="failed", ISO=iso)
    build = "assets-" + uuid.uuid4().hex[:8]
    refused = ctl("test", "clone", "--id", str(source), "--vars", "BUILD=" + build, *server.cli_creds())
    assert refused.rc == 9 and refused.returns == {"missing_assets": ["iso/" + iso]}
    assert api_get(api, "jobs", build=build)["jobs"] == []
    run = ctl("test", "clone", "--id", str(source), "--vars", "BUILD=" + build, "--ignore-missing-assets",
              *server.cli_creds())
    assert run.status == 0 and "missing assets iso/" + iso in run.stderr
    assert "--ignore-missing-assets" in ctl("test", "clone", "--id", str(source), "--ignore-missing-assets",
                                            "--vars", "BUILD=x" + build, "--check").returns["command"]


def test_bad_scoped_key_is_invalid_input(server, ctl, make_job):
    source = make_job(result="failed")
    assert ctl("test", "clone", "--id", str(source), "--vars", "foo:bar=1", "--check").rc == 4


def test_module_and_cli_agree_on_the_new_options(server, ctl, module_direct, cluster):
    options = {"clone_children": True, "max_depth": 0, "skip_chained_deps": False, "parental_inheritance": True,
               "repeat": 2, "vars": ["FOO:child-%s=x" % cluster["uid"], "BAR=1"]}
    result = module_direct("test", dict(options, action="clone", id=[cluster["job"]], **server.creds()), check=True)
    run = ctl("test", "clone", "--id", str(cluster["job"]), "--clone-children", "--max-depth", "0",
              "--parental-inheritance", "--repeat", "2", "--vars", *options["vars"], "--check", *server.cli_creds())
    assert result["changed"] is True and result["returns"] == run.returns
    assert len(run.returns["settings"]) == 2 and len(run.returns["settings"][0]) == 5  # the whole cluster
