"""test stop/cancel against the real openQA: by id, by conditions, idempotency, check mode."""

from __future__ import annotations

import uuid

from conftest import api_get


def state(api, job_id: int) -> tuple:
    job = api_get(api, "jobs/%d" % job_id)["job"]
    return job["state"], job["result"], job.get("reason")


def test_stop_by_id_records_the_reason_and_a_second_run_is_unchanged(server, ctl, api, make_job):
    job_id = make_job()
    first = ctl("test", "stop", "--id", str(job_id), "--reason", "not needed", *server.cli_creds())
    assert (first.rc, first.returns, first.envelope["invocation"]["changed"]) == (0, [job_id], True)
    assert state(api, job_id)[:2] == ("cancelled", "user_cancelled")
    second = ctl("test", "cancel", "--id", str(job_id), *server.cli_creds())
    assert (second.rc, second.returns, second.envelope["invocation"]["changed"]) == (0, [], False)


def test_done_job_is_left_alone(server, module_direct, api, make_job):
    job_id = make_job(result="failed")
    result = module_direct("test", {"action": "stop", "id": [job_id], **server.creds()})
    assert (result["status"], result["returns"], result["changed"]) == (0, [], False)
    assert state(api, job_id)[:2] == ("done", "failed")


def test_check_mode_cancels_nothing(server, ctl, api, make_job):
    job_id = make_job()
    run = ctl("test", "stop", "--id", str(job_id), "--check", *server.cli_creds())
    assert (run.returns, run.envelope["invocation"]["changed"]) == ([job_id], True)
    assert state(api, job_id)[0] == "scheduled"


def test_stop_by_conditions_lists_what_it_cancelled(server, ctl, api, make_job):
    build = "stop-" + uuid.uuid4().hex[:8]
    pending = [make_job(BUILD=build, TEST="a"), make_job(BUILD=build, TEST="b")]
    finished = make_job(BUILD=build, TEST="c", result="passed")
    other = make_job(BUILD=build + "x")
    check = ctl("test", "stop", "--build", build, "--check", *server.cli_creds())
    assert check.returns == sorted(pending) and state(api, pending[0])[0] == "scheduled"
    run = ctl("test", "stop", "--build", build, *server.cli_creds())
    assert (run.status, run.returns, run.envelope["invocation"]["changed"]) == (0, sorted(pending), True)
    assert all(state(api, job_id)[0] == "cancelled" for job_id in pending)
    assert state(api, finished)[:2] == ("done", "passed") and state(api, other)[0] == "scheduled"
    again = ctl("test", "stop", "--build", build, *server.cli_creds())
    assert (again.returns, again.envelope["invocation"]["changed"]) == ([], False)


def test_stop_by_conditions_with_reason_cancels_each_job(server, ctl, api, make_job):
    build = "stop-" + uuid.uuid4().hex[:8]
    job_id = make_job(BUILD=build, TEST="only")
    run = ctl("test", "stop", "--build", build, "--test", "only", "--reason", "cleanup", *server.cli_creds())
    assert run.returns == [job_id]
    assert state(api, job_id) == ("cancelled", "user_cancelled", "cleanup")


def test_unknown_job_is_status_2(server, ctl):
    run = ctl("test", "stop", "--id", "987654321", *server.cli_creds())
    assert run.status == 2 and run.message.startswith("unknown test")


def test_id_and_conditions_are_ambiguous_and_nothing_is_invalid(server, ctl):
    assert ctl("test", "stop", "--id", "5", "--build", "x", *server.cli_creds()).status == 3
    run = ctl("test", "stop", *server.cli_creds())
    assert run.status == 4 and "never cancels every job" in run.message
