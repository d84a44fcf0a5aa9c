"""build search, info, restart, new and wait against the real server, as CLI and as module.

Every test works on builds of its own (a unique BUILD value); `new` schedules from the fixture
group's job templates (opensuse/Tumbleweed/DVD, 4 test suites per arch).
"""

from __future__ import annotations

import re
import typing as t
import uuid

import pytest
import requests
from conftest import api_get, api_post

from ansible_collections.openqa.client.plugins.module_utils import _builds, _runner
from ansible_collections.openqa.client.plugins.module_utils.client import OpenQAClient
from ansible_collections.openqa.client.plugins.module_utils.envelope import OpenQAError, Result

SUITES = ("gnome", "raid0", "raid1", "textmode")
MACHINE = {"x86_64": "64bit", "aarch64": "aarch64"}


def in_task_words(message: str) -> str:
    """A CLI message as the module words it (options, not flags)."""
    return _runner.task_wording(_builds.ENTRY, message)


def unique(prefix: str = "b") -> str:
    return "%s-%s" % (prefix, uuid.uuid4().hex[:12])


def run_verb(server, action: str, client: t.Optional[OpenQAClient] = None, **raw: t.Any) -> t.Tuple[Result, int]:
    """Call the verb in-process, as the CLI and the module do; also returns the requests it made."""
    client = client or OpenQAClient(server.url, **server.creds())
    declared = _builds.ENTRY.action(action)
    try:
        result = declared.run(client, _builds.ENTRY.prepare(declared, raw))
    except OpenQAError as error:  # as runner.execute turns it into the envelope
        result = Result.from_error(error)
    return result, client.request_count


def add_modules(server, job_id: int, results: t.Sequence[t.Tuple[str, str]]) -> None:
    """Module rows as a worker would upload them (nothing runs on this server)."""
    rows = ", ".join("(%d, '%s', 'tests/%s.pm', 'x', '%s', now(), now())" % (job_id, name, name, result)
                     for name, result in results)
    server.sql("INSERT INTO job_modules (job_id, name, script, category, result, t_created, t_updated) "
               "VALUES " + rows)


def seed(make_job, build: str, jobs: t.Sequence[t.Tuple[str, str, t.Optional[str]]], **settings: t.Any) -> dict:
    """Jobs (test, arch, result or None for scheduled) of one build -> {"arch/test": id}."""
    made = {}
    for test, arch, result in jobs:
        made["%s/%s" % (arch, test)] = make_job(result=result, BUILD=build, TEST=test, ARCH=arch,
                                                MACHINE=MACHINE[arch], **settings)
    return made


def iso_vars(build: str, arch: str = "x86_64", **extra: str) -> dict:
    return dict({"DISTRI": "opensuse", "VERSION": "Tumbleweed", "FLAVOR": "DVD", "ARCH": arch, "BUILD": build},
                **extra)


def var_flags(values: dict) -> list:
    return [flag for key, value in values.items() for flag in ("--vars", "%s=%s" % (key, value))]


def product_count(server, build: str) -> int:
    return int(server.sql("SELECT count(*) FROM scheduled_products WHERE build='%s'" % build))


@pytest.fixture(scope="module")
def own_groups(api) -> t.List[dict]:
    """Two job groups of this module's own, so the builds put there stay out of the fixture groups."""
    groups = []
    for _group in range(2):
        name = unique("build-tests")
        groups.append({"id": api_post(api, "job_groups", name=name)["id"], "name": name})
    return groups


# ------------------------------------------------------------------------------------------- info

@pytest.fixture
def mixed_build(server, make_job) -> t.Tuple[str, dict]:
    build = unique()
    ids = seed(make_job, build, [("textmode", "x86_64", "passed"), ("raid0", "x86_64", "failed"),
                                 ("raid0", "aarch64", "softfailed"), ("raid1", "x86_64", None),
                                 ("gnome", "aarch64", "incomplete")])
    add_modules(server, ids["x86_64/raid0"], [("boot", "passed"), ("first_boot", "failed"), ("later", "failed")])
    return build, ids


def test_info_shape_and_first_failed_module_in_cli_and_module(server, ctl, module, mixed_build):
    build, ids = mixed_build
    expected = [
        {"name": "gnome", "tests": [{"arch": "aarch64", "machine": "aarch64", "id": ids["aarch64/gnome"],
                                     "status": "incomplete", "failure": None}]},
        {"name": "raid0", "tests": [
            {"arch": "aarch64", "machine": "aarch64", "id": ids["aarch64/raid0"], "status": "softfailed"},
            {"arch": "x86_64", "machine": "64bit", "id": ids["x86_64/raid0"], "status": "failed",
             "failure": "first_boot"}]},
        {"name": "raid1", "tests": [{"arch": "x86_64", "machine": "64bit", "id": ids["x86_64/raid1"],
                                     "status": "scheduled"}]},
        {"name": "textmode", "tests": [{"arch": "x86_64", "machine": "64bit", "id": ids["x86_64/textmode"],
                                        "status": "passed"}]},
    ]
    cli = ctl("build", "info", "--id", build)
    mod = module("build", {"action": "info", "id": build})
    assert cli.rc == 0 and cli.envelope == {"invocation": {"status": 0, "message": "ok"}, "returns": expected}
    assert mod.rc == 0 and (mod.status, mod.returns, mod.result["changed"]) == (0, expected, False)


