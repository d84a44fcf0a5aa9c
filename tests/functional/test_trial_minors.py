"""Issue 25's minors against the real server: a build id that arrives as a float, one message style for
every mutating action."""

from __future__ import annotations

import json
import uuid

from conftest import api_get

FLOAT_WARNING = ("arrived as a number (20261120.1), not as text: YAML and JSON drop a number's trailing zeros "
                 "(20261120.10 becomes 20261120.1); quote it if the build id has any")


def test_a_build_id_that_arrives_as_a_float_warns(server, ctl, module, tmp_path):
    data = tmp_path / "wait.json"
    data.write_text('{"id": 20261120.10}')
    cli = ctl("build", "wait", "--json-data", str(data), "--check")
    assert cli.rc == 10 and "openqa-ctl: warning: id " + FLOAT_WARNING in cli.stderr, cli.stderr
    quoted = tmp_path / "quoted.json"
    quoted.write_text(json.dumps({"id": "20261120.10"}))
    assert "arrived as a number" not in ctl("build", "wait", "--json-data", str(quoted), "--check").stderr
    product = {"DISTRI": "opensuse", "VERSION": "Tumbleweed", "FLAVOR": "DVD", "ARCH": "x86_64", "BUILD": 20261120.10}
    mod = module("build", {"action": "new", "vars": product, **server.creds()}, check=True)
    assert mod.status == 0 and "vars BUILD " + FLOAT_WARNING in mod.stdout + mod.stderr, mod.stdout
    plain = module("build", {"action": "new", "vars": dict(product, BUILD="f-" + uuid.uuid4().hex[:6]),
                             **server.creds()}, check=True)
    assert plain.status == 0 and "arrived as a number" not in plain.stdout + plain.stderr


def test_a_long_wait_without_a_terminal_prints_progress_at_most_once_a_minute(ctl, make_job):
    """CI has no terminal: a long build wait says on stderr that it is alive, at most once a minute
    (OPENQA_CTL_PROGRESS_EVERY seconds); a short one prints nothing."""
    build = "progress-" + uuid.uuid4().hex[:8]
    make_job(BUILD=build)   # stays scheduled
    args = ("build", "wait", "--id", build, "--timeout", "2", "--interval", "1")
    short = ctl(*args)
    assert short.rc == 8 and "waiting for" not in short.stderr, short.stderr
    every_poll = ctl(*args, env={"OPENQA_CTL_PROGRESS_EVERY": "0"})
    assert every_poll.rc == 8 and "openqa-ctl: waiting for 1 jobs: 1 scheduled\n" in every_poll.stderr


def test_max_attempts_restarts_a_failure_as_soon_as_it_is_final(server, ctl, api, make_job):
    """An early flaky failure does not wait for the slowest job of the build to be restarted."""
    build = "early-" + uuid.uuid4().hex[:8]
    failed = make_job(result="failed", BUILD=build, TEST="flaky")
    make_job(BUILD=build, TEST="slow")   # never finishes here
    run = ctl("build", "wait", "--id", build, "--max-attempts", "2", "--timeout", "2", "--interval", "1",
              *server.cli_creds())
    clone = api_get(api, "jobs/%d" % failed)["job"]["clone_id"]
    assert run.rc == 8 and clone, run.envelope
    assert run.message.startswith("restarted %d as %d (max_attempts 2); " % (failed, clone)), run.message
    assert run.envelope["invocation"]["changed"] is True


def test_a_lookup_of_a_wait_on_pending_jobs_is_not_a_pass(server, make_job):
    """A lookup runs in check mode and never waits: pending jobs are status 10 (cannot know yet), an error."""
    from test_lookup_plugin import lookup

    pending = make_job()
    proc = lookup(server, "lookup('openqa.client.openqa', 'test', 'wait', id=[%d], host=url)" % pending)
    assert proc.returncode != 0 and "cannot know yet" in proc.stdout + proc.stderr
    assert "(status 10)" in proc.stdout + proc.stderr
