"""openqa-ctl events without a broker: the REST poll against the real openQA (both versions)."""

from __future__ import annotations

import json
import uuid

from conftest import api_post
from events_fixture import background, clean_env, ctl_argv  # noqa: F401  pylint: disable=unused-import


def _build() -> str:
    return "ev-" + uuid.uuid4().hex[:10]


def test_build_done_gate_without_polling_loop(server, api, make_job, background):
    """--type build.done --build B --count 1 is a shell gate: it ends with status 0 and the build's verdict."""
    build = _build()
    jobs = [make_job(BUILD=build, TEST=test) for test in ("boot", "textmode", "gnome")]
    gate = background(ctl_argv("events", "--host", server.url, "--type", "build.done", "--build", build,
                               "--count", "1", "--poll-interval", "1"), env=clean_env())
    for job_id, result in zip(jobs, ("passed", "softfailed", "failed"), strict=True):
        api_post(api, "jobs/%d/set_done" % job_id, result=result)
    event = gate.event("build.done")
    assert gate.wait() == 0
    done = event["openqa"]
    assert (done["build"], done["jobs"], done["ok"]) == (build, 3, False)
    assert done["results"] == {"passed": 1, "softfailed": 1, "failed": 1}
    assert [(f["id"], f["test"], f["result"]) for f in done["failed"]] == [(jobs[2], "gnome", "failed")]
    assert (done["distri"], done["version"], done["host"]) == ("opensuse", "Tumbleweed", server.url)
    assert "build=%s" % build in done["url"]
    assert gate.rest().strip().splitlines() == [json.dumps(event, sort_keys=True)]


def test_poll_emits_each_job_done_then_the_build(server, api, make_job, background):
    build = _build()
    first, second = make_job(BUILD=build, TEST="a"), make_job(BUILD=build, TEST="b")
    stream = background(ctl_argv("events", "--host", server.url, "--build", build, "--count", "3",
                                 "--poll-interval", "1"), env=clean_env())
    stream.ready()
    api_post(api, "jobs/%d/set_done" % first, result="passed")
    assert stream.event("job.done")["openqa"]["id"] == first
    api_post(api, "jobs/%d/set_done" % second, result="softfailed")
    done = stream.event("job.done")["openqa"]
    assert (done["id"], done["result"], done["DISTRI"], done["BUILD"]) == (second, "softfailed", "opensuse", build)
    verdict = stream.event("build.done")["openqa"]
    assert verdict["ok"] is True and verdict["jobs"] == 2
    assert stream.wait() == 0


def test_the_same_build_done_has_the_same_uuid_and_a_restart_makes_a_new_one(server, api, make_job, background):
    """A build restarted after its build.done gets a new build.done when it finishes again."""
    build = _build()
    job_id = make_job(result="failed", BUILD=build)
    argv = ctl_argv("events", "--host", server.url, "--type", "build.done", "--build", build, "--count", "1")
    first = background(argv, env=clean_env()).event("build.done")
    again = background(argv, env=clean_env()).event("build.done")
    assert first == again and first["openqa"]["ok"] is False
    restarted = background(argv[:-2] + ["--count", "2", "--poll-interval", "1"], env=clean_env())
    assert restarted.event("build.done") == first
    restarted.ready()
    clone = api_post(api, "jobs/%d/restart" % job_id)["result"][0][str(job_id)]
    api_post(api, "jobs/%d/set_done" % clone, result="passed")
    second = restarted.event("build.done")
    assert second["meta"]["uuid"] != first["meta"]["uuid"]
    assert second["openqa"]["ok"] is True and second["openqa"]["failed"] == []
    assert restarted.wait() == 0


def test_timeout_before_count_is_status_8(ctl):
    run = ctl("events", "--build", _build(), "--count", "1", "--timeout", "1", "--poll-interval", "1")
    assert run.rc == 8 and run.status == 8
    assert run.message == "0 of 1 events within 1s"


def test_sigterm_ends_the_stream_cleanly(server, make_job, background):
    build = _build()
    make_job(result="passed", BUILD=build)
    stream = background(ctl_argv("events", "--host", server.url, "--build", build, "--poll-interval", "1"),
                        env=clean_env())
    stream.event("build.done")  # it runs (and has its signal handlers)
    assert stream.terminate() == 0
    assert "Traceback" not in stream.stderr()


def test_bad_arguments_say_what_to_fix(ctl):
    run = ctl("events", "--queue", "gate")
    assert run.rc == 4 and run.message == "queue needs amqp_url: without a broker the source polls openQA's REST API"
    run = ctl("events", "--amqp-url", "http://guest:hidden-pw@127.0.0.1/")
    assert run.rc == 4 and "amqp_url must start with amqp://" in run.message
    assert "hidden-pw" not in run.stdout + run.stderr


def test_amqp_without_aio_pika_is_status_4_saying_what_to_install(ctl, tmp_path):
    """aio-pika is the `events` extra: without it an AMQP URL is a clear answer, not an internal error."""
    (tmp_path / "aio_pika").mkdir()
    (tmp_path / "aio_pika" / "__init__.py").write_text("raise ImportError('not installed')\n")
    run = ctl("events", "--amqp-url", "amqp://guest:guest@127.0.0.1:5672/", "--count", "1", "--timeout", "60",
              env={"PYTHONPATH": str(tmp_path)})
    assert run.rc == 4 and "aio-pika" in run.message and "[events]" in run.message, run.stdout