def test_info_bugs_adds_the_newest_bug_reference_of_not_ok_jobs(server, ctl, module, api, mixed_build):
    build, ids = mixed_build
    failed, incomplete = ids["x86_64/raid0"], ids["aarch64/gnome"]
    api_post(api, "jobs/%d/comments" % failed, text="poo#1 first guess")
    api_post(api, "jobs/%d/comments" % failed, text="bsc#1065150 the real cause")
    api_post(api, "jobs/%d/comments" % ids["x86_64/textmode"], text="bsc#999 on a passed job: not asked for")
    cli = ctl("build", "info", "--id", build, "--bugs")
    mod = module("build", {"action": "info", "id": build, "bugs": True})
    tests = {test["id"]: test for name in cli.returns for test in name["tests"]}
    assert tests[failed]["bug"] == "bsc#1065150" and tests[failed]["failure"] == "first_boot"
    assert "bug" not in tests[incomplete] and "bug" not in tests[ids["x86_64/textmode"]]
    assert cli.status == mod.status == 0 and mod.returns == cli.returns
    assert "bug" not in str(ctl("build", "info", "--id", build).returns)


def test_info_bugs_costs_one_request_per_not_ok_job(server, mixed_build):
    build, _ids = mixed_build
    _result, plain = run_verb(server, "info", id=build)
    _result, with_bugs = run_verb(server, "info", id=build, bugs=True)
    assert with_bugs == plain + 2  # x86_64 raid0 failed, aarch64 gnome incomplete


@pytest.mark.parametrize("args, wanted", [
    ({"name": "RAID"}, ["aarch64/raid0", "x86_64/raid0", "x86_64/raid1"]),
    ({"filter": ["status=failure"]}, ["aarch64/gnome", "x86_64/raid0"]),
    ({"name": "raid", "filter": ["status=failure"]}, ["x86_64/raid0"]),
    ({"filter": ["name=raid", "status=ok"]}, ["aarch64/raid0"]),
    ({"arch": "aarch64", "filter": ["name=raid"]}, ["aarch64/raid0"]),
    ({"filter": ["status=failed,incomplete", "arch=aarch64"]}, ["aarch64/gnome"]),
    ({"filter": ["name=textmode,raid1"]}, ["x86_64/raid1", "x86_64/textmode"]),
    ({"filter": ["status=scheduled", "name=textmode"]}, []),
])
def test_info_filters_combine_with_and(server, mixed_build, args, wanted):
    build, ids = mixed_build
    result, _count = run_verb(server, "info", id=build, **args)
    found = sorted(test["id"] for entry in result.returns for test in entry["tests"])
    assert result.status == 0 and found == sorted(ids[key] for key in wanted)


@pytest.mark.parametrize("bad, hint", [("bogus=1", "unknown filter 'bogus'"), ("status=faild", "unknown status faild"),
                                       ("name=", "has no value")])
def test_bad_filter_is_status_4_in_cli_and_module(server, ctl, module, mixed_build, bad, hint):
    build, _ids = mixed_build
    cli = ctl("build", "info", "--id", build, "--filter", bad)
    mod = module("build", {"action": "info", "id": build, "filter": [bad]})
    assert cli.rc == cli.status == 4 and hint in cli.message and "returns" not in cli.envelope
    assert mod.rc != 0 and mod.status == 4 and mod.result["msg"] == cli.message


def test_info_reports_the_latest_job_of_each_scenario(server, api, make_job):
    build = unique()
    ids = seed(make_job, build, [("raid0", "x86_64", "failed"), ("raid1", "x86_64", "passed")])
    clone = api_post(api, "jobs/%d/restart" % ids["x86_64/raid0"])["result"][0][str(ids["x86_64/raid0"])]
    result, _count = run_verb(server, "info", id=build)
    assert result.returns == [{"name": "raid0", "tests": [{"arch": "x86_64", "machine": "64bit", "id": clone,
                                                           "status": "scheduled"}]},
                              {"name": "raid1", "tests": [{"arch": "x86_64", "machine": "64bit",
                                                           "id": ids["x86_64/raid1"], "status": "passed"}]}]


def test_info_tells_machines_apart_and_names_flavors_when_several(server, make_job):
    build = unique()
    uefi = make_job(result="passed", BUILD=build, TEST="textmode", MACHINE="uefi")
    plain = make_job(result="failed", BUILD=build, TEST="textmode")
    result, _count = run_verb(server, "info", id=build)
    assert [(e["machine"], e["id"]) for e in result.returns[0]["tests"]] == [("64bit", plain), ("uefi", uefi)]
    assert all("flavor" not in e for e in result.returns[0]["tests"])  # one flavor: said once is enough
    net = make_job(result="passed", BUILD=build, TEST="textmode", FLAVOR="NET")
    result, _count = run_verb(server, "info", id=build)
    assert [(e["flavor"], e["machine"], e["id"]) for e in result.returns[0]["tests"]] == [
        ("DVD", "64bit", plain), ("NET", "64bit", net), ("DVD", "uefi", uefi)]


def test_unknown_build_info_is_status_2_and_restart_is_no_build_found(server, ctl, module):
    build = unique("missing")
    cli_info = ctl("build", "info", "--id", build)
    mod_info = module("build", {"action": "info", "id": build})
    assert cli_info.rc == cli_info.status == 2 and cli_info.message.startswith("unknown build")
    assert mod_info.status == 2 and mod_info.result["msg"] == cli_info.message
    cli = ctl("build", "restart", "--id", build, "--name", "raid", *server.cli_creds())
    mod = module("build", {"action": "restart", "id": build, "name": "raid", **server.creds()})
    not_found = {"ids": [], "clones": {}, "found": False}
    assert cli.rc == 0 and cli.envelope == {"invocation": {"status": 0, "message": "no build found", "changed": False},
                                            "returns": not_found}
    assert mod.rc == 0 and (mod.status, mod.result["msg"], mod.returns, mod.result["changed"]) == \
        (0, "no build found", not_found, False)


