"""Answers that need no network (help, version, completion, input errors) must not pay for requests."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

# Runs the console script's main() in a fresh interpreter and reports what got imported.
PROBE = """
import json, sys
from ansible_collections.openqa.client.cli import openqa_ctl
try:
    code = openqa_ctl.main(sys.argv[1:])
except SystemExit as exited:
    code = exited.code
print(json.dumps({"code": code, "requests": "requests" in sys.modules, "urllib3": "urllib3" in sys.modules,
                  "events": "aio_pika" in sys.modules or "ansible_rulebook" in sys.modules}), file=sys.stderr)
"""


def _probe(argv: list) -> dict:
    # the collection is found as in this process (site-packages, or ansible-test's collection root),
    # and no OPENQA_* variable or client.conf lends credentials
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/nonexistent",
           "OPENQA_CONFIG": "/nonexistent", "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    done = subprocess.run([sys.executable, "-c", PROBE] + argv, capture_output=True, text=True, timeout=60,
                          env=env, check=False)
    return json.loads(done.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize("argv, code", [
    (["--help"], 0),
    (["test", "status", "--help"], 0),
    (["build", "--help"], 0),
    (["--version"], 0),
    (["--completion", "bash"], 0),
    ([], 4),
    (["nope"], 4),
    (["test", "nope"], 4),
    (["test", "status"], 4),
    (["test", "status", "--id", "x"], 4),
    (["test", "status", "--id", "1", "--retries", "-1"], 4),
    (["test", "status", "--id", "1", "--host", "ftp://x"], 4),
    (["test", "status", "--id", "1", "--api-key", "k"], 4),
    (["events", "--help"], 0),
    (["events", "--types", "build.finished"], 4),
    (["events", "--settle", "soon"], 4),
])
def test_no_requests_import_without_a_request(argv, code):
    seen = _probe(argv)
    assert seen == {"code": code, "requests": False, "urllib3": False, "events": False}


def test_polling_events_import_neither_aio_pika_nor_ansible_rulebook():
    """openqa-ctl events without --amqp-url polls over REST: the events extra is not needed (port 9 refuses,
    the poll warns and goes on until --timeout)."""
    seen = _probe(["events", "--host", "http://127.0.0.1:9", "--retries", "0", "--timeout", "0.5"])
    assert seen == {"code": 0, "requests": True, "urllib3": True, "events": False}


def test_a_call_that_reaches_for_the_network_imports_it():
    """The control: the probe does see requests once a request is made (port 9 refuses)."""
    seen = _probe(["test", "status", "--id", "1", "--host", "http://127.0.0.1:9", "--retries", "0"])
    assert seen == {"code": 1, "requests": True, "urllib3": True, "events": False}
