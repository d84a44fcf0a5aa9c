"""group search and info against the real server, as CLI and as module."""

from __future__ import annotations

import typing as t
import uuid

import pytest
from conftest import api_get, api_post

from ansible_collections.openqa.client.plugins.module_utils import _groups
from ansible_collections.openqa.client.plugins.module_utils.client import OpenQAClient

OK = {"status": 0, "message": "ok"}


def unique(prefix: str) -> str:
    return "%s %s" % (prefix, uuid.uuid4().hex[:10])


@pytest.fixture
def own_group(api, make_job) -> t.Callable[..., dict]:
    """A job group of this test's own, in a parent group of its own, with three builds.

    0001: passed + failed; 0002: softfailed + incomplete + scheduled; 0003: cancelled.
    Each job of a build has its own TEST: the server counts one job per scenario.
    """

    def create(description: str = "made by test_group", **settings: t.Any) -> dict:
        parent_name = unique("WG Parent")
        parent_id = api_post(api, "parent_groups", name=parent_name, description="the WG groups",
                             default_priority=40)["id"]
        name = unique("WG Group (x86_64)")
        group_id = api_post(api, "job_groups", name=name, parent_id=parent_id, description=description,
                            default_priority=42, **settings)["id"]

        def job(build: str, test: str, result: t.Optional[str] = None) -> int:
            return make_job(result=result, BUILD=build, TEST=test, _GROUP_ID=group_id)

        jobs = {"0001": [job("0001", "a", "passed"), job("0001", "b", "failed")],
                "0002": [job("0002", "a", "softfailed"), job("0002", "b", "incomplete"), job("0002", "c")],
                "0003": [job("0003", "a")]}
        api_post(api, "jobs/%d/cancel" % jobs["0003"][0])
        return {"id": group_id, "name": name, "parent_id": parent_id, "parent_name": parent_name, "jobs": jobs}

    return create


def counts(build: str, passed=0, softfailed=0, failed=0, skipped=0, unfinished=0) -> dict:
    total = passed + softfailed + failed + skipped + unfinished
    return {"build": build, "version": "Tumbleweed", "passed": passed, "softfailed": softfailed, "failed": failed,
            "skipped": skipped, "unfinished": unfinished, "total": total}


EXPECTED_BUILDS = [counts("0003", skipped=1), counts("0002", softfailed=1, failed=1, unfinished=1),
                   counts("0001", passed=1, failed=1)]


# ------------------------------------------------------------------------------------------- search

def test_search_by_substring_is_case_insensitive(ctl, own_group):
    group = own_group()
    run = ctl("group", "search", "--name", group["name"].upper())
    assert run.envelope == {"invocation": OK, "returns": {"groups": [
        {"id": group["id"], "name": group["name"], "kind": "job_group", "builds": ["0003", "0002", "0001"]}]}}


def test_search_finds_parent_groups_with_their_childrens_builds(ctl, own_group):
    group = own_group()
    run = ctl("group", "search", "--name", group["parent_name"])
    assert run.returns == {"groups": [{"id": group["parent_id"], "name": group["parent_name"],
                                       "kind": "parent_group", "builds": ["0003", "0002", "0001"]}]}


def test_search_by_regex(ctl, own_group):
    group = own_group()
    tag = group["name"].rsplit(" ", 1)[1]
    run = ctl("group", "search", "--regex", "--name", r"^wg (group|parent)\b.* %s$" % tag)
    assert [(g["kind"], g["id"]) for g in run.returns["groups"]] == [("job_group", group["id"])]
    # the name has regex metacharacters; as a plain substring they are literal
    assert len(ctl("group", "search", "--name", "(x86_64) " + tag).returns["groups"]) == 1


def test_search_without_name_lists_fixture_groups(server, ctl):
    found = {(g["kind"], g["id"]): g for g in ctl("group", "search").returns["groups"]}
    fixture = server.fixture
    tumbleweed = found[("job_group", fixture["group_id"])]
    assert tumbleweed["name"] == fixture["group_name"]
    assert tumbleweed["builds"].index(fixture["build"]) < tumbleweed["builds"].index(fixture["old_build"])
    assert fixture["other_build"] in found[("job_group", fixture["other_group_id"])]["builds"]
    assert found[("parent_group", fixture["parent_group_id"])]["name"] == fixture["parent_group_name"]


