"""test investigate (openqa-investigate) against the real server, on jobs a worker made (triage_data)."""

from __future__ import annotations

import typing as t

import pytest
from conftest import api_get, api_post
from triage_data import TEST_GIT_URL, run_test_verb, scenarios, triage_worker  # noqa: F401  pylint: disable=unused-import

from ansible_collections.openqa.client.plugins.module_utils.envelope import Status

KINDS = ["retry", "last_good_tests", "last_good_build", "last_good_tests_and_build"]


def comments(api, job_id: int) -> t.List[str]:
    return [c["text"] for c in api_get(api, "jobs/%d/comments" % job_id)]


def job(api, job_id: int) -> dict:
    return api_get(api, "jobs/%d" % job_id)["job"]


@pytest.fixture
def regression(scenarios) -> t.Callable[..., t.Tuple[int, int]]:  # noqa: F811
    """A scenario whose last good run had another build and other test code: (good id, failed id)."""

    def make(good_build: str = "b1", good_hash: str = "aaa111", **settings: t.Any) -> t.Tuple[int, int]:
        scenario = scenarios.scenario(**settings)
        good = scenarios.job(scenario, "passed", good_build, git_hash=good_hash)
        failed = scenarios.job(scenario, "failed", "b2", git_hash="bbb222", reason="test failed",
                               PUBLISH_HDD_1="published.qcow2", log_lines="[info] # Test died: boom")
        return good, failed

    return make


def test_four_clones_named_and_set_as_openqa_investigate_makes_them(server, api, regression):
    good, failed = regression()
    origin = job(api, failed)
    result, requests_made = run_test_verb(server, "investigate", id=[failed])
    assert result.status == Status.OK and result.changed, result.message
    entry = result.returns[0]
    assert (entry["skipped"], entry["existing"], entry["last_good"]) == (None, False, good)
    assert entry["last_good_source"] == "investigation_ajax" and entry["not_cloned"] == {}
    assert list(entry["jobs"]) == KINDS
    test = origin["test"]
    for kind, new in entry["jobs"].items():
        clone = job(api, new)
        settings = clone["settings"]
        assert clone["test"] == "%s:investigate:%s" % (test, kind)
        assert clone["group_id"] is None and "BUILD" not in settings and "PUBLISH_HDD_1" not in settings
        assert settings["OPENQA_INVESTIGATE_ORIGIN"] == "%s/t%d" % (server.url, failed)
        assert clone["priority"] == origin["priority"] + 100
        source = good if kind.startswith("last_good_build") or kind.endswith("_and_build") else failed
        assert settings["CLONED_FROM"].endswith("/tests/%d" % source)
        pinned = "CASEDIR" in settings
        assert pinned == ("tests" in kind)
        if pinned:
            assert settings["CASEDIR"] == TEST_GIT_URL + "#aaa111"
    expected = "Automatic investigation jobs for job %d:\n\n%s" % (failed, "\n".join(
        "* *%s:investigate:%s*: t#%d" % (test, kind, entry["jobs"][kind]) for kind in KINDS))
    assert comments(api, failed) == [expected] and entry["comment"] == expected
    # job, comments, investigation data, 2 vars.json, the good job; per clone: read, identical-clone search,
    # POST, priority; the comment: read, POST, read again (a concurrent run's duplicate)
    assert requests_made == 6 + 4 * 4 + 3, requests_made  # docs/compatibility.md, request counts
    again, rerun_requests = run_test_verb(server, "investigate", id=[failed])
    assert again.status == Status.OK and not again.changed
    assert again.returns[0]["existing"] is True and again.returns[0]["jobs"] == entry["jobs"]
    assert comments(api, failed) == [expected] and rerun_requests == 2  # the job and its comments


def test_check_mode_predicts_clones_and_comment_and_makes_nothing(server, api, regression):
    _good, failed = regression()
    result, _requests = run_test_verb(server, "investigate", check_mode=True, id=[failed])
    assert result.status == Status.OK and result.changed
    entry = result.returns[0]
    assert entry["jobs"] == {kind: None for kind in KINDS}
    assert entry["comment"].count("t#?") == 4
    assert comments(api, failed) == []
    version = job(api, failed)["settings"]["VERSION"]
    assert [j["id"] for j in api_get(api, "jobs", version=version)["jobs"] if ":investigate:" in j["test"]] == []


