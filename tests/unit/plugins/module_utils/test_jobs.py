"""Pure helpers of the test entry: status words, clone settings, restart answers, time parsing."""

from __future__ import annotations

import pytest

from ansible_collections.openqa.client.plugins.module_utils import _clone, _job_reads, _jobs, _restart
from ansible_collections.openqa.client.plugins.module_utils.envelope import (
    AmbiguousError,
    InvalidInputError,
    RefusedError,
    Status,
)


@pytest.mark.parametrize("state, result, word", [
    ("scheduled", "none", "scheduled"), ("assigned", "none", "scheduled"), ("setup", "none", "running"),
    ("running", "none", "running"), ("uploading", "none", "running"), ("running", "user_restarted", "running"),
    ("done", "passed", "passed"), ("done", "softfailed", "softfailed"), ("done", "failed", "failed"),
    ("cancelled", "skipped", "skipped"), ("cancelled", "user_cancelled", "user_cancelled"),
    ("cancelled", "none", "cancelled"), ("done", None, "done"),
])
def test_status_words(state, result, word):
    assert _job_reads.job_status({"state": state, "result": result}) == word


def job(job_id=6, depth_settings=None, **extra):
    settings = {"NAME": "x", "TEST": "gnome", "BUILD": "1", "FOO": "a", "WORKER_CLASS": "qemu"}
    settings.update(depth_settings or {})
    return dict({"id": job_id, "settings": settings, "group_id": 3,
                 "parents": {"Chained": [5], "Directly chained": [], "Parallel": [4]}}, **extra)


class FakeClient:
    base_url = "https://openqa.example"


def test_clone_settings_follow_openqa_clone_job():
    overrides = _clone._clone_overrides([("FOO+", "b"), ("BUILD", ""), ("NEW", "1"), ("_GROUP", "g")])
    settings = _clone._clone_settings(FakeClient(), job(), 1, overrides)
    assert "NAME" not in settings and "BUILD" not in settings and "_GROUP_ID" not in settings
    assert settings["FOO"] == "ab" and settings["NEW"] == "1" and settings["_GROUP"] == "g"
    assert settings["_START_AFTER"] == "5" and settings["_PARALLEL"] == "4"
    assert settings["CLONED_FROM"] == "https://openqa.example/tests/6"


def test_parents_get_only_global_overrides():
    overrides = _clone._clone_overrides([("FOO", "z"), ("WORKER_CLASS", "big"), ("_GROUP", "g")])
    settings = _clone._clone_settings(FakeClient(), job(), 2, overrides)
    assert settings["FOO"] == "a" and settings["WORKER_CLASS"] == "big" and settings["_GROUP"] == "g"
    assert "_GROUP_ID" not in settings  # _GROUP is global, and replaces _GROUP_ID
    inherited = _clone._clone_settings(FakeClient(), job(), 2, overrides, parental_inheritance=True)
    assert inherited["FOO"] == "z"


def test_scoped_overrides_reach_only_the_named_test_at_any_depth():
    overrides = _clone._clone_overrides([("FOO:gnome", "z"), ("BAR:gnome+", "2"), ("BAZ:other", "x")])
    assert overrides[1] == _clone._Override("BAR", "gnome", True, "2")
    for depth in (0, 1, 3):
        source = job()
        source["settings"]["BAR"] = "1"
        settings = _clone._clone_settings(FakeClient(), source, depth, overrides)
        assert (settings["FOO"], settings["BAR"], "BAZ" in settings) == ("z", "12", False)


def test_repeat_suffixes_test_names_zero_padded():
    posts = {1: {"TEST": "a"}, 2: {"TEST": "b"}}
    assert _clone._repeat_posts(posts, 3, 12) == {1: {"TEST": "a-03"}, 2: {"TEST": "b-03"}}
    assert posts == {1: {"TEST": "a"}, 2: {"TEST": "b"}}


@pytest.mark.parametrize("pairs, error", [
    ([("A", "1"), ("A", "2")], AmbiguousError),
    ([("_GROUP", "x"), ("_GROUP_ID", "1")], AmbiguousError),
    ([("lower", "1")], InvalidInputError),
    ([("A-B", "1")], InvalidInputError),
    ([("A:", "1")], InvalidInputError),
    ([("A:t", "1"), ("A:t", "2")], AmbiguousError),
])
def test_bad_overrides(pairs, error):
    with pytest.raises(error):
        _clone._clone_overrides(pairs)


