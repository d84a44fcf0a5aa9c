"""test search and test info against the real openQA."""

from __future__ import annotations

import uuid

from conftest import api_post

from ansible_collections.openqa.client.plugins.module_utils import _job_reads, _jobs
from ansible_collections.openqa.client.plugins.module_utils.client import OpenQAClient


def unique(prefix: str) -> str:
    return prefix + "-" + uuid.uuid4().hex[:8]


def search(server, **params) -> tuple:
    client = OpenQAClient(server.url)
    values = {name: None for name in _jobs.SEARCH_FILTERS + ("comments", "since")}
    values.update(dict({"limit": 500}, **params))
    return _jobs.search(client, values).returns, client.request_count


def test_search_filters_on_the_server_newest_first(server, ctl, make_job):
    build = unique("search")
    failed = [make_job(BUILD=build, result="failed"), make_job(BUILD=build, result="failed", ARCH="aarch64")]
    make_job(BUILD=build, result="passed")
    run = ctl("test", "search", "--build", build, "--result", "failed")
    assert (run.status, run.returns) == (0, sorted(failed, reverse=True))
    assert ctl("test", "search", "--build", build, "--result", "failed", "--arch", "aarch64").returns == [failed[1]]


def test_empty_search_is_ok_with_an_empty_list(ctl):
    run = ctl("test", "search", "--build", unique("nothing"))
    assert (run.rc, run.envelope) == (0, {"invocation": {"status": 0, "message": "ok"}, "returns": []})


def test_group_by_name_or_id(server, ctl):
    build = server.fixture["build"]
    by_name = ctl("test", "search", "--build", build, "--group", server.fixture["group_name"]).returns
    by_id = ctl("test", "search", "--build", build, "--group", str(server.fixture["group_id"])).returns
    assert by_name == by_id and server.fixture["failed_job"] in by_name


def test_since_keeps_recent_and_pending_jobs_and_stops_paging(server, make_job):
    build = unique("since")
    old = [make_job(BUILD=build, result="failed") for _index in range(6)]
    server.sql("UPDATE jobs SET t_finished = now() - interval '3 days' WHERE id IN (%s)" % ",".join(map(str, old)))
    recent, pending = make_job(BUILD=build, result="failed"), make_job(BUILD=build)
    found, requests = search(server, build=build, since=86400.0)
    assert found == [pending, recent]
    assert requests == 1  # one page held everything
    # Pages of 2, then 4: the newest page is recent, the next is all old -> stop before old[1], old[0].
    client = OpenQAClient(server.url)
    pages = _job_reads.search_pages(client, {"build": build}, limit=500, page_size=2,
                                    older=lambda job: _jobs._finished_before(job, _jobs.time.time() - 86400))
    assert set(pages) == {pending, recent, *old[2:]} and client.request_count == 2


def test_current_jobs_outside_the_window_are_included(server, make_job):
    build = unique("window")
    pending = make_job(BUILD=build)
    done = [make_job(BUILD=build, result="passed") for _index in range(2)]
    found, requests = search(server, build=build, limit=2)
    assert found == sorted(done + [pending], reverse=True) and requests == 2


def test_comments_are_matched_case_insensitively(server, ctl, api, make_job):
    build = unique("comments")
    marked, plain = make_job(BUILD=build, result="failed"), make_job(BUILD=build, result="failed")
    api_post(api, "jobs/%d/comments" % marked, text="poo#123 Known Issue")
    assert ctl("test", "search", "--build", build, "--comments", "known issue").returns == [marked]
    assert plain not in ctl("test", "search", "--build", build, "--comments", "poo#").returns


def test_info_selects_attributes(server, ctl, module_direct):
    job_id = server.fixture["commented_job"]
    run = ctl("test", "info", "--id", str(job_id), "--attributes", "id", "--attributes", "comments",
              "--attributes", "version")
    assert run.returns == {"id": job_id, "comments": [server.fixture["comment"]["text"]],
                           "version": server.fixture["version"]}
    result = module_direct("test", {"action": "info", "id": [job_id], "attributes": ["id", "comments", "version"]})
    assert (result["status"], result["returns"]) == (0, run.returns)
    # one rule for every list option, as for a filter's alternatives: commas separate values too
    assert ctl("test", "info", "--id", str(job_id), "--attributes", "id,comments", "--attributes",
               "version").returns == run.returns
    task = module_direct("test", {"action": "info", "id": [job_id], "attributes": "id,comments,version"})
    assert (task["status"], task["returns"]) == (0, run.returns)
    empty = ctl("test", "info", "--id", str(job_id), "--attributes", "id,,version")
    assert empty.status == 4 and "attributes is empty" in empty.message


def test_info_full_has_previous_results_and_clone_chain(server, ctl, api, make_job):
    scenario = unique("scenario")
    older = make_job(TEST=scenario, result="passed")
    newer = make_job(TEST=scenario, result="failed")
    clone = api_post(api, "jobs/%d/restart" % newer)["result"][0][str(newer)]
    info = ctl("test", "info", "--id", str(newer)).returns
    assert set(info) == set(_jobs.INFO_ATTRIBUTES)
    assert info["status"] == "failed" and info["test"] == scenario and info["clone_id"] == clone
    assert info["clone_chain"] == [newer, clone]
    assert [(p["id"], p["status"]) for p in info["previous_results"]] == [(older, "passed")]


def test_info_errors(ctl):
    bad = ctl("test", "info", "--id", "5", "--attributes", "bogus")
    assert bad.status == 4 and "bogus" in bad.message and "previous_results" in bad.message
    unknown = ctl("test", "info", "--id", "987654321")
    assert unknown.status == 2 and unknown.message.startswith("unknown test")
    assert ctl("test", "info", "--id", "5", "--id", "6").status == 4
