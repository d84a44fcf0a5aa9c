"""The build entry's pure parts: filters, build identity, reading POST isos answers."""

from __future__ import annotations

import pytest

from ansible_collections.openqa.client.plugins.module_utils import _build_jobs, _build_new, _builds
from ansible_collections.openqa.client.plugins.module_utils.envelope import (
    AmbiguousError,
    InvalidInputError,
    RefusedError,
    Status,
)


def job(job_id: int, test: str = "raid0", state: str = "done", result: str = "failed", group_id: int = 1,
        **settings: str) -> dict:
    values = {"DISTRI": "opensuse", "VERSION": "Tumbleweed", "FLAVOR": "DVD", "ARCH": "x86_64", "BUILD": "1",
              "TEST": test, "MACHINE": "64bit"}
    values.update(settings)
    return {"id": job_id, "test": test, "state": state, "result": result, "group_id": group_id,
            "group": "g%d" % group_id, "settings": values}


JOBS = [job(1, "raid0"), job(2, "raid1", result="incomplete"), job(3, "textmode", result="passed"),
        job(4, "RAID0", ARCH="aarch64", result="softfailed"), job(5, "gnome", state="scheduled", result="none"),
        job(6, "gnome", state="cancelled", result="skipped", ARCH="aarch64")]


def selected(**params) -> list:
    return [j["id"] for j in _build_jobs.select_jobs(JOBS, params)]


@pytest.mark.parametrize("params, ids", [
    ({}, [1, 2, 3, 4, 5, 6]),
    ({"name": "raid"}, [1, 2, 4]),
    ({"arch": "aarch64"}, [4, 6]),
    ({"filter": [("status", "failure")]}, [1, 2, 6]),
    ({"filter": [("status", "ok")]}, [3, 4]),
    ({"filter": [("status", "scheduled,passed")]}, [3, 5]),
    ({"filter": [("name", "raid"), ("status", "failure")]}, [1, 2]),
    ({"name": "raid", "filter": [("status", "ok")], "arch": "aarch64"}, [4]),
    ({"filter": [("machine", "64bit"), ("flavor", "DVD"), ("name", "gnome")]}, [5, 6]),
    ({"filter": [("name", "raid0"), ("name", "raid1")]}, []),
])
def test_filters_combine_with_and(params, ids):
    assert selected(**params) == ids


@pytest.mark.parametrize("pair, hint", [(("result", "failed"), "unknown filter 'result'"),
                                        (("status", "failure,bogus"), "unknown status bogus"),
                                        (("name", " , "), "has no value")])
def test_bad_filters_are_invalid_input(pair, hint):
    with pytest.raises(InvalidInputError, match=hint):
        selected(filter=[pair])


def test_the_same_build_in_two_groups_is_ambiguous_with_candidates():
    with pytest.raises(AmbiguousError) as caught:
        _build_jobs.require_one_build({"id": "1"}, [job(1), job(2, group_id=2), job(3, group_id=2, VERSION="15")])
    assert caught.value.returns == {"candidates": [
        {"group": "g1", "groupid": 1, "distri": "opensuse", "version": "Tumbleweed"},
        {"group": "g2", "groupid": 2, "distri": "opensuse", "version": "15"},
        {"group": "g2", "groupid": 2, "distri": "opensuse", "version": "Tumbleweed"}]}
    _build_jobs.require_one_build({"id": "1"}, [job(1), job(2, test="other")])


SETTINGS = {"DISTRI": "opensuse", "VERSION": "Tumbleweed", "FLAVOR": "DVD", "ARCH": "x86_64", "BUILD": "7"}


def test_isos_answer_with_failed_entries_is_refused_but_changed():
    answer = {"count": 1, "ids": [12], "scheduled_product_id": 3, "failed": [
        {"job_id": 10, "error_messages": ["START_AFTER_TEST=x@64bit not found"]},
        {"job_id": 11, "error_messages": ["START_AFTER_TEST=x@64bit not found"]}]}
    result = _build_new._interpret_isos_answer(SETTINGS, answer)  # pylint: disable=protected-access
    assert (result.status, result.changed) == (Status.REFUSED, True)
    assert result.message == "openQA created 1 jobs and failed 2: START_AFTER_TEST=x@64bit not found (job 10, job 11)"
    assert result.returns["ids"] == [12] and len(result.returns["failed"]) == 2