def test_search_without_match_is_empty(ctl):
    run = ctl("group", "search", "--name", unique("no such group"))
    assert run.envelope == {"invocation": OK, "returns": {"groups": []}}


@pytest.mark.parametrize("args, needle", [(["--regex", "--name", "(unclosed"], "regular expression"),
                                          (["--regex"], "--regex needs --name")])
def test_bad_search_input_is_status_4(ctl, args, needle):
    run = ctl("group", "search", *args)
    assert run.rc == run.status == 4 and needle in run.message


def test_search_costs_three_requests(server, own_group):
    group = own_group()
    client = OpenQAClient(server.url)
    params = _groups.ENTRY.prepare(_groups.ENTRY.action("search"), {"name": group["name"]})
    assert _groups.search(client, params).returns["groups"][0]["builds"] == ["0003", "0002", "0001"]
    assert client.request_count == 3


def test_search_reads_the_builds_of_a_group_hidden_from_the_dashboard(server, api, own_group):
    """openQA master leaves groups with ignore_on_dashboard out of the dashboard search reads; 4.6 has no
    such setting (it ignores the parameter) and shows every group there."""
    group = own_group(ignore_on_dashboard=1)
    hidden = bool(api_get(api, "job_groups/%d" % group["id"])[0].get("ignore_on_dashboard"))
    assert hidden == (server.version != "4.6")
    client = OpenQAClient(server.url)
    params = _groups.ENTRY.prepare(_groups.ENTRY.action("search"), {"name": group["name"]})
    result = _groups.search(client, params)
    assert result.returns["groups"][0]["builds"] == ["0003", "0002", "0001"] and not result.warnings
    assert client.request_count == 3 + hidden  # one more for the hidden group's own build results


# --------------------------------------------------------------------------------------------- info

def test_info_has_metadata_and_counts_newest_first(ctl, own_group):
    group = own_group(description="nightly runs")
    run = ctl("group", "info", "--id", str(group["id"]))
    assert run.envelope == {"invocation": OK, "returns": {
        "id": group["id"], "name": group["name"], "kind": "job_group",
        "parent": {"id": group["parent_id"], "name": group["parent_name"]},
        "priority": 42, "description": "nightly runs", "builds": EXPECTED_BUILDS}}
    assert ctl("group", "display", "--id", str(group["id"])).envelope == run.envelope


def test_a_parent_group_id_is_read_as_one_with_kind(ctl, module_direct, api, own_group):
    """Job and parent groups are numbered separately: a parent's id names another job group or none."""
    group = own_group(description="nightly runs")
    run = ctl("group", "info", "--id", str(group["parent_id"]), "--kind", "parent_group")
    assert run.envelope == {"invocation": OK, "returns": {
        "id": group["parent_id"], "name": group["parent_name"], "kind": "parent_group", "parent": None,
        "priority": 40, "description": "the WG groups", "builds": EXPECTED_BUILDS}}
    task = module_direct("group", {"action": "info", "id": group["parent_id"], "kind": "parent_group"})
    assert (task["status"], task["returns"]) == (0, run.returns)
    searched = ctl("group", "search", "--name", group["parent_name"]).returns["groups"]
    assert [(g["id"], g["kind"]) for g in searched] == [(group["parent_id"], "parent_group")]
    as_job_group = ctl("group", "info", "--id", str(group["parent_id"]))
    assert as_job_group.status == 2 or as_job_group.returns["name"] != group["parent_name"]
    unknown = ctl("group", "info", "--id", "987654321", "--kind", "parent_group")
    assert unknown.status == 2 and unknown.message.startswith("unknown group: there is no parent group 987654321")


def test_restarted_jobs_count_once(ctl, api, own_group):
    group = own_group()
    failed = group["jobs"]["0001"][1]
    clone = api_post(api, "jobs/%d/restart" % failed)["result"][0][str(failed)]
    api_post(api, "jobs/%d/set_done" % clone, result="passed")
    builds = ctl("group", "info", "--id", str(group["id"])).returns["builds"]
    assert builds[-1] == counts("0001", passed=2)


