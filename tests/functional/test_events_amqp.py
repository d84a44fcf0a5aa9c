"""openqa-ctl events with the real broker: openQA's AMQP plugin publishing (4.6 and master), and the faults
(broker restart, broker down, missing exchange, a consumer that was away, SIGTERM)."""

from __future__ import annotations

import subprocess
import uuid

import pytest
from conftest import api_post
from events_fixture import amqp, background, clean_env, ctl_argv  # noqa: F401  pylint: disable=unused-import


@pytest.fixture
def broker(amqp):
    """rabbitmqctl on the local broker; a test that stops it starts it again, whatever happens (and holds the
    broker tests' lock alone: see events_fixture.amqp)."""

    def ctl(*args: str) -> None:
        subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=120)

    stopped = []

    def stop() -> None:
        ctl("stop_app")
        stopped.append(True)

    def start() -> None:
        ctl("start_app")
        ctl("await_startup")
        stopped.clear()

    yield type("Broker", (), {"ctl": staticmethod(ctl), "stop": staticmethod(stop), "start": staticmethod(start)})
    if stopped:
        start()


def _events(server, amqp, *args: str) -> list:
    return ctl_argv("events", "--host", server.url, "--amqp-url", amqp["url"], "--topic-prefix",
                    amqp["topic_prefix"], "--settle", "1", *args)


def _build() -> str:
    return "amqp-" + uuid.uuid4().hex[:10]


def test_job_events_and_build_done_from_openqa(server, api, make_job, amqp, background):
    build = _build()
    stream = background(_events(server, amqp, "--build", build, "--count", "5"), env=clean_env())
    assert "amqp://***@127.0.0.1:5672/" in stream.ready()
    first, second = make_job(BUILD=build, TEST="boot"), make_job(BUILD=build, TEST="gnome")
    created = [stream.event("job.create")["openqa"] for _number in range(2)]
    assert sorted(event["id"] for event in created) == [first, second]
    assert created[0]["DISTRI"] == "opensuse" and created[0]["remaining"] >= 1
    api_post(api, "jobs/%d/set_done" % first, result="passed")
    api_post(api, "jobs/%d/set_done" % second, result="failed")
    done = [stream.event("job.done")["openqa"] for _number in range(2)]
    assert [(e["id"], e["result"], e["VERSION"], e["group"]) for e in done] == [
        (first, "passed", "Tumbleweed", None), (second, "failed", "Tumbleweed", None)]
    assert done[1]["remaining"] == 0
    verdict = stream.event("build.done")
    assert verdict["openqa"]["results"] == {"passed": 1, "failed": 1} and verdict["openqa"]["ok"] is False
    assert stream.wait() == 0
    output = stream.rest() + stream.stderr()
    assert "guest:guest" not in output and ":guest@" not in output


def test_missing_exchange_is_named(server, amqp, ctl):
    exchange = "nope-" + uuid.uuid4().hex[:6]
    run = ctl("events", "--amqp-url", amqp["url"], "--exchange", exchange, "--timeout", "60")
    assert run.rc == 2
    assert run.message.startswith("exchange %r does not exist on amqp://***@127.0.0.1:5672/: openQA does not "
                                  "create it" % exchange)
    assert "guest:guest" not in run.stdout + run.stderr


def test_a_named_durable_queue_replays_what_finished_while_the_consumer_was_down(
        server, api, make_job, amqp, broker, background):
    build, queue = _build(), "openqa-client-test-" + uuid.uuid4().hex[:8]
    job_id = make_job(BUILD=build)
    argv = _events(server, amqp, "--build", build, "--queue", queue, "--type", "job.done", "--count", "1")
    try:
        first = background(argv, env=clean_env())
        first.ready()  # the queue exists and is bound
        assert first.terminate() == 0
        api_post(api, "jobs/%d/set_done" % job_id, result="passed")  # published while nobody consumes
        again = background(argv + ["--poll-interval", "1h"], env=clean_env())  # the poll cannot be what sees it
        event = again.event("job.done")["openqa"]
        assert (event["id"], event["result"], event["remaining"]) == (job_id, "passed", 0)
        assert again.wait() == 0
        # the event handed on was acknowledged: a third consumer of the queue does not get it again. (The queue
        # need not be empty: the other server's suite publishes into it meanwhile; those events stay queued.)
        third = background(argv + ["--poll-interval", "1h", "--timeout", "5"], env=clean_env())
        assert third.wait() == 8 and "job.done" not in third.rest(), third.stop_and_stderr()
    finally:
        broker.ctl("delete_queue", queue)


def test_broker_restart_reconnects_and_rechecks_open_builds(server, api, make_job, amqp, broker,
                                                            background):
    build = _build()
    job_id = make_job(BUILD=build)
    stream = background(_events(server, amqp, "--build", build, "--type", "build.done", "--count", "1",
                                "--poll-interval", "1h"), env=clean_env())
    stream.ready()
    broker.stop()
    broker.start()
    stream.line(lambda text: "reconnected to amqp://***@127.0.0.1:5672/" in text, stream="stderr")
    api_post(api, "jobs/%d/set_done" % job_id, result="passed")
    assert stream.event("build.done")["openqa"]["jobs"] == 1
    assert stream.wait() == 0


def test_broker_down_the_poll_still_announces_build_done(server, api, make_job, amqp, broker,
                                                         background):
    """openQA drops events it cannot publish (after about 200 s of retries): the reconciliation poll does not
    need them."""
    build = _build()
    job_id = make_job(BUILD=build)
    stream = background(_events(server, amqp, "--build", build, "--type", "build.done", "--count", "1",
                                "--poll-interval", "1"), env=clean_env())
    stream.ready()
    broker.stop()
    api_post(api, "jobs/%d/set_done" % job_id, result="failed")
    assert stream.event("build.done")["openqa"]["failed"][0]["id"] == job_id
    assert stream.wait() == 0


def test_sigterm_closes_the_connection_and_exits_0(server, amqp, background):
    stream = background(_events(server, amqp, "--build", _build()), env=clean_env())
    stream.ready()
    assert stream.terminate() == 0
    assert "Traceback" not in stream.stderr()


def test_a_job_openqa_ends_without_an_event_is_found_by_the_poll(server, api, make_job, amqp,
                                                                 background):
    """openQA sends no job.done when a job goes incomplete because its worker vanished or it went stale; the
    reconciliation poll beside the AMQP consumer announces the build anyway."""
    build = _build()
    job_id = make_job(BUILD=build)
    stream = background(_events(server, amqp, "--build", build, "--count", "1", "--poll-interval", "1"),
                        env=clean_env())
    stream.ready()
    # what openQA's stale-job detection does, with no event (tests/openqa-server sql: the API cannot)
    server.sql("UPDATE jobs SET state = 'done', result = 'incomplete', t_finished = now() WHERE id = %d" % job_id)
    event = stream.event()["openqa"]
    assert (event["type"], event["ok"], event["results"]) == ("build.done", False, {"incomplete": 1})
    assert stream.wait() == 0