def test_isos_answer_without_jobs_is_an_error():
    with pytest.raises(InvalidInputError, match="no products found for sle-Online-s390x"):
        _build_new._interpret_isos_answer(SETTINGS, {"count": 0, "error": "no products found for sle-Online-s390x",
                                                     "failed": {}, "ids": [], "scheduled_product_id": 3})
    with pytest.raises(RefusedError, match="no job template matches"):
        _build_new._interpret_isos_answer(SETTINGS, {"count": 0, "failed": [], "ids": [], "scheduled_product_id": 4})


def test_async_isos_answer_is_a_change_with_a_warning():
    result = _build_new._interpret_isos_answer(SETTINGS, {"gru_task_id": 3, "minion_job_id": 3,
                                                          "scheduled_product_id": 2})
    expected = {"ids": [], "scheduled_product_id": 2}
    assert (result.status, result.changed, result.returns) == (Status.OK, True, expected)
    assert "isos/2" in result.warnings[0]


class _NoHttp:
    """new must decide without asking the server in these cases."""

    check_mode = False

    def get(self, *_args):
        raise AssertionError("no request expected")

    post = get


@pytest.mark.parametrize("raw, error", [
    ({"vars": ["DISTRI=opensuse"]}, "missing parameters: VERSION FLAVOR ARCH BUILD"),
    ({"vars": ["distri=o", "version=v", "flavor=f", "arch=a", "BUILD="]}, "missing parameters: BUILD"),
    ({"vars": dict(SETTINGS, _GROUP_ID="1"), "group": "2"}, "give it once"),
])
def test_new_refuses_before_any_request(raw, error):
    action = _builds.ENTRY.action("new")
    with pytest.raises((InvalidInputError, AmbiguousError), match=error):
        _builds.new(_NoHttp(), _builds.ENTRY.prepare(action, raw))


class _Existing:
    """Answers the listing that makes new idempotent with one standing job; records the query."""

    check_mode = False
    base_url = "http://openqa.example"

    def __init__(self) -> None:
        self.queries: list = []

    def get(self, path, params=None):
        if path == "job_groups":  # build new resolves the group before anything else
            return [{"id": 12, "name": "openSUSE Tumbleweed"}]
        self.queries.append((path, list(dict(params).items())))
        standing = job(7, state="scheduled", result="none", group_id=12, BUILD="7")
        return {"jobs": [dict(standing, group="openSUSE Tumbleweed")]}

    def post(self, *_args):
        raise AssertionError("already scheduled: no POST expected")


@pytest.mark.parametrize("group, expected", [("openSUSE Tumbleweed", ("group", "openSUSE Tumbleweed")),
                                             ("12", ("groupid", 12))])
def test_new_lists_the_build_within_the_group_given_by_name_or_id(group, expected):
    client = _Existing()
    params = _builds.ENTRY.prepare(_builds.ENTRY.action("new"), {"vars": SETTINGS, "group": group})
    result = _builds.new(client, params)
    assert result.returns["ids"] == [7] and not result.changed
    [(path, query)] = client.queries
    assert path == "jobs" and expected in query and ("build", "7") in query


class BuildResultsServer:
    """A server with GET job_groups/N/build_results, listed in GET routes (newer than 4.6)."""

    base_url = "http://new.example"

    def __init__(self, limit_exceeded: int) -> None:
        self.limit_exceeded = limit_exceeded
        self.paths: list = []

    def has_route(self, route: str) -> bool:
        return route == "/api/v1/job_groups/<group_id:num>/build_results"

    def get(self, path, params=None):
        self.paths.append((path, dict(params or {})))
        return {"build_results": [{"build": "20261127", "version": "Tumbleweed", "distris": {"opensuse": 1}}],
                "limit_exceeded": self.limit_exceeded}


@pytest.mark.parametrize("limit_exceeded, warnings", [
    (0, []),
    (25000, ["openQA stopped reading group 7 at its job limit (limit_exceeded: 25000): older builds are missing "
             "from this list; search with a smaller --limit"]),
])
def test_search_reads_build_results_and_warns_when_the_server_cut_it(limit_exceeded, warnings):
    server = BuildResultsServer(limit_exceeded)
    params = _builds.ENTRY.prepare(_builds.ENTRY.action("search"), {"groupid": 7})
    result = _builds.search(server, params)
    assert server.paths == [("job_groups/7/build_results", {"limit_builds": 500})]
    assert (result.returns, result.warnings) == ({"ids": ["20261127"]}, warnings)