# ------------------------------------------------------------------------------------------- search

def test_search_lists_matching_build_names_newest_first(server, ctl, module, make_job, own_groups):
    group = own_groups[0]
    stem = uuid.uuid4().hex[:8]
    names = ["%s.%d" % (stem, n) for n in (1, 2, 3)]
    for name in names:
        make_job(BUILD=name, TEST="textmode", _GROUP_ID=group["id"])
    make_job(BUILD="other-%s" % stem, TEST="textmode", _GROUP_ID=group["id"])
    cli = ctl("build", "search", "--groupid", str(group["id"]), "--name", stem + ".")
    mod = module("build", {"action": "search", "group": group["name"], "name": stem.upper() + "."})
    assert cli.rc == 0 and cli.envelope == {"invocation": {"status": 0, "message": "ok"},
                                            "returns": {"ids": names[::-1]}}
    assert (mod.status, mod.returns) == (0, {"ids": names[::-1]})
    everything = ctl("build", "search", "--group", str(group["id"]))
    assert everything.returns["ids"][:4] == ["other-%s" % stem] + names[::-1]
    assert ctl("build", "search", "--groupid", str(group["id"]), "--version", "15").returns == {"ids": []}
    assert ctl("build", "search", "--groupid", str(group["id"]), "--distri", "opensuse",
               "--version", "Tumbleweed", "--name", stem + ".2").returns == {"ids": [names[1]]}


def test_search_unknown_group_is_status_2(server, ctl, module):
    cli = ctl("build", "search", "--groupid", "987654")
    mod = module("build", {"action": "search", "group": unique("no-such-group")})
    assert cli.rc == cli.status == 2 and cli.message.startswith("unknown group")
    assert mod.status == 2 and mod.result["msg"].startswith("unknown group")
    assert ctl("build", "search").status == 4


# ------------------------------------------------------------------------------------------- restart

RESTART_SHAPE = [("textmode", "x86_64", "passed"), ("raid0", "x86_64", "failed"), ("raid1", "x86_64", "incomplete"),
                 ("raid0", "aarch64", "softfailed"), ("gnome", "x86_64", None)]


def test_restart_with_filters_in_cli_and_module_then_nothing_left(server, ctl, module, api, make_job):
    runs = {}
    for kind in ("cli", "module"):
        build = unique()
        ids = seed(make_job, build, RESTART_SHAPE)
        args = {"id": build, "name": "raid", "filter": ["status=failure"]}
        if kind == "cli":
            run = ctl("build", "restart", "--id", build, "--name", "raid", "--filter", "status=failure",
                      *server.cli_creds())
            first = (run.status, run.message, run.envelope["invocation"]["changed"], run.returns)
            again = ctl("build", "restart", "--id", build, "--name", "raid", "--filter", "status=failure",
                        *server.cli_creds())
            second = (again.status, again.message, again.envelope["invocation"]["changed"], again.returns)
        else:
            run = module("build", dict(args, action="restart", **server.creds()))
            first = (run.status, run.result["msg"], run.result["changed"], run.returns)
            again = module("build", dict(args, action="restart", **server.creds()))
            second = (again.status, again.result["msg"], again.result["changed"], again.returns)
        clones = {old: api_get(api, "jobs/%d" % ids[old])["job"]["clone_id"]
                  for old in ("x86_64/raid0", "x86_64/raid1")}
        restarted = "restarted " + ", ".join("%d as %d" % (ids[old], new) for old, new in sorted(clones.items()))
        assert first == (0, restarted, True, {"ids": sorted(clones.values()), "found": True,
                                              "clones": {str(ids[old]): new for old, new in clones.items()}})
        untouched = [key for key in ids if key not in clones]
        assert all(api_get(api, "jobs/%d" % ids[key])["job"]["clone_id"] is None for key in untouched)
        assert (second[0], second[2:]) == (0, (False, {"ids": [], "clones": {}, "found": True}))
        assert second[1].startswith("nothing to restart: no finished job of the build matches the filters (")
        assert "still scheduled or running" in second[1]  # the restarts just made
        runs[kind] = (first[0], first[2], second)
    assert runs["cli"] == runs["module"]


def test_restart_check_mode_lists_and_changes_nothing(server, ctl, module, api, make_job):
    build = unique()
    ids = seed(make_job, build, RESTART_SHAPE)
    cli = ctl("build", "restart", "--id", build, "--filter", "status=failure", "--check", *server.cli_creds())
    mod = module("build", {"action": "restart", "id": build, "filter": "status=failure", **server.creds()},
                 check=True)
    expected = {"ids": [], "clones": {str(ids["x86_64/raid0"]): None, str(ids["x86_64/raid1"]): None},
                "found": True}
    assert (cli.status, cli.envelope["invocation"]["changed"], cli.returns) == (0, True, expected)
    assert (mod.status, mod.result["changed"], mod.returns, mod.result["msg"]) == (0, True, expected, cli.message)
    assert cli.message.startswith("would restart")
    assert all(api_get(api, "jobs/%d" % job_id)["job"]["clone_id"] is None for job_id in ids.values())


