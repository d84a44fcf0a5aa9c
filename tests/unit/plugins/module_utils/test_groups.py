"""Group name matching, the dashboard's Perl regex filter and the choice of build endpoint."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from ansible_collections.openqa.client.plugins.module_utils import _groups
from ansible_collections.openqa.client.plugins.module_utils.envelope import InvalidInputError, NotFoundError

NAMES = ["SLE 15 (x86_64) / Maintenance", "a.b*c+d?", "[x]{y}|z^$", "ü ß / €", "back\\slash", "tab\tnew"]


@pytest.mark.skipif(not shutil.which("perl"), reason="perl is not installed")
@pytest.mark.parametrize("name", NAMES)
def test_perl_literal_matches_only_the_name_in_perl(name):
    pattern = "^%s$" % _groups.perl_literal(name)
    script = 'use utf8; binmode STDOUT; my $p = shift; utf8::decode($p); my $s = shift; utf8::decode($s);' \
             ' print(($s =~ /$p/) ? 1 : 0)'
    for candidate, expected in ((name, "1"), (name + "x", "0"), ("x" + name, "0")):
        out = subprocess.run(["perl", "-e", script, pattern, candidate], capture_output=True, text=True, check=True)
        assert out.stdout == expected, (pattern, candidate)


def test_name_matching():
    assert _groups.name_matcher("tumble", False)("openSUSE Tumbleweed")
    assert not _groups.name_matcher("tumble.", False)("openSUSE Tumbleweed")
    assert _groups.name_matcher(r"^open.*weed$", True)("openSUSE Tumbleweed")
    assert _groups.name_matcher(None, False)("anything")
    with pytest.raises(InvalidInputError, match="regular expression"):
        _groups.name_matcher("(", True)
    with pytest.raises(InvalidInputError, match="--regex needs --name"):
        _groups.name_matcher(None, True)


@pytest.mark.parametrize("seconds, days", [(None, "0"), (864000.0, "10"), (43200.0, "0.5"), (1.0, "0.000012")])
def test_days_as_the_server_validates_them(seconds, days):
    assert _groups._days(seconds) == days  # pylint: disable=protected-access


class NewServer:
    """A server that has GET job_groups/N/build_results (newer than the 4.6 test server)."""

    def __init__(self) -> None:
        self.base_url = "http://new.example"
        self.paths: list = []

    def get(self, path, params=None):
        self.paths.append(path)
        if path == "job_groups/5":
            return [{"id": 5, "name": "G", "parent_id": 3, "default_priority": 50, "description": "d"}]
        if path == "job_groups/5/build_results":
            assert dict(params)["time_limit_days"] == "0"
            return {"build_results": [{"build": "2", "version": "1", "passed": 2, "failed": 1, "total": 3},
                                      {"build": "1", "version": "1", "total": 0}],
                    "children": [], "group": {"id": 5, "name": "G"}}
        if path == "parent_groups/3":
            return [{"id": 3, "name": "P"}]
        raise NotFoundError("GET %s: not found" % path)


def test_newer_endpoint_is_used_when_present():
    client = NewServer()
    params = _groups.ENTRY.prepare(_groups.ENTRY.action("info"), {"id": 5})
    result = _groups.info(client, params).returns
    assert client.paths == ["job_groups/5", "job_groups/5/build_results", "parent_groups/3"]
    assert result["parent"] == {"id": 3, "name": "P"}
    assert result["builds"] == [{"build": "2", "version": "1", "passed": 2, "softfailed": 0, "failed": 1,
                                 "skipped": 0, "unfinished": 0, "total": 3}]


def test_dashboard_entries_map_to_job_groups_and_parents():
    results = [
        {"group": {"id": 1, "name": "top"}, "children": [],
         "build_results": [{"build": "b2", "total": 1}, {"build": "b1", "total": 2}]},
        {"group": {"id": 1, "name": "parent"}, "children": [{"id": 2, "name": "c2"}, {"id": 3, "name": "c3"}],
         "build_results": [{"build": "b9", "total": 2, "children": {"2": {"total": 2}, "3": {"total": 0}}},
                           {"build": "b8", "total": 1, "children": {"2": {"total": 0}, "3": {"total": 1}}}]},
    ]
    job_groups, parents = _groups._builds_by_group(results)  # pylint: disable=protected-access
    assert job_groups == {1: ["b2", "b1"], 2: ["b9"], 3: ["b8"]}
    assert parents == {1: ["b9", "b8"]}


class CappedServer(NewServer):
    """build_results cut at job_groups_overview_max_jobs: limit_exceeded holds the cap (openQA master)."""

    def get(self, path, params=None):
        answer = super().get(path, params)
        if path == "job_groups/5/build_results":
            answer["limit_exceeded"] = 25000
        return answer


def test_build_results_cut_by_the_server_is_a_warning():
    params = _groups.ENTRY.prepare(_groups.ENTRY.action("info"), {"id": 5})
    result = _groups.info(CappedServer(), params)
    assert len(result.returns["builds"]) == 1
    assert result.warnings == ["openQA stopped reading group 5 at its job limit (limit_exceeded: 25000): older "
                               "builds are missing; narrow it with builds_younger"]
    assert _groups.info(NewServer(), params).warnings == []


class HiddenGroupServer:
    """A group flagged ignore_on_dashboard, which the dashboard leaves out; build_results only if ``route``."""

    base_url = "http://hidden.example"

    def __init__(self, route: bool) -> None:
        self.route = route
        self.paths: list = []

    def get(self, path, params=None):
        self.paths.append(path)
        if path == "job_groups":
            return [{"id": 7, "name": "hidden", "parent_id": None, "ignore_on_dashboard": 1},
                    {"id": 8, "name": "shown", "parent_id": None, "ignore_on_dashboard": 0}]
        if path == "parent_groups":
            return []
        if path == _groups.DASHBOARD:
            return {"results": [{"group": {"id": 8, "name": "shown"}, "children": [],
                                 "build_results": [{"build": "s1", "total": 1}]}]}
        if path == "job_groups/7/build_results" and self.route:
            return {"build_results": [{"build": "h2", "total": 1}, {"build": "h1", "total": 2}]}
        raise NotFoundError("GET %s: not found" % path)


@pytest.mark.parametrize("route, builds, warned", [(True, ["h2", "h1"], False), (False, [], True)])
def test_search_reads_a_hidden_group_on_its_own_or_says_it_cannot(route, builds, warned):
    client = HiddenGroupServer(route)
    result = _groups.search(client, _groups.ENTRY.prepare(_groups.ENTRY.action("search"), {}))
    assert {g["name"]: g["builds"] for g in result.returns["groups"]} == {"hidden": builds, "shown": ["s1"]}
    assert client.paths == ["job_groups", "parent_groups", _groups.DASHBOARD, "job_groups/7/build_results"]
    assert bool(result.warnings) == warned
    if warned:
        assert "group 7 is hidden from the dashboard" in result.warnings[0]
