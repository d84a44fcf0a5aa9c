"""test restart against the real openQA: clones, parents, idempotency, check mode, refusals."""

from __future__ import annotations

import pytest
from conftest import api_get, api_post

from ansible_collections.openqa.client.plugins.module_utils import _restart
from ansible_collections.openqa.client.plugins.module_utils.client import OpenQAClient
from ansible_collections.openqa.client.plugins.module_utils.envelope import AmbiguousError, NotFoundError


def clone_id(api, job_id: int):
    return api_get(api, "jobs/%d" % job_id)["job"]["clone_id"]


@pytest.fixture
def client(server):
    return OpenQAClient(server.url, **server.creds())


def test_restart_returns_the_new_id_and_a_second_run_is_unchanged(server, ctl, api, make_job):
    job_id = make_job(result="failed")
    first = ctl("test", "restart", "--id", str(job_id), *server.cli_creds())
    new_id = clone_id(api, job_id)
    shape = {"ids": [new_id], "clones": {str(job_id): new_id}}
    assert (first.rc, first.returns, first.envelope["invocation"]["changed"]) == (0, shape, True)
    second = ctl("test", "restart", "--id", str(job_id), *server.cli_creds())
    assert (second.rc, second.returns, second.envelope["invocation"]["changed"]) == (0, shape, False)
    assert clone_id(api, new_id) is None


def test_check_mode_posts_nothing_and_names_the_jobs(server, module_direct, api, make_job):
    job_id = make_job(result="failed")
    result = module_direct("test", {"action": "restart", "id": [job_id], **server.creds()}, check=True)
    shape = {"ids": [], "clones": {str(job_id): None}}
    assert (result["status"], result["returns"], result["changed"]) == (0, shape, True)
    assert clone_id(api, job_id) is None


def test_failed_chained_parent_is_restarted_first(server, client, api, make_job):
    parent = make_job(result="failed")
    child = make_job(_START_AFTER_JOBS=parent)
    api_post(api, "jobs/%d/set_done" % child, result="failed")
    result = _restart.restart_jobs(client, [child])
    assert result.returns["ids"] == [clone_id(api, parent), clone_id(api, child)]
    assert result.returns["clones"] == {str(parent): clone_id(api, parent), str(child): clone_id(api, child)}
    assert client.request_count == 2  # one listing, one POST
    # a rerun names the same jobs: the parent restarted with the child is found through the child
    again = _restart.restart_jobs(client, [child])
    assert (again.changed, again.returns) == (False, result.returns)
    assert client.request_count == 4  # one listing of the child, one of its relatives


def test_a_rerun_names_the_whole_cluster_the_first_run_restarted(server, ctl, api, make_job):
    parent = make_job(result="failed")
    children = [make_job(_START_AFTER_JOBS=parent, TEST="child%d" % n) for n in range(2)]
    grandchild = make_job(_START_AFTER_JOBS=children[0], TEST="grandchild")
    for job_id in children + [grandchild]:
        api_post(api, "jobs/%d/set_done" % job_id, result="skipped")
    first = ctl("test", "restart", "--id", str(parent), *server.cli_creds())
    assert first.status == 0 and len(first.returns["ids"]) == 4, first.returns
    assert set(first.returns["clones"]) == {str(i) for i in [parent] + children + [grandchild]}
    again = ctl("test", "restart", "--id", str(parent), *server.cli_creds())
    assert (again.status, again.envelope["invocation"]["changed"]) == (0, False)
    assert again.returns == first.returns


def test_failed_parent_with_its_skipped_child_is_restarted_once_status_0(server, ctl, api, make_job):
    parent = make_job()
    child = make_job(_START_AFTER_JOBS=parent)
    api_post(api, "jobs/%d/set_done" % parent, result="failed")  # openQA cancels the child: skipped
    assert api_get(api, "jobs/%d" % child)["job"]["result"] == "skipped"
    run = ctl("test", "restart", "--id", str(parent), "--id", str(child), *server.cli_creds())
    new_parent, new_child = clone_id(api, parent), clone_id(api, child)
    assert (run.rc, run.returns["ids"], run.envelope["invocation"]["changed"]) == (0, [new_parent, new_child], True)
    assert "not restarted" not in run.message
    again = ctl("test", "restart", "--id", str(parent), "--id", str(child), *server.cli_creds())
    assert (again.rc, again.returns["ids"], again.envelope["invocation"]["changed"]) == (
        0, [new_parent, new_child], False)


def test_max_attempts_counts_the_runs_in_the_clone_chain(server, ctl, client, api, make_job):
    job_id = make_job(result="failed")
    first = _restart.restart_jobs(client, [job_id], max_attempts=2)
    assert first.changed and first.returns["ids"] == [clone_id(api, job_id)]
    api_post(api, "jobs/%d/set_done" % first.returns["ids"][0], result="failed")
    other = make_job(result="failed")
    run = ctl("test", "restart", "--id", str(first.returns["ids"][0]), "--id", str(other), "--max-attempts", "2",
              *server.cli_creds())
    assert (run.status, run.returns["ids"], run.envelope["invocation"]["changed"]) == (0, [clone_id(api, other)], True)
    assert run.message.endswith("; not restarted, already run 2 times (max_attempts): %d" % first.returns["ids"][0])
    assert clone_id(api, first.returns["ids"][0]) is None
    again = ctl("test", "restart", "--id", str(first.returns["ids"][0]), "--max-attempts", "2", *server.cli_creds())
    assert (again.status, again.returns["ids"], again.envelope["invocation"]["changed"]) == (0, [], False)
    assert again.message == "not restarted, already run 2 times (max_attempts): %d" % first.returns["ids"][0]
    assert clone_id(api, first.returns["ids"][0]) is None