def test_restart_of_a_child_follows_test_restart_dependency_rules(server, api, make_job):
    build = unique()
    parent = make_job(BUILD=build, TEST="textmode")
    child = make_job(BUILD=build, TEST="gnome", _START_AFTER_JOBS=parent)
    api_post(api, "jobs/%d/set_done" % parent, result="failed")  # openQA cancels the chained child: skipped
    assert api_get(api, "jobs/%d" % child)["job"]["result"] == "skipped"
    result, _count = run_verb(server, "restart", id=build, name="gnome")
    new_parent = api_get(api, "jobs/%d" % parent)["job"]["clone_id"]
    new_child = api_get(api, "jobs/%d" % child)["job"]["clone_id"]
    assert result.status == 0 and result.changed and new_parent and new_child
    assert sorted(result.returns["ids"]) == sorted([new_parent, new_child])


def test_restart_failures_of_a_failed_chained_parent_and_its_skipped_child(server, ctl, api, make_job):
    build = unique()
    parent = make_job(BUILD=build, TEST="textmode")
    child = make_job(BUILD=build, TEST="gnome", _START_AFTER_JOBS=parent)
    api_post(api, "jobs/%d/set_done" % parent, result="failed")
    run = ctl("build", "restart", "--id", build, "--filter", "status=failure", *server.cli_creds())
    new_ids = sorted(api_get(api, "jobs/%d" % job)["job"]["clone_id"] for job in (parent, child))
    assert (run.rc, run.envelope["invocation"]["changed"], run.returns["ids"]) == (0, True, new_ids)
    assert run.message == "restarted %d as %d, %d as %d" % (parent, new_ids[0], child, new_ids[1])


def test_restart_max_attempts_restarts_each_scenario_once_in_cli_and_module(server, ctl, module, api, make_job):
    build = unique()
    ids = seed(make_job, build, [("raid0", "x86_64", "failed"), ("raid1", "x86_64", "failed")])
    args = ("build", "restart", "--id", build, "--filter", "status=failure", "--max-attempts", "2")
    first = ctl(*args, *server.cli_creds())
    clones = {key: api_get(api, "jobs/%d" % ids[key])["job"]["clone_id"] for key in ids}
    assert (first.status, first.envelope["invocation"]["changed"], sorted(first.returns["ids"])) == (
        0, True, sorted(clones.values()))
    api_post(api, "jobs/%d/set_done" % clones["x86_64/raid0"], result="failed")
    api_post(api, "jobs/%d/set_done" % clones["x86_64/raid1"], result="failed")
    second = ctl(*args, *server.cli_creds())
    assert (second.rc, second.envelope["invocation"]["changed"], second.returns["ids"]) == (0, False, [])
    assert second.message == "nothing to restart: not restarted, already run 2 times " \
        "(max_attempts): %d, %d" % tuple(sorted(clones.values()))
    mod = module("build", {"action": "restart", "id": build, "filter": "status=failure", "max_attempts": 2,
                           **server.creds()})
    assert (mod.status, mod.result["changed"], mod.result["msg"]) == (0, False, second.message)
    assert all(api_get(api, "jobs/%d" % new)["job"]["clone_id"] is None for new in clones.values())
    # a third scenario that never ran twice is still restarted next to them
    third = make_job(result="failed", BUILD=build, TEST="textmode")
    mixed = ctl(*args, *server.cli_creds())
    assert mixed.status == 0 and mixed.envelope["invocation"]["changed"]
    assert mixed.returns["ids"] == [api_get(api, "jobs/%d" % third)["job"]["clone_id"]]
    assert mixed.message == "restarted %d as %d; not restarted, already run 2 times (max_attempts): %d, %d" \
        % ((third, mixed.returns["ids"][0]) + tuple(sorted(clones.values())))


def test_same_build_in_two_groups_is_ambiguous_until_narrowed(server, ctl, module, api, make_job, own_groups):
    build = unique()
    first = make_job(result="failed", BUILD=build, TEST="raid0", _GROUP_ID=own_groups[0]["id"])
    second = make_job(result="failed", BUILD=build, TEST="raid0", _GROUP_ID=own_groups[1]["id"])
    cli = ctl("build", "restart", "--id", build, *server.cli_creds())
    mod = module("build", {"action": "restart", "id": build, **server.creds()})
    candidates = [{"group": g["name"], "groupid": g["id"], "distri": "opensuse", "version": "Tumbleweed"}
                  for g in own_groups]
    assert cli.rc == cli.status == 3 and cli.message.startswith("ambiguous options")
    assert cli.returns == {"candidates": candidates}
    assert mod.status == 3 and mod.returns == cli.returns and mod.result["msg"] == in_task_words(cli.message)
    assert api_get(api, "jobs/%d" % first)["job"]["clone_id"] is None
    # reads resolve the build the same way: a gate must not judge another group's jobs
    for action in ("info", "wait"):
        read = ctl("build", action, "--id", build)
        assert (read.rc, read.status, read.message, read.returns) == (3, 3, cli.message, cli.returns)
    read = module("build", {"action": "info", "id": build})
    assert (read.status, read.returns) == (3, {"candidates": candidates})
    narrowed_info = ctl("build", "info", "--id", build, "--group", own_groups[0]["name"])
    assert narrowed_info.status == 0 and [t["id"] for t in narrowed_info.returns[0]["tests"]] == [first]
    narrowed = ctl("build", "restart", "--id", build, "--groupid", str(own_groups[1]["id"]), *server.cli_creds())
    assert narrowed.status == 0 and narrowed.returns["ids"] == [api_get(api, "jobs/%d" % second)["job"]["clone_id"]]
    assert api_get(api, "jobs/%d" % first)["job"]["clone_id"] is None