def test_cli_and_module_say_the_same(server, ctl, module, regression):
    _good, failed = regression()
    check = module("test", {"action": "investigate", "id": failed, **server.creds()}, check=True)
    assert check.rc == 0 and check.result["changed"] is True
    made = ctl("test", "investigate", "--id", str(failed), *server.cli_creds())
    assert made.rc == 0 and made.envelope["invocation"]["changed"] is True
    again = module("test", {"action": "investigate", "id": failed, **server.creds()})
    assert again.result["changed"] is False and again.returns[0]["jobs"] == made.returns[0]["jobs"]


@pytest.mark.parametrize("good_build, good_hash, kinds, why", [
    ("b2", "aaa111", ["retry", "last_good_tests"], {"last_good_build": "the same build",
                                                    "last_good_tests_and_build": "repeat last_good_tests"}),
    ("b1", "bbb222", ["retry", "last_good_build"], {"last_good_tests": "the same TEST_GIT_HASH",
                                                    "last_good_tests_and_build": "repeat last_good_build"}),
    ("b2", "bbb222", ["retry"], {"last_good_tests": "the same TEST_GIT_HASH", "last_good_build": "the same build",
                                 "last_good_tests_and_build": "repeat retry"}),
    ("b1", None, ["retry", "last_good_build"], {"last_good_tests": "no TEST_GIT_HASH"}),
])
def test_only_the_kinds_that_differ_are_cloned(server, regression, good_build, good_hash, kinds, why):
    _good, failed = regression(good_build=good_build, good_hash=good_hash)
    result, _requests = run_test_verb(server, "investigate", id=[failed])
    entry = result.returns[0]
    assert list(entry["jobs"]) == kinds, entry
    for kind, words in why.items():
        assert words in entry["not_cloned"][kind]


def test_no_good_run_clones_retry_only(server, scenarios):  # noqa: F811
    failed = scenarios.job(scenarios.scenario(), "failed", "b1")
    result, _requests = run_test_verb(server, "investigate", id=[failed])
    entry = result.returns[0]
    assert list(entry["jobs"]) == ["retry"] and entry["last_good"] is None
    assert set(entry["not_cloned"]) == set(KINDS[1:])
    assert all("no good run" in why for why in entry["not_cloned"].values())


def _parallel(scenarios) -> int:  # noqa: F811
    parent = scenarios.job(scenarios.scenario(), "failed", "b1")
    return scenarios.job(scenarios.scenario(), "failed", "b1", _PARALLEL_JOBS=str(parent))


def _directly_chained(scenarios) -> int:  # noqa: F811
    parent = scenarios.job(scenarios.scenario(), "passed", "b1")
    return scenarios.job(scenarios.scenario(), "failed", "b1", _START_DIRECTLY_AFTER_JOBS=str(parent))


SKIPS = {
    "parallel cluster": (_parallel, {}, "in a parallel cluster"),
    "directly chained cluster": (_directly_chained, {}, "in a directly chained cluster"),
    "an investigation": (lambda s: s.job(s.scenario(TEST="x:investigate:retry"), "failed", "b1"), {},
                         "an investigation job itself"),
    "passed": (lambda s: s.job(s.scenario(), "passed", "b1"), {}, "not failed (passed)"),
    "no group": (lambda s: s.job(s.scenario(_GROUP=None), "failed", "b1"), {}, "not in a job group"),
    "excluded group": (lambda s: s.job(s.scenario(), "failed", "b1"), {"exclude_group": "^Fixture Parent / "},
                       "matches exclude_group"),
    "opted out": (lambda s: s.job(s.scenario(), "failed", "b1", NO_INVESTIGATION="1"), {}, "NO_INVESTIGATION"),
}


@pytest.mark.parametrize("situation", sorted(SKIPS))
def test_skips_say_why_and_change_nothing(server, api, scenarios, situation):  # noqa: F811
    make, options, words = SKIPS[situation]
    job_id = make(scenarios)
    result, _requests = run_test_verb(server, "investigate", id=[job_id], **options)
    assert result.status == Status.OK and not result.changed, result.message
    assert words in result.returns[0]["skipped"] and words in result.message
    assert result.returns[0]["jobs"] == {} and comments(api, job_id) == []


def test_include_no_group_investigates_a_job_outside_groups(server, scenarios):  # noqa: F811
    job_id = scenarios.job(scenarios.scenario(_GROUP=None), "failed", "b1")
    result, _requests = run_test_verb(server, "investigate", id=[job_id], include_no_group=True)
    assert result.changed and list(result.returns[0]["jobs"]) == ["retry"]