def test_passed_parent_is_restarted_only_when_asked(server, client, api, make_job):
    parent = make_job(result="passed")
    child = make_job(_START_AFTER_JOBS=parent)
    api_post(api, "jobs/%d/set_done" % child, result="failed")
    planner = OpenQAClient(server.url, check_mode=True, **server.creds())
    assert _restart.restart_jobs(planner, [child]).returns == {"ids": [], "clones": {str(child): None}}
    assert _restart.restart_jobs(planner, [child], parent=True).returns == {
        "ids": [], "clones": {str(child): None, str(parent): None}}
    result = _restart.restart_jobs(client, [child], parent=True)
    new_parent, new_child = clone_id(api, parent), clone_id(api, child)
    assert result.returns["ids"] == [new_parent, new_child]
    assert api_get(api, "jobs/%d" % new_child)["job"]["parents"]["Chained"] == [new_parent]


def test_bulk_restart_is_one_post_with_repeated_keys(server, client, api, make_job):
    first, second = make_job(result="failed"), make_job(result="incomplete")
    result = _restart.restart_jobs(client, [first, second], prio=7, settings=[("FOO", "bar")], comment="retry")
    assert result.changed and result.returns["ids"] == [clone_id(api, first), clone_id(api, second)]
    # listing, probe for comment=, restart; 4.6 has no comment param: one comment per job
    assert client.request_count == (3 if server.version == "master" else 1 + 1 + 1 + 2)
    new = api_get(api, "jobs/%d" % result.returns["ids"][1])["job"]
    assert new["priority"] == 7 and new["settings"]["FOO"] == "bar"
    assert [c["text"] for c in api_get(api, "jobs/%d/comments" % first)] == ["retry"]


def test_unknown_job_is_status_2_before_any_post(server, ctl, module_direct):
    run = ctl("test", "restart", "--id", "987654321", *server.cli_creds())
    assert run.status == 2 and run.message.startswith("unknown test") and "987654321" in run.message
    result = module_direct("test", {"action": "restart", "id": [987654321], **server.creds()})
    assert (result["status"], result["msg"]) == (2, run.message)


def test_scheduled_job_is_refused_with_status_9(server, ctl, make_job):
    job_id = make_job()
    run = ctl("test", "restart", "--id", str(job_id), *server.cli_creds())
    assert run.status == 9 and "has not run yet" in run.message


def test_missing_assets_are_named_and_force_overrides(server, ctl, api, make_job):
    job_id = make_job(result="failed", ISO="no-such-medium-%s.iso" % id(api))
    refused = ctl("test", "restart", "--id", str(job_id), *server.cli_creds())
    assert refused.status == 9 and "no-such-medium" in refused.message and "force" in refused.message
    assert clone_id(api, job_id) is None
    forced = ctl("test", "restart", "--id", str(job_id), "--force", *server.cli_creds())
    assert forced.status == 0 and forced.returns["ids"] == [clone_id(api, job_id)]


def test_force_restarts_the_newest_clone_once_it_finished(server, client, api, make_job):
    job_id = make_job(result="failed")
    first = _restart.restart_jobs(client, [job_id]).returns["ids"][0]
    assert _restart.restart_jobs(client, [job_id], force=True).changed is False  # the clone is still pending
    api_post(api, "jobs/%d/set_done" % first, result="failed")
    again = _restart.restart_jobs(client, [job_id], force=True)
    assert again.changed and again.returns["ids"] == [clone_id(api, first)]


def test_running_job_is_restarted(server, ctl, api, make_job):
    job_id = make_job()
    server.sql("UPDATE jobs SET state='running', t_started=now() WHERE id=%d" % job_id)
    run = ctl("test", "restart", "--id", str(job_id), *server.cli_creds())
    assert run.status == 0 and run.returns["ids"] == [clone_id(api, job_id)]
    assert api_get(api, "jobs/%d" % job_id)["job"]["result"] == "user_restarted"


def test_parent_with_skip_children_is_ambiguous(server, ctl, client, make_job):
    run = ctl("test", "restart", "--id", "1", "--parent", "--skip-children", *server.cli_creds())
    assert run.status == 3
    with pytest.raises(AmbiguousError):
        _restart.restart_jobs(client, [1], parent=True, skip_parents=True)


def test_restart_by_a_plain_user_is_status_5(server, ctl, make_job):
    job_id = make_job(result="failed")
    run = ctl("test", "restart", "--id", str(job_id), *server.cli_creds("user"))
    assert run.status == 5


def test_restart_of_unknown_id_raises_not_found(client):
    with pytest.raises(NotFoundError):
        _restart.restart_jobs(client, [987654321])