def test_same_build_in_two_versions_is_narrowed_by_version(server, ctl, make_job):
    build = unique()
    make_job(result="failed", BUILD=build, TEST="raid0")
    make_job(result="failed", BUILD=build, TEST="raid0", VERSION="15.6")
    ambiguous = ctl("build", "restart", "--id", build, "--check", *server.cli_creds())
    assert ambiguous.status == 3 and len(ambiguous.returns["candidates"]) == 2
    narrowed = ctl("build", "restart", "--id", build, "--version", "15.6", "--check", *server.cli_creds())
    assert narrowed.status == 0 and len(narrowed.returns["clones"]) == 1 and narrowed.returns["ids"] == []


# ------------------------------------------------------------------------------------------- new

def test_new_twice_schedules_once_in_cli_and_module(server, ctl, module, api):
    build = unique()
    values = iso_vars(build)
    group = str(server.fixture["group_id"])
    check = ctl("build", "new", "--group", group, *var_flags(values), "--check", *server.cli_creds())
    assert (check.status, check.envelope["invocation"]["changed"]) == (0, True)
    assert check.message.startswith("would schedule") and product_count(server, build) == 0
    first = ctl("build", "new", "--group", group, *var_flags(values), *server.cli_creds())
    assert (first.status, first.envelope["invocation"]["changed"]) == (0, True)
    ids = first.returns["ids"]
    assert first.message == "scheduled opensuse-Tumbleweed-DVD-x86_64 build %s as jobs %s (scheduled product %s)" \
        % (build, ", ".join(map(str, ids)), first.returns["scheduled_product_id"])
    assert len(ids) == len(SUITES)
    second = module("build", {"action": "new", "group": group, "vars": values, **server.creds()})
    expected = {"ids": ids, "scheduled_product_id": None}
    assert (second.status, second.result["changed"], second.returns) == (0, False, expected)
    assert second.result["msg"].startswith("already scheduled: 4 jobs")
    third = module("build", {"action": "new", "group": group, "vars": values, **server.creds()}, check=True)
    assert (third.status, third.result["changed"], third.returns["ids"]) == (0, False, ids)
    jobs = api_get(api, "jobs", build=build)["jobs"]
    assert sorted(job["id"] for job in jobs) == ids and sorted(job["test"] for job in jobs) == list(SUITES)
    assert product_count(server, build) == 1
    product = api_get(api, "isos/%d" % first.returns["scheduled_product_id"])
    assert product["build"] == build and sorted(product["results"]["successful_job_ids"]) == ids


def test_new_force_schedules_again_and_a_cancelled_build_stays_cancelled(server, ctl, api):
    build = unique()
    flags = ["--group", str(server.fixture["group_id"]), *var_flags(iso_vars(build, TEST="raid0")),
             *server.cli_creds()]
    first = ctl("build", "new", *flags)
    assert first.returns["ids"] and len(first.returns["ids"]) == 1
    forced = ctl("build", "new", *flags, "--force")
    assert forced.status == 0 and forced.envelope["invocation"]["changed"] is True
    assert set(forced.returns["ids"]).isdisjoint(first.returns["ids"]) and product_count(server, build) == 2
    for job_id in first.returns["ids"] + forced.returns["ids"]:
        api_post(api, "jobs/%d/cancel" % job_id)
    # a person cancelled it: left alone unless force (issue 25)
    again = ctl("build", "new", *flags)
    assert again.envelope["invocation"]["changed"] is False and product_count(server, build) == 2
    assert "cancelled by a person, which is left alone" in again.message
    forced = ctl("build", "new", *flags, "--force")
    assert forced.envelope["invocation"]["changed"] is True and product_count(server, build) == 3


def _normalised(text: str, build: str) -> str:
    return re.sub(r"\d+", "N", text.replace(build, "BUILD"))


NEW_ERRORS = {
    # name: (vars, group, status, message start)
    "missing parameters": ({"DISTRI": "opensuse"}, None, 4, "missing parameters: VERSION FLAVOR ARCH BUILD"),
    "no products": ({"DISTRI": "sle", "VERSION": "15", "FLAVOR": "Online", "ARCH": "s390x"}, None, 4,
                    "openQA scheduled nothing: no products found for sle-Online-s390x"),
    "unknown group id": ({}, "987654", 2, "unknown group: there is no job group 987654 on "),
    "unknown group name": ({}, "no such group", 2, "unknown group: there is no job group named 'no such group' on "),
    "no templates in group": ({}, "OTHER", 2, "no job templates: POST isos: not found (no templates found"),
    "no template matches": ({"TEST": "nosuchtest"}, None, 9, "openQA scheduled no job for opensuse-Tumbleweed-DVD"),
    "failed jobs": ({"TEST": "raid0", "START_AFTER_TEST": "nothere"}, None, 9,
                    "openQA created 0 jobs and failed 1: START_AFTER_TEST=nothere@64bit not found"),
}


@pytest.mark.parametrize("case", sorted(NEW_ERRORS))
def test_new_error_answers_are_surfaced_alike_in_cli_and_module(server, ctl, module, case):
    extra, group, status, start = NEW_ERRORS[case]
    group = {None: str(server.fixture["group_id"]), "OTHER": server.fixture["other_group_name"]}.get(group, group)
    seen = {}
    for kind in ("cli", "module"):
        build = unique()
        values = dict(iso_vars(build), **extra) if case != "missing parameters" else extra
        if kind == "cli":
            run = ctl("build", "new", "--group", group, *var_flags(values), *server.cli_creds())
            seen[kind] = (run.status, _normalised(in_task_words(run.message), build), run.returns)
        else:
            run = module("build", {"action": "new", "group": group, "vars": values, **server.creds()})
            seen[kind] = (run.status, _normalised(run.result["msg"], build), run.returns)
        assert seen[kind][0] == status and seen[kind][1].startswith(_normalised(in_task_words(start), build)), \
            seen[kind]
    assert seen["cli"][:2] == seen["module"][:2]
    cli_returns, mod_returns = seen["cli"][2], seen["module"][2]
    assert (cli_returns is None) == (mod_returns is None)
    if cli_returns is not None:
        assert cli_returns.keys() == mod_returns.keys() and cli_returns["ids"] == mod_returns["ids"] == []
        if case == "failed jobs":
            assert len(cli_returns["failed"]) == len(mod_returns["failed"]) == 1


