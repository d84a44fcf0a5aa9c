"""`openqa-ctl events` and ansible-rulebook as background processes, for tests/functional/test_events*.py.

Each test reads the stream's lines as they come; the timeouts here only keep a broken build from hanging
the suite, nothing waits for time to pass.
"""

from __future__ import annotations

import fcntl
import json
import os
import selectors
import signal
import subprocess
import sys
import time
import typing as t

import pytest

SAFETY_TIMEOUT = 120  # a hung test fails after this; no test depends on it


class Background:
    """A process whose stdout is read line by line (JSON lines or ansible-rulebook's log)."""

    def __init__(self, argv: t.List[str], env: t.Optional[dict] = None, cwd: t.Optional[str] = None,
                 merged: bool = False) -> None:
        self.argv = argv
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, env=env, cwd=cwd,
                                     stderr=subprocess.STDOUT if merged else subprocess.PIPE)
        self.lines: t.List[str] = []
        self.errors: t.List[str] = []
        self._buffers = {"stdout": b"", "stderr": b""}

    def line(self, matching: t.Callable[[str], bool] = lambda line: True, stream: str = "stdout") -> str:
        """The next line that matches; fails if the process ends (or the safety timeout passes) first."""
        seen = self.lines if stream == "stdout" else self.errors
        # one deadline for the whole search: a process repeating other lines (a reconnect warning) must not hang it
        deadline = time.monotonic() + SAFETY_TIMEOUT
        while True:
            line = self._next_line(stream, deadline)
            if line is None:
                pytest.fail("%s ended (rc %s) before the line expected; got:\n%s\nstderr:\n%s"
                            % (self.argv[:4], self.proc.wait(), "".join(self.lines[-20:]), self.stderr()))
            if line is False:
                break
            seen.append(line)
            if matching(line):
                return line
        pytest.fail("no line expected within %d s; got:\n%s\nstderr:\n%s"
                    % (SAFETY_TIMEOUT, "".join(seen[-20:]), self.stop_and_stderr()))

    def _next_line(self, stream: str, deadline: float) -> t.Union[str, None, bool]:
        """The next line of stdout or stderr; None at the end of it, False after the deadline."""
        pipe = getattr(self.proc, stream)
        with selectors.DefaultSelector() as selector:
            selector.register(pipe, selectors.EVENT_READ)
            while b"\n" not in self._buffers[stream]:
                if time.monotonic() >= deadline or not selector.select(timeout=deadline - time.monotonic()):
                    return False
                chunk = os.read(pipe.fileno(), 65536)
                if not chunk:
                    return None
                self._buffers[stream] += chunk
        line, self._buffers[stream] = self._buffers[stream].split(b"\n", 1)
        return line.decode("utf-8", "replace") + "\n"

    def ready(self) -> str:
        """openqa-ctl events says when it watches: what happens from then on reaches it."""
        return self.line(lambda text: "openqa-ctl: watching " in text, stream="stderr")

    def event(self, kind: t.Optional[str] = None) -> dict:
        event = json.loads(self.line(lambda text: text.startswith("{") and (
            kind is None or json.loads(text).get("openqa", {}).get("type") in (kind, None))))
        if "openqa" not in event:
            pytest.fail("the stream ended with %s" % event)
        return event

    def wait(self) -> int:
        return self.proc.wait(timeout=SAFETY_TIMEOUT)

    def stderr(self) -> str:
        if not self.proc.stderr or self.proc.poll() is None:
            return "".join(self.errors)
        return "".join(self.errors) + (self._buffers["stderr"] + self.proc.stderr.read()).decode("utf-8", "replace")

    def terminate(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.wait()

    def stop_and_stderr(self) -> str:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        return self.stderr()

    def rest(self) -> str:
        """All stdout after the process ended."""
        assert self.proc.stdout is not None
        return "".join(self.lines) + (self._buffers["stdout"] + self.proc.stdout.read()).decode("utf-8", "replace")


@pytest.fixture
def background() -> t.Iterator[t.Callable[..., Background]]:
    started: t.List[Background] = []

    def start(argv: t.List[str], env: t.Optional[dict] = None, cwd: t.Optional[str] = None,
              merged: bool = False) -> Background:
        process = Background(argv, env, cwd, merged)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop_and_stderr()


# One broker serves both servers' suites (scripts/test runs them at the same time): a test that stops or restarts
# it (it uses the `broker` fixture) holds this lock alone, the other broker tests share it.
BROKER_LOCK = "/tmp/openqa-client-broker-tests.lock"


@pytest.fixture
def amqp(server, request) -> t.Iterator[dict]:
    if "amqp" not in server.state:
        pytest.fail("the state file has no amqp: tests/openqa-server of this tree starts the broker and "
                    "enables openQA's AMQP plugin (run its reset)")
    with open(BROKER_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX if "broker" in request.fixturenames else fcntl.LOCK_SH)
        yield server.state["amqp"]


def ctl_argv(*args: str) -> t.List[str]:
    return [sys.executable, "-m", "ansible_collections.openqa.client.cli.openqa_ctl", *args]


def clean_env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENQA_API_")}
    env.update(extra)
    return env
