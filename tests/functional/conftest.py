"""Harness for tests against the real openQA started by tests/openqa-server.

`server` is the state the script wrote (URL, keys, fixture ids). `api` is a plain requests
session with Basic auth (honoured from localhost) for setting up and inspecting the server
independently of the code under test. `ctl` runs the CLI, `module` runs a module through
`ansible` itself, `module_direct` runs the module file without ansible's start-up (for
large tables).

Two servers: openQA 4.6 (Debian package) and openQA git master; OPENQA_TEST_STATE names the state file
of the one to test (tests/output/openqa-server.json or openqa-server-master.json). A test whose expected
behaviour differs between them says so: `@pytest.mark.server_version("master")` runs it only there (and its
docstring states the difference); the `server_version` fixture gives "4.6" or "master".
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import typing as t
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from faultproxy_fixture import proxy  # noqa: F401  pylint: disable=unused-import  # the fixture, for every test here


ROOT = Path(__file__).resolve().parents[2]
SERVER_SCRIPT = ROOT / "tests" / "openqa-server"
_RESULT_LINE = re.compile(r"^localhost \| (SUCCESS|CHANGED|FAILED!) => ", re.MULTILINE)


@dataclass
class Server:
    url: str
    keys: dict
    fixture: dict
    state: dict
    version: str = "4.6"

    def creds(self, role: str = "admin") -> dict:
        return {"api_key": self.keys[role]["key"], "api_secret": self.keys[role]["secret"]}

    def cli_creds(self, role: str = "admin") -> list:
        return ["--api-key", self.keys[role]["key"], "--api-secret", self.keys[role]["secret"]]

    def sql(self, statement: str) -> str:
        return subprocess.run([str(SERVER_SCRIPT), "--version", self.version, "sql", statement], check=True,
                              capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="session")
def server() -> Server:
    path = os.environ.get("OPENQA_TEST_STATE")
    if not path:
        path = subprocess.run([str(SERVER_SCRIPT), "start"], check=True, capture_output=True,
                              text=True).stdout.strip().splitlines()[-1]
    state = json.loads(Path(path).read_text())
    return Server(url=state["url"], keys=state["keys"], fixture=state["fixture"], state=state,
                  version=state.get("version", "4.6"))


@pytest.fixture(scope="session")
def server_version(server: Server) -> str:
    """ "4.6" or "master": which openQA the state file describes."""
    return server.version


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "server_version(*versions): run only against these openQA versions "
                                       "(4.6, master); the behaviour it tests differs on the others")


@pytest.fixture(autouse=True)
def _fresh_feature_probes() -> None:
    """The client probes a server's features once per process: each test starts unprobed, so request
    counts do not depend on which test ran first."""
    from ansible_collections.openqa.client.plugins.module_utils import client as client_module
    getattr(client_module, "_FEATURES", {}).clear()
    getattr(client_module, "_ROUTES", {}).clear()


@pytest.fixture(autouse=True)
def _only_on_server_version(request: pytest.FixtureRequest) -> None:
    marker = request.node.get_closest_marker("server_version")
    if marker:
        version = request.getfixturevalue("server_version")
        if version not in marker.args:
            pytest.skip("openQA %s only (this server: %s)" % ("/".join(marker.args), version))


class _FreshConnections(requests.Session):
    """A session that never reuses a connection: the web UI drops idle keep-alive connections (a
    playbook run is long enough), and a pooled one can be found closed just as a request goes out."""

    def request(self, *args: t.Any, **kwargs: t.Any) -> requests.Response:  # type: ignore[override]
        try:
            return super().request(*args, **kwargs)
        finally:
            self.close()


@pytest.fixture(scope="session")
def api(server: Server) -> requests.Session:
    session = _FreshConnections()
    admin = server.keys["admin"]
    session.auth = (admin["user"], "%s:%s" % (admin["key"], admin["secret"]))
    session.headers["Accept"] = "application/json"
    session.base = server.url + "/api/v1/"  # type: ignore[attr-defined]
    return session


def api_get(api: requests.Session, path: str, **params: t.Any) -> t.Any:
    response = api.get(api.base + path, params=params)  # type: ignore[attr-defined]
    response.raise_for_status()
    return response.json()


def api_post(api: requests.Session, path: str, **params: t.Any) -> t.Any:
    response = api.post(api.base + path, data=params)  # type: ignore[attr-defined]
    response.raise_for_status()
    return response.json()


@pytest.fixture
def make_job(api: requests.Session, server: Server) -> t.Callable[..., int]:
    """A new job of this test's own (so tests never fight over fixture jobs); result= finishes it."""

    def make(result: t.Optional[str] = None, **settings: t.Any) -> int:
        values = {"DISTRI": "opensuse", "VERSION": "Tumbleweed", "FLAVOR": "DVD", "ARCH": "x86_64",
                  "BUILD": "own", "TEST": "own", "MACHINE": "64bit"}
        values.update(settings)
        job_id = api_post(api, "jobs", **values)["id"]
        if result:
            api_post(api, "jobs/%d/set_done" % job_id, result=result)
        return job_id

    return make