@pytest.mark.parametrize("case", sorted(set(NEW_ERRORS) - {"failed jobs"}))
def test_new_check_mode_predicts_the_failure_with_the_same_status(server, ctl, module, case):
    extra, group, status, _start = NEW_ERRORS[case]
    group = {None: str(server.fixture["group_id"]), "OTHER": server.fixture["other_group_name"]}.get(group, group)
    build = unique()
    values = dict(iso_vars(build), **extra) if case != "missing parameters" else extra
    run = ctl("build", "new", "--group", group, *var_flags(values), "--check", *server.cli_creds())
    mod = module("build", {"action": "new", "group": group, "vars": values, **server.creds()}, check=True)
    assert (run.rc, run.status, mod.status, mod.result["msg"]) == (status, status, status, in_task_words(run.message))
    assert "would" in run.message or case.startswith(("unknown group", "missing"))
    assert product_count(server, build) == 0


def test_new_unknown_group_posts_nothing(server, ctl):
    build = unique()
    run = ctl("build", "new", "--group", "no such group", *var_flags(iso_vars(build)), *server.cli_creds())
    assert run.status == 2 and product_count(server, build) == 0


def test_new_check_mode_counts_the_templates_it_would_schedule(server, ctl):
    build = unique()
    run = ctl("build", "new", "--group", server.fixture["group_name"], *var_flags(iso_vars(build, "aarch64")),
              "--vars", "TEST=raid0,raid1", "--check", *server.cli_creds())
    assert (run.status, run.envelope["invocation"]["changed"]) == (0, True)
    assert run.message == "would schedule opensuse-Tumbleweed-DVD-aarch64 build %s (POST isos): 2 jobs, one per " \
        "matching job template" % build


class _LosesAnswerOfPostIsos(requests.Session):
    """Delivers POST isos to the real server, then loses the answer the way a network or proxy can."""

    def __init__(self, fault: str) -> None:
        super().__init__()
        self.fault = fault
        self.posts = 0

    def request(self, method, url, *args, **kwargs):  # pylint: disable=arguments-differ
        if method != "POST" or not url.endswith("/isos"):
            return super().request(method, url, *args, **kwargs)
        self.posts += 1
        if self.fault == "lost before the server":
            raise requests.exceptions.ConnectionError("Connection aborted: RemoteDisconnected")
        super().request(method, url, *args, **kwargs)
        if self.fault == "connection dropped":
            raise requests.exceptions.ConnectionError("Connection aborted: RemoteDisconnected")
        proxy_answer = requests.Response()
        proxy_answer.status_code, proxy_answer.url, proxy_answer._content = 502, url, b"Bad Gateway"
        proxy_answer.headers["Content-Type"] = "text/plain"
        return proxy_answer


@pytest.mark.parametrize("fault", ["connection dropped", "502 from a proxy"])
def test_new_whose_answer_is_lost_reads_back_instead_of_posting_again(server, api, fault):
    build = unique()
    session = _LosesAnswerOfPostIsos(fault)
    client = OpenQAClient(server.url, **server.creds(), session=session)
    result, _count = run_verb(server, "new", client=client, group=str(server.fixture["group_id"]),
                              vars=iso_vars(build))
    jobs = sorted(job["id"] for job in api_get(api, "jobs", build=build)["jobs"])
    assert session.posts == 1 and product_count(server, build) == 1
    assert (result.status, result.changed, result.returns) == (0, True, {"ids": jobs, "scheduled_product_id": None})
    assert len(jobs) == len(SUITES) and "answer to POST isos was lost" in result.warnings[0]


def test_new_whose_post_never_arrived_says_nothing_was_scheduled(server):
    build = unique()
    session = _LosesAnswerOfPostIsos("lost before the server")
    client = OpenQAClient(server.url, **server.creds(), session=session)
    result, _count = run_verb(server, "new", client=client, group=str(server.fixture["group_id"]),
                              vars=iso_vars(build))
    assert session.posts == 1 and product_count(server, build) == 0
    assert result.status == 1 and "nothing was scheduled: run it again" in result.message


# ------------------------------------------------------------------------------------------- wait

def statuses(returns: t.List[dict]) -> t.Dict[int, str]:
    """build info's (and build wait's) answer as {job id: status}."""
    return {test["id"]: test["status"] for name in returns for test in name["tests"]}


def test_wait_answers_as_info_does_and_is_not_ok_in_cli_and_module(server, ctl, module, make_job):
    build = unique()
    ids = seed(make_job, build, [("textmode", "x86_64", "passed"), ("raid0", "x86_64", "softfailed"),
                                 ("raid1", "x86_64", "failed")])
    add_modules(server, ids["x86_64/raid1"], [("boot", "passed"), ("partitioning", "failed")])
    ok = ctl("build", "wait", "--id", build, "--name", "textmode")
    assert ok.status == 0 and statuses(ok.returns) == {ids["x86_64/textmode"]: "passed"}
    assert ok.returns == ctl("build", "info", "--id", build, "--name", "textmode").returns
    cli = ctl("build", "wait", "--id", build, "--timeout", "10")
    mod = module("build", {"action": "wait", "id": build, "timeout": "10"})
    assert cli.rc == cli.status == 7 and cli.returns == ctl("build", "info", "--id", build).returns
    assert statuses(cli.returns) == {ids["x86_64/textmode"]: "passed", ids["x86_64/raid0"]: "softfailed",
                                     ids["x86_64/raid1"]: "failed"}
    assert [test["failure"] for name in cli.returns for test in name["tests"] if "failure" in test] == \
        ["partitioning"]
    assert cli.message == "finished, not ok: %d failed" % ids["x86_64/raid1"]
    assert mod.status == 7 and mod.returns == cli.returns and mod.result["msg"] == cli.message