def test_a_restarted_job_is_left_to_its_restart(server, api, scenarios):  # noqa: F811
    job_id = scenarios.job(scenarios.scenario(), "failed", "b1")
    new = api_post(api, "jobs/%d/restart" % job_id)["result"][0][str(job_id)]
    result, _requests = run_test_verb(server, "investigate", id=[job_id])
    assert result.returns[0]["skipped"] == "already restarted as %d" % new


@pytest.mark.parametrize("results, verdict", [
    ({"retry": "passed", "last_good_tests": "failed", "last_good_build": "failed",
      "last_good_tests_and_build": "failed"}, "sporadic"),
    ({"retry": "failed", "last_good_tests": "failed", "last_good_build": "passed",
      "last_good_tests_and_build": "passed"}, "product regression"),
    ({"retry": "failed", "last_good_tests": "passed", "last_good_build": "failed",
      "last_good_tests_and_build": "passed"}, "test regression"),
    ({"retry": "failed", "last_good_tests": "failed", "last_good_build": "failed",
      "last_good_tests_and_build": "failed"}, "infrastructure"),
    ({"retry": "failed", "last_good_tests": "passed", "last_good_build": "passed",
      "last_good_tests_and_build": "passed"}, "unclear"),
])
def test_conclude_posts_the_verdict_once(server, api, scenarios, regression, results, verdict):  # noqa: F811
    _good, failed = regression()
    started, _requests = run_test_verb(server, "investigate", id=[failed], conclude=True)
    assert started.returns[0]["verdict"] == "pending" and len(comments(api, failed)) == 1
    investigation = started.returns[0]["jobs"]
    for kind, result in results.items():
        scenarios.finish(investigation[kind], result)
    concluded, _requests = run_test_verb(server, "investigate", id=[failed], conclude=True)
    assert concluded.status == Status.OK and concluded.changed, concluded.message
    assert concluded.returns[0]["verdict"] == verdict and "verdict: %s" % verdict in concluded.message
    posted = comments(api, failed)
    assert len(posted) == 2 and posted[1].startswith("Investigation of job %d concluded: " % failed)
    assert concluded.returns[0]["verdict_text"] in posted[1]
    again, _requests = run_test_verb(server, "investigate", id=[failed], conclude=True)
    assert not again.changed and again.returns[0]["verdict"] == verdict and len(comments(api, failed)) == 2


def test_conclude_of_a_retry_only_investigation(server, api, scenarios):  # noqa: F811
    failed = scenarios.job(scenarios.scenario(), "failed", "b1")
    started, _requests = run_test_verb(server, "investigate", id=[failed])
    scenarios.finish(started.returns[0]["jobs"]["retry"], "failed")
    concluded, _requests = run_test_verb(server, "investigate", id=[failed], conclude=True)
    assert concluded.returns[0]["verdict"] == "not sporadic"


def test_bad_exclude_group_is_status_4(server, ctl):
    run = ctl("test", "investigate", "--id", "1", "--exclude-group", "(", *server.cli_creds())
    assert run.rc == 4 and "exclude_group" in run.message


def test_without_a_result_directory_the_last_good_job_comes_from_the_api(server, api, scenarios):  # noqa: F811
    """openQA's investigation data needs the job's result directory; jobs finished without uploads have none."""
    scenario = scenarios.scenario()
    good = api_post(api, "jobs", **dict(scenario, BUILD="b1"))["id"]
    api_post(api, "jobs/%d/set_done" % good, result="softfailed")
    failed = api_post(api, "jobs", **dict(scenario, BUILD="b2"))["id"]
    api_post(api, "jobs/%d/set_done" % failed, result="failed")
    result, _requests = run_test_verb(server, "investigate", id=[failed])
    entry = result.returns[0]
    assert (entry["last_good"], entry["last_good_source"]) == (good, "jobs API"), entry
    assert list(entry["jobs"]) == ["retry", "last_good_build"]
    assert "no TEST_GIT_HASH" in entry["not_cloned"]["last_good_tests"]


def test_master_keeps_the_last_good_job_within_the_history_isolation(server, server_version, scenarios):  # noqa: F811
    """master's investigation data looks for the last good job only among jobs with the same SUBMISSION_ID (its
    default history isolation key); 4.6 knows no isolation (docs/compatibility.md)."""
    scenario = scenarios.scenario()
    good = scenarios.job(scenario, "passed", "b1", SUBMISSION_ID="pr-1")
    failed = scenarios.job(scenario, "failed", "b2", SUBMISSION_ID="pr-2")
    result, _requests = run_test_verb(server, "investigate", id=[failed])
    entry = result.returns[0]
    assert entry["last_good_source"] == "investigation_ajax"
    assert entry["last_good"] == (None if server_version == "master" else good), entry
