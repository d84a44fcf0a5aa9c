"""tests/openqa-server beside a real openQA: its own database, config dir and state file per server.

A second 4.6 test server is started on a port of its own (the shared one on 9526 is never touched) and removed
again. A port where some other server answers (a real openQA, here a stand-in) is refused, not reused.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import socket
import subprocess
import threading
import typing as t
from pathlib import Path

import pytest
from conftest import ROOT, SERVER_SCRIPT

pytestmark = pytest.mark.server_version("4.6")  # the script's own 4.6 server; master's is tests/openqa-master.sh's

PACKAGE_CONFIG = Path("/etc/openqa")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _script(port: int, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OPENQA_TEST_PORT=str(port), OPENQA_TEST_VERSION="4.6")
    return subprocess.run([str(SERVER_SCRIPT), *args], capture_output=True, text=True, env=env, timeout=600,
                          check=False)


def _package_config() -> t.Dict[str, bytes]:
    return {path.name: path.read_bytes() for path in PACKAGE_CONFIG.glob("*") if path.is_file()}


@pytest.fixture
def second_server() -> t.Iterator[int]:
    port = _free_port()
    yield port
    removed = _script(port, "remove")
    assert removed.returncode == 0, removed.stderr


def test_a_second_server_has_its_own_database_config_and_state_file(server, second_server):
    default_state = ROOT / "tests" / "output" / "openqa-server.json"
    default_before = default_state.read_bytes() if default_state.exists() else None
    package_before = _package_config()

    started = _script(second_server, "start")

    assert started.returncode == 0, started.stderr
    state_file = Path(started.stdout.strip().splitlines()[-1])
    assert state_file == ROOT / "tests" / "output" / ("openqa-server-%d.json" % second_server)
    state = json.loads(state_file.read_text())
    assert state["url"] == "http://127.0.0.1:%d" % second_server
    database = _script(second_server, "sql", "SELECT current_database()").stdout.strip()
    assert database == "client_qa_%d" % second_server
    assert database != server.sql("SELECT current_database()")   # not the shared server's, nor `openqa`
    assert Path(state["config_dir"], "database.ini").read_text().count("dbname=%s\n" % database) == 1
    assert _package_config() == package_before   # /etc/openqa's files are a real openQA's: untouched
    assert (default_state.read_bytes() if default_state.exists() else None) == default_before
    if shutil.which("openqa-cli"):  # the config dir's client.conf gives openqa-cli the admin key
        posted = subprocess.run(["openqa-cli", "api", "--host", state["url"], "-X", "POST",
                                 "jobs/%d/comments" % state["fixture"]["passed_job"], "text=own config"],
                                capture_output=True, text=True, env=dict(os.environ, OPENQA_CONFIG=state["config_dir"]),
                                timeout=120, check=False)
        assert posted.returncode == 0, posted.stdout + posted.stderr


class _StandIn(http.server.BaseHTTPRequestHandler):
    """Some other web server on the port: answers every GET with 200 and records the paths."""

    paths: t.List[str] = []

    def do_GET(self) -> None:  # noqa: N802  (http.server's name)
        self.paths.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"jobs": []}')

    def log_message(self, *args: t.Any) -> None:
        pass


def test_a_port_where_another_server_answers_is_left_alone():
    stand_in = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _StandIn)
    port = stand_in.server_address[1]
    thread = threading.Thread(target=stand_in.serve_forever, daemon=True)
    thread.start()
    try:
        started = _script(port, "start")
    finally:
        stand_in.shutdown()
        stand_in.server_close()

    assert started.returncode != 0
    assert "not a test server this script started" in started.stderr
    assert "set OPENQA_TEST_PORT" in started.stderr
    assert all(path.startswith("/api/v1/jobs") for path in _StandIn.paths), _StandIn.paths  # no /login
    assert not (ROOT / "tests" / "output" / ("openqa-server-%d.json" % port)).exists()


# ------------------------------------------------------------------ openQA master's source on a fresh clone
MASTER_SCRIPT = ROOT / "tests" / "openqa-master.sh"
VENDORED = sorted((ROOT / "tests" / "vendor").glob("openqa-master-*.tar.gz"))


def _export(script: Path, into: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in ("OPENQA_MASTER_SRC", "OPENQA_GIT_DIR")}
    return subprocess.run(["sh", str(script), "export"], capture_output=True, text=True, timeout=300, check=False,
                          env=dict(environ, OPENQA_MASTER_DIR=str(into), **env))


def _clone_without_shared(tmp_path: Path) -> Path:
    """The repository's files the export needs, in a directory with no ../shared beside it."""
    clone = tmp_path / "clone"
    (clone / "tests" / "vendor").mkdir(parents=True)
    shutil.copy(MASTER_SCRIPT, clone / "tests")
    for tarball in VENDORED:
        shutil.copy(tarball, clone / "tests" / "vendor")
    return clone / "tests" / "openqa-master.sh"


def test_the_repository_carries_openqa_masters_source():
    assert [path.name for path in VENDORED] == ["openqa-master-c4a89ca0a.tar.gz"]
    tracked = subprocess.run(["git", "-C", str(ROOT), "ls-files", "tests/vendor"], capture_output=True,
                             text=True, check=False)
    if tracked.returncode == 0:  # a git work tree (CI, a clone): git must not ignore it as a *.tar.gz
        assert "tests/vendor/openqa-master-c4a89ca0a.tar.gz" in tracked.stdout.split()
    assert "GPL-2.0-or-later" in (ROOT / "tests" / "vendor" / "README.md").read_text()


def test_a_clone_without_shared_exports_master_from_its_own_tarball(tmp_path):
    exported = _export(_clone_without_shared(tmp_path), tmp_path / "master")

    assert exported.returncode == 0, exported.stderr
    assert "c4a89ca0" in (tmp_path / "master" / "public" / "Changelog").read_text().splitlines()[0]
    assert (tmp_path / "master" / "script" / "openqa").is_file()


def test_openqa_master_src_wins_over_the_vendored_tarball(tmp_path):
    source = tmp_path / "src"
    (source / "public").mkdir(parents=True)
    (source / "public" / "Changelog").write_text("Update to version 5.0.other:\n")
    subprocess.run(["tar", "-czf", str(tmp_path / "openqa-master-other.tar.gz"), "-C", str(source), "."],
                   check=True)
    (tmp_path / "given").mkdir()
    shutil.move(str(tmp_path / "openqa-master-other.tar.gz"), str(tmp_path / "given"))

    exported = _export(_clone_without_shared(tmp_path), tmp_path / "master", OPENQA_MASTER_SRC=str(tmp_path / "given"))

    assert exported.returncode == 0, exported.stderr
    assert (tmp_path / "master" / "public" / "Changelog").read_text() == "Update to version 5.0.other:\n"