def test_wait_times_out_on_pending_jobs_and_follows_restarts(server, ctl, api, make_job):
    build = unique()
    ids = seed(make_job, build, [("raid0", "x86_64", "failed"), ("raid1", "x86_64", "passed")])
    clone = api_post(api, "jobs/%d/restart" % ids["x86_64/raid0"])["result"][0][str(ids["x86_64/raid0"])]
    pending = ctl("build", "wait", "--id", build, "--timeout", "0")
    assert pending.status == 8 and statuses(pending.returns) == {clone: "scheduled", ids["x86_64/raid1"]: "passed"}
    api_post(api, "jobs/%d/set_done" % clone, result="passed")
    done = ctl("build", "wait", "--id", build, "--timeout", "0")
    assert done.status == 0 and statuses(done.returns) == {clone: "passed", ids["x86_64/raid1"]: "passed"}


def test_wait_in_check_mode_returns_at_once_in_cli_and_module(server, ctl, module, make_job):
    build = unique()
    ids = seed(make_job, build, [("raid0", "x86_64", None), ("raid1", "x86_64", "failed")])
    words = {ids["x86_64/raid0"]: "scheduled", ids["x86_64/raid1"]: "failed"}
    # a real wait would block for an hour (the subprocess gives up after 5 minutes)
    cli = ctl("build", "wait", "--id", build, "--timeout", "1h", "--check")
    mod = module("build", {"action": "wait", "id": build, "timeout": "1h"}, check=True)
    # raid1 failed and nothing restarts it: the verdict is known although raid0 is pending
    assert (cli.rc, statuses(cli.returns), cli.message) == (
        7, words, "check mode: would fail: finished, not ok: %d failed; 1 jobs are pending (%d)"
        % (ids["x86_64/raid1"], ids["x86_64/raid0"]))
    assert (mod.status, mod.returns, mod.result["msg"]) == (7, cli.returns, cli.message)
    # the build a check-mode 'build new' would have scheduled does not exist: no verdict yet
    missing = ctl("build", "wait", "--id", unique(), "--check")
    assert (missing.rc, missing.returns) == (10, [])
    assert missing.message.startswith("check mode: cannot know yet: no job")
    assert ctl("build", "wait", "--id", unique()).status == 2


def test_wait_max_attempts_restarts_each_failure_once_and_waits_for_it(server, ctl, module, api, make_job):
    """The gate's "retry each failure once" in one step: the poll's listing picks the failures, one POST."""
    build = unique()
    ids = seed(make_job, build, [("raid0", "x86_64", "failed"), ("raid1", "x86_64", "passed")])
    failed, passed = str(ids["x86_64/raid0"]), str(ids["x86_64/raid1"])
    args = ("build", "wait", "--id", build, "--max-attempts", "2", "--timeout", "0", *server.cli_creds())
    check = ctl(*args, "--check")
    assert (check.rc, statuses(check.returns)) == (10, {int(failed): "failed", int(passed): "passed"})
    assert check.message == "check mode: cannot know yet: would restart %s (max_attempts 2) and wait for them" % failed
    assert api_get(api, "jobs/%s" % failed)["job"]["clone_id"] is None
    first = ctl(*args)
    clone = api_get(api, "jobs/%s" % failed)["job"]["clone_id"]
    assert clone and (first.status, first.envelope["invocation"]["changed"]) == (8, True)
    # the restart stands for the failed job, as build info would show it
    assert statuses(first.returns) == {clone: "scheduled", int(passed): "passed"}
    assert first.message.startswith("restarted %s as %d (max_attempts 2); timeout after 0 s" % (failed, clone))
    # the restart is pending: nothing more to restart; once it failed too, the scenario has had its 2 runs
    # (a read shows "changed" in its envelope only when it did change something)
    assert ctl(*args).envelope["invocation"] == {"status": 8, "message": "timeout after 0 s: still pending: %d"
                                                 % clone}
    api_post(api, "jobs/%d/set_done" % clone, result="failed")
    used_up = ctl(*args)
    assert used_up.status == 7 and "changed" not in used_up.envelope["invocation"]
    assert statuses(used_up.returns) == {clone: "failed", int(passed): "passed"}
    assert used_up.message == "finished, not ok: %d failed; not restarted, already run 2 times (max_attempts): " \
        "%d" % (clone, clone)
    mod = module("build", {"action": "wait", "id": build, "max_attempts": 2, "timeout": 0, **server.creds()})
    assert (mod.status, mod.result["changed"], mod.result["msg"]) == (7, False, used_up.message)
    assert api_get(api, "jobs/%d" % clone)["job"]["clone_id"] is None
    # without max_attempts a wait never restarts
    plain = seed(make_job, unique(), [("raid0", "x86_64", "failed")])["x86_64/raid0"]
    assert ctl("build", "wait", "--id", api_get(api, "jobs/%d" % plain)["job"]["settings"]["BUILD"]).status == 7
    assert api_get(api, "jobs/%d" % plain)["job"]["clone_id"] is None