def test_builds_younger_leaves_out_old_builds(server, ctl, own_group):
    group = own_group()
    old = ",".join(str(job_id) for job_id in group["jobs"]["0001"])
    server.sql("UPDATE jobs SET t_created = t_created - interval '30 days' WHERE id IN (%s)" % old)
    young = ctl("group", "info", "--id", str(group["id"]), "--builds-younger", "10d").returns["builds"]
    assert young == EXPECTED_BUILDS[:2]
    assert ctl("group", "info", "--id", str(group["id"]), "--builds_younger", "31d").returns["builds"] == \
        EXPECTED_BUILDS
    assert ctl("group", "info", "--id", str(group["id"])).returns["builds"] == EXPECTED_BUILDS


def test_fixture_group_info(server, ctl):
    fixture = server.fixture
    run = ctl("group", "info", "--id", str(fixture["group_id"]))
    assert run.returns["name"] == fixture["group_name"]
    assert run.returns["parent"] == {"id": fixture["parent_group_id"], "name": fixture["parent_group_name"]}
    builds = [b["build"] for b in run.returns["builds"]]
    assert builds.index(fixture["build"]) < builds.index(fixture["old_build"])


def test_top_level_group_has_no_parent(server, ctl):
    run = ctl("group", "info", "--id", str(server.fixture["other_group_id"]))
    assert run.returns["parent"] is None
    assert server.fixture["other_build"] in [b["build"] for b in run.returns["builds"]]


@pytest.mark.parametrize("action", ["info", "display"])
def test_unknown_group_is_status_2(ctl, action):
    run = ctl("group", action, "--id", "987654321")
    assert run.rc == run.status == 2
    assert run.message.startswith("unknown group") and "987654321" in run.message


def test_info_requests_stay_constant_with_50_builds(server, api, make_job):
    """openQA 4.6: job_groups/N, the build_results probe (404), the dashboard; master: job_groups/N and
    build_results (and parent_groups/N for a group with a parent, whose name the dashboard gave on 4.6)."""
    group_id = api_post(api, "job_groups", name=unique("WG fifty"))["id"]
    for number in range(50):
        make_job(BUILD="%04d" % number, TEST="fifty", _GROUP_ID=group_id)
    params = _groups.ENTRY.prepare(_groups.ENTRY.action("info"), {"id": group_id})
    client = OpenQAClient(server.url)
    builds = _groups.info(client, params).returns["builds"]
    assert [b["build"] for b in builds] == ["%04d" % n for n in reversed(range(50))]
    assert all(b["unfinished"] == b["total"] == 1 for b in builds)
    assert client.request_count == (2 if server.version == "master" else 3)

    fixture_client = OpenQAClient(server.url)
    _groups.info(fixture_client, dict(params, id=server.fixture["group_id"]))
    assert fixture_client.request_count == 3


# ------------------------------------------------------------------------------------------- parity

def test_cli_and_module_agree_on_every_action(ctl, module, own_group):
    group = own_group()
    gid = group["id"]
    cases = [
        (["search", "--name", group["name"]], {"action": "search", "name": group["name"]}),
        (["search", "--regex", "--name", "^" + group["parent_name"] + "$"],
         {"action": "search", "regex": True, "name": "^" + group["parent_name"] + "$"}),
        (["search", "--regex", "--name", "["], {"action": "search", "regex": True, "name": "["}),
        (["info", "--id", str(gid)], {"action": "info", "id": gid}),
        (["display", "--id", str(gid), "--builds-younger", "1d"],
         {"action": "display", "id": gid, "builds_younger": "1d"}),
        (["info", "--id", "987654321"], {"action": "info", "id": 987654321}),
        (["info", "--id", str(gid), "--builds-younger", "soon"],
         {"action": "info", "id": gid, "builds_younger": "soon"}),
    ]
    for cli_args, module_args in cases:
        cli = ctl("group", *cli_args)
        mod = module("group", module_args)
        assert (mod.status, mod.result["msg"]) == (cli.status, cli.message), cli_args
        assert mod.returns == cli.returns, cli_args
        assert mod.result["changed"] is False
        assert (mod.rc == 0) == (cli.rc == 0), cli_args