@dataclass
class Run:
    rc: int
    envelope: dict
    stdout: str
    stderr: str

    @property
    def status(self) -> int:
        return self.envelope["invocation"]["status"]

    @property
    def message(self) -> str:
        return self.envelope["invocation"]["message"]

    @property
    def returns(self) -> t.Any:
        return self.envelope.get("returns")


def _clean_env(extra: t.Optional[dict]) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENQA_API_")}
    env.update(extra or {})
    return env


@pytest.fixture
def ctl(server: Server) -> t.Callable[..., Run]:
    """Run `openqa-ctl ARGS --from URL` in a subprocess; the envelope must be valid JSON."""

    def run(*args: str, host: bool = True, env: t.Optional[dict] = None, stdin: str = "") -> Run:
        argv = [sys.executable, "-m", "ansible_collections.openqa.client.cli.openqa_ctl", *args]
        if host and args and not args[0].startswith("-"):
            argv += ["--from", server.url]  # --from: in worker search --host is the worker-host filter
        proc = subprocess.run(argv, capture_output=True, text=True, env=_clean_env(env), input=stdin,
                              timeout=300, check=False)
        assert "Traceback" not in proc.stderr, proc.stderr
        envelope = json.loads(proc.stdout) if proc.stdout.strip() else {}
        return Run(proc.returncode, envelope, proc.stdout, proc.stderr)

    return run


def _ansible_env(extra: t.Optional[dict]) -> dict:
    env = _clean_env(extra)
    env.setdefault("ANSIBLE_LOCALHOST_WARNING", "false")
    env.setdefault("ANSIBLE_INVENTORY_UNPARSED_WARNING", "false")
    env.setdefault("ANSIBLE_NOCOLOR", "1")
    return env


@dataclass
class ModuleRun:
    rc: int
    result: dict
    stdout: str
    stderr: str

    @property
    def status(self) -> int:
        return self.result["status"]

    @property
    def returns(self) -> t.Any:
        return self.result.get("returns")


@pytest.fixture
def module(server: Server) -> t.Callable[..., ModuleRun]:
    """Run `ansible localhost -m openqa.client.openqa_ENTRY -a JSON` and parse its result."""

    def run(entry: str, args: dict, check: bool = False, verbosity: int = 0, host: bool = True,
            env: t.Optional[dict] = None) -> ModuleRun:
        args = dict(args, host=server.url) if host and "host" not in args else args
        argv = ["ansible", "localhost", "-m", "openqa.client.openqa_" + entry, "-a", json.dumps(args)]
        argv += ["--check"] if check else []
        argv += ["-" + "v" * verbosity] if verbosity else []
        proc = subprocess.run(argv, capture_output=True, text=True, env=_ansible_env(env), timeout=300, check=False)
        matches = list(_RESULT_LINE.finditer(proc.stdout))
        assert matches, "no result in ansible output:\n%s\n%s" % (proc.stdout, proc.stderr)
        result = json.JSONDecoder().raw_decode(proc.stdout[matches[-1].end():])[0]
        return ModuleRun(proc.returncode, result, proc.stdout, proc.stderr)

    return run


@pytest.fixture
def module_direct(server: Server) -> t.Callable[..., dict]:
    """Run the module file as ansible would on the target, without ansible's start-up."""

    def run(entry: str, args: dict, check: bool = False, host: bool = True,
            env: t.Optional[dict] = None) -> dict:
        args = dict(args, host=server.url) if host and "host" not in args else dict(args)
        if check:
            args["_ansible_check_mode"] = True
        with tempfile.NamedTemporaryFile("w", suffix=".json") as handle:
            json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
            handle.flush()
            proc = subprocess.run(
                [sys.executable, "-m", "ansible_collections.openqa.client.plugins.modules.openqa_" + entry,
                 handle.name], capture_output=True, text=True, env=_clean_env(env), timeout=300, check=False)
        assert "Traceback" not in proc.stderr, proc.stderr
        return json.loads(proc.stdout)

    return run