def test_same_override_twice_is_fine():
    assert [o.key for o in _clone._clone_overrides([("A", "1"), ("A", "1")])] == ["A", "A"]


def test_relatives_follow_clone_job_defaults():
    child = {"parents": {"Chained": [1]}, "children": {"Chained": [7], "Parallel": [8]}}
    walk = _clone._Walk
    assert _clone._relatives(child, 1, walk(False, False, False, 1)) == {1: 2, 8: 0}
    assert _clone._relatives(child, 1, walk(False, True, False, 1)) == {1: 2, 7: 0, 8: 0}
    assert _clone._relatives(child, 2, walk(False, True, False, 1)) == {1: 3}
    assert _clone._relatives(child, 1, walk(True, True, False, 1)) == {}
    # children of children: level 2 (depth 0) is cloned with max_depth 2 or 0, not 1
    assert _clone._relatives(child, 0, walk(False, True, False, 1)) == {1: 1}
    assert _clone._relatives(child, 0, walk(False, True, False, 2)) == {1: 1, 7: -1, 8: -1}
    assert _clone._relatives(child, -5, walk(False, True, False, 0)) == {1: -4, 7: -6, 8: -6}
    # skip_chained_deps: only parallel relatives
    assert _clone._relatives(child, 1, walk(False, True, True, 1)) == {8: 0}


def test_timestamps_are_utc():
    assert _jobs._timestamp("1970-01-02T00:00:00") == 86400.0
    assert _jobs._timestamp(None) is None and _jobs._timestamp("garbage") is None
    assert _jobs._finished_before({"state": "done", "t_finished": "1970-01-01T00:00:10"}, 20)
    assert not _jobs._finished_before({"state": "running", "t_finished": None}, 20)
    assert _jobs._finished_before({"state": "done", "t_finished": None}, 20)


def plan(job_ids, jobs_by_id):
    return _restart._RestartPlan(FakeClient(), job_ids, jobs_by_id, force=False, parent=False)


def done(job_id, **extra):
    return dict({"id": job_id, "state": "done", "result": "failed", "clone_id": None, "parents": {}}, **extra)


def test_restart_answer_with_parent_orders_parent_first():
    restart = plan([4], {4: done(4, parents={"Chained": [2]})})
    result = restart.interpret({"result": [{"4": 16, "2": 15}]})
    assert (result.returns, result.changed, result.status) == ([15, 16], True, Status.OK)


def test_restart_answer_already_cloned_within_the_same_request_is_fine():
    restart = plan([6, 8], {6: done(6), 8: done(8)})
    result = restart.interpret({"result": [{"6": 17, "8": 19}], "errors": [
        "Specified job 8 has already been cloned as 19"]})
    assert result.status == Status.OK and result.returns == [17, 19]


def test_restart_answer_parent_with_its_child_is_fine():
    # openQA 4.6's real answer to jobs=1 jobs=2 when 2 is 1's skipped chained child
    restart = plan([1, 2], {1: done(1), 2: done(2, result="skipped", parents={"Chained": [1]})})
    result = restart.interpret({"errors": ["Job 1 already has clone 10"], "result": [{"1": 10, "2": 11}]})
    assert (result.status, result.returns, result.changed) == (Status.OK, [10, 11], True)
    assert result.message == "restarted 1 as 10, 2 as 11"


def test_missing_assets_name_them_and_mention_force():
    restart = plan([4], {4: done(4)})
    result = restart.interpret({"result": [], "enforceable": 1, "errors": [
        "Job 4 misses the following mandatory assets: iso/x.iso\nEnsure to provide mandatory assets"]})
    assert result.status == Status.REFUSED and "iso/x.iso" in result.message and "force" in result.message


def test_empty_answer_is_refused():
    with pytest.raises(RefusedError):
        plan([4], {4: done(4)}).interpret({"result": []})


def test_already_restarted_and_scheduled_jobs_are_not_posted():
    restart = plan([1, 2, 3], {1: done(1, clone_id=9), 2: done(2, state="scheduled"), 3: done(3)})
    assert restart.to_post == [3] and restart.existing == {1: 9} and restart.pristine == [2]
    assert restart.interpret({"result": [{"3": 10}]}).returns == [9, 10]