def test_new_then_wait_reports_the_scheduled_jobs(server, ctl):
    build = unique()
    run = ctl("build", "new", "--group", str(server.fixture["group_id"]), *var_flags(iso_vars(build, "aarch64")),
              "--wait", "--timeout", "0", *server.cli_creds())
    assert run.status == 8 and run.envelope["invocation"]["changed"] is True
    assert sorted(run.returns) == ["ids", "results", "scheduled_product_id"]
    assert run.returns["results"] == {str(job_id): "scheduled" for job_id in run.returns["ids"]}


# ------------------------------------------------------------------------------------------- request counts

@pytest.fixture(scope="module")
def big_and_small_builds(api) -> dict:
    """A 1,000-job build and a 3-job build, each with exactly 3 failed jobs (the rest stay scheduled).

    The big one is created by one POST jobs with suffixed TEST:n settings (one request, ~11 s on
    this server; 1,000 single POSTs take ~18 s); the 3 failures come from set_done. No group, so
    the fixture groups' build lists stay as they were.
    """
    made = {}
    for size in (3, 1000):
        build = unique("size%d" % size)
        values = [("DISTRI", "opensuse"), ("VERSION", "Tumbleweed"), ("FLAVOR", "DVD"), ("ARCH", "x86_64"),
                  ("BUILD", build), ("MACHINE", "64bit")]
        values += [("TEST:%d" % n, "t%04d" % n) for n in range(size)]
        response = api.post(api.base + "jobs", data=values)
        response.raise_for_status()
        ids = sorted(response.json()["ids"].values())
        for job_id in ids[:3]:
            api_post(api, "jobs/%d/set_done" % job_id, result="failed")
        made[size] = {"build": build, "ids": ids}
    return made


@pytest.mark.parametrize("action, args", [
    ("info", {}),
    ("info", {"filter": ["status=failure"], "name": "t0"}),
    ("restart", {"filter": ["status=failure"]}),
])
def test_request_count_does_not_grow_with_the_build(server, big_and_small_builds, action, args):
    counts, sizes = {}, {}
    for size, build in big_and_small_builds.items():
        result, counts[size] = run_verb(server, action, id=build["build"], **args)
        assert result.status == 0, result.message
        sizes[size] = sum(len(e["tests"]) for e in result.returns) if action == "info" else len(result.returns["ids"])
    expected_sizes = {3: 3, 1000: 1000} if action == "info" and not args else {3: 3, 1000: 3}
    assert sizes == expected_sizes
    assert counts[3] == counts[1000] == {"info": 1, "restart": 2}[action], counts


def test_ad_hoc_vars_as_one_string_are_several_settings(server):
    """The issue's invocation: -a "action=new vars='DISTRI=... BUILD=...'" is five settings, not one."""
    import json
    import subprocess

    from conftest import _RESULT_LINE, _ansible_env

    build = unique()
    args = ("action=new host=%s vars='DISTRI=opensuse VERSION=Tumbleweed FLAVOR=DVD ARCH=x86_64 BUILD=%s'"
            % (server.url, build))
    proc = subprocess.run(["ansible", "localhost", "-m", "openqa.client.openqa_build", "-a", args, "--check"],
                          capture_output=True, text=True, env=_ansible_env(None), timeout=300, check=False)
    match = list(_RESULT_LINE.finditer(proc.stdout))[-1]
    result = json.JSONDecoder().raw_decode(proc.stdout[match.end():])[0]
    assert (proc.returncode, result["status"], result["changed"]) == (0, 0, True), proc.stdout
    assert result["msg"].startswith("would schedule opensuse-Tumbleweed-DVD-x86_64 build %s (POST isos)" % build)


class _RacedClient(OpenQAClient):
    """A run whose restart POST is preceded by a whole other run: the other one listed the build, restarted
    its failures and finished before this run's POST reaches openQA."""

    def __init__(self, url: str, other: t.Callable[[], t.Any], **creds: t.Any) -> None:
        super().__init__(url, **creds)
        self.other: t.Optional[t.Callable[[], t.Any]] = other
        self.other_result: t.Any = None

    def request(self, method: str, path: str, params: t.Any = None) -> t.Any:
        if method == "POST" and path == "jobs/restart" and self.other is not None:
            other, self.other = self.other, None
            self.other_result = other()
        return super().request(method, path, params)


def test_two_waits_at_once_restart_once_and_only_one_reports_it(server, api, make_job):
    build = unique()
    failed = seed(make_job, build, [("raid0", "x86_64", "failed")])["x86_64/raid0"]
    action = _builds.ENTRY.action("wait")
    params = _builds.ENTRY.prepare(action, {"id": build, "max_attempts": 2, "timeout": 0})
    other = OpenQAClient(server.url, **server.creds())
    raced = _RacedClient(server.url, lambda: action.run(other, dict(params)), **server.creds())
    second = action.run(raced, dict(params))
    first = raced.other_result
    clone = api_get(api, "jobs/%d" % failed)["job"]["clone_id"]
    assert clone and api_get(api, "jobs/%d" % clone)["job"]["clone_id"] is None
    assert (first.status, first.changed) == (8, True) and first.message.startswith(
        "restarted %d as %d (max_attempts 2)" % (failed, clone))
    assert (second.status, second.changed) == (8, False), second.message
    assert second.message.startswith("already restarted (meanwhile, by another run) %d as %d (max_attempts 2); "
                                     "timeout after 0 s" % (failed, clone))
    assert statuses(second.returns) == statuses(first.returns) == {clone: "scheduled"}
