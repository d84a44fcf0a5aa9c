"""Issue 24, bytes and files: downloads bounded like answers, names that cannot collide, input files that
are files, paths signed as sent.

A real openQA never sends an endless log, a details answer about another job or names that land on one
another, so a small fake server (tests/hostile_server.py) plays those; what a real server can show (links
planted in DEST, check mode and local copies) is in test_test_download.py. Time bounds are generous: they
separate "bounded" from "unbounded" (12 to 25 s and 572 MB before), not fast from slow.
docs/reliability.md lists the cases.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import typing as t
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from ansible_collections.openqa.client.cli.openqa_ctl import ENTRIES
from ansible_collections.openqa.client.plugins.module_utils._download import fetch_job_file
from ansible_collections.openqa.client.plugins.module_utils._runner import execute
from ansible_collections.openqa.client.plugins.module_utils.client import OpenQAClient
from ansible_collections.openqa.client.plugins.module_utils.envelope import Result, Status

from test_hostile import CREDS, CTL, SLACK, HostileServer  # one loader of tests/hostile_server.py

Answer = t.Union[bytes, t.Callable[[t.Any], None]]


def ctl_env() -> dict:
    return {k: v for k, v in os.environ.items() if not k.startswith("OPENQA_")}


def _endless(request: t.Any) -> None:
    request.raw(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"x" * 65536
    while not request.stop.is_set():
        request.raw(b"%x\r\n%s\r\n" % (len(chunk), chunk))


def _one_byte_a_second(request: t.Any) -> None:
    body = b"a log line\n" * 10
    request.raw(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % len(body))
    request.trickle(body, every=1.0)


def fake_openqa(files: t.Mapping[str, Answer], job: t.Optional[dict] = None) -> t.Callable[[t.Any], None]:
    """Job 1's details (its logs are ``files`` unless ``job`` says otherwise) and its file and image routes."""
    details = job if job is not None else {"id": 1, "logs": list(files), "ulogs": [], "testresults": []}

    def respond(request: t.Any) -> None:
        path = unquote(urlsplit(request.path).path)
        name = path.rsplit("/", 1)[-1]
        if path == "/api/v1/jobs/1/details":
            request.json({"job": details})
        elif path.startswith(("/tests/1/file/", "/tests/1/images/")) and name in files:
            answer = files[name]
            if callable(answer):
                answer(request)
            else:
                request.answer(200, answer, content_type="text/plain")
        else:
            request.json({"error_status": 404}, status=404)
    return respond


def download(url: str, dest: Path, **options: t.Any) -> Result:
    raw = dict(CREDS, **options, action="download", id=[1], dest=str(dest), host=url)
    return execute(ENTRIES["test"], raw, environ={})


def tree(dest: Path) -> t.Dict[str, bytes]:
    return {str(p.relative_to(dest)): p.read_bytes() for p in sorted(dest.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------ every downloaded body is bounded


@pytest.mark.parametrize("where", ["log", "screenshot"])
def test_an_endless_file_stops_at_the_answer_cap(where, tmp_path):
    """Before: an endless log wrote 572 MB in 12 s despite --deadline 5 --max-answer-mb 16."""
    job = {"id": 1, "logs": ["autoinst-log.txt"] if where == "log" else [], "testresults": [
        {"name": "boot", "details": [{"screenshot": "boot-1.png"}] if where == "screenshot" else []}]}
    name = "autoinst-log.txt" if where == "log" else "boot-1.png"
    with HostileServer(fake_openqa({name: _endless}, job)) as fake:
        started = time.monotonic()
        result = download(fake.url, tmp_path, deadline=30.0, max_answer_mb=16)
        took = time.monotonic() - started
    assert result.status == Status.OK, result.message
    assert result.returns["skipped"][0]["path"] == "testresults/" + name
    assert result.returns["skipped"][0]["reason"] == "too large"
    assert "larger than max_answer_mb 16" in result.warnings[0]
    assert not (tmp_path / "testresults" / name).exists() and not list(tmp_path.rglob("*.part"))
    assert took < 30.0, took


def test_a_slow_file_stops_at_the_deadline_and_says_what_was_done(tmp_path):
    """Before: a log sent at 1 byte/s kept `test download --deadline 5` busy for 25 s (each resumption had
    its own deadline). Now the deadline bounds the file with all its requests; the file fetched before it
    is reported, and the part file is kept for the next run."""
    files: t.Dict[str, Answer] = {"serial0.txt": b"serial\n", "autoinst-log.txt": _one_byte_a_second}
    with HostileServer(fake_openqa(files)) as fake:
        started = time.monotonic()
        result = download(fake.url, tmp_path, deadline=3.0, request_timeout=2.0, retries=9)
        took = time.monotonic() - started
    assert result.status == Status.UNREACHABLE and "within the deadline of 3 s" in result.message, result.message
    assert took < 3.0 + SLACK, took
    assert result.changed is True and result.returns["files"] == [
        {"path": "testresults/serial0.txt", "bytes": 7, "outcome": "downloaded"}]
    assert tree(tmp_path)["testresults/serial0.txt"] == b"serial\n"


def test_one_job_file_is_bounded_like_an_answer(tmp_path):
    """What test label reads autoinst-log.txt with (fetch_job_file): at most max_answer_mb without a limit."""
    with HostileServer(fake_openqa({"autoinst-log.txt": _endless, "vars.json": b"{}"})) as fake:
        client = OpenQAClient(fake.url, max_answer_mb=4)
        assert fetch_job_file(client, 1, "vars.json", str(tmp_path / "vars.json"), None) == ("downloaded", 2)
        outcome, size = fetch_job_file(client, 1, "autoinst-log.txt", str(tmp_path / "log"), None)
    assert outcome == "too large" and size > 4 * 2 ** 20 and sorted(os.listdir(tmp_path)) == ["vars.json"]


# ------------------------------------------------------------------ names the server sends


def _job(**lists: t.Any) -> dict:
    return dict({"id": 1, "logs": [], "ulogs": [], "testresults": [], "assets": {}}, **lists)


@pytest.mark.parametrize("job, why", [
    (_job(logs=["a.txt.part", "a.txt"]), "land on testresults/a.txt.part"),
    (_job(logs=["a.txt", "a.txt.part"]), "land on testresults/a.txt.part"),
    (_job(logs=["ulogs"], ulogs=["journal.txt"]), "land on testresults/ulogs"),
    (_job(logs=["autoinst-log.txt"], assets={"testresults": ["autoinst-log.txt"]}), "type 'testresults'"),
    (_job(assets={"testresults": ["autoinst-log.txt"]}), "type 'testresults'"),
    (_job(logs=["a\nb.txt"]), "not a plain file name"),
    (_job(logs=["x\x1b[31m.txt"]), "not a plain file name"),
    (_job(testresults=[{"name": "boot", "details": [{"text": "t\r.txt"}]}]), "not a plain file name"),
    (_job(id=2, logs=["autoinst-log.txt"]), "not about job 1"),
    (_job(testresults=[{"details": []}]), "odd shape"),
])
def test_names_that_collide_or_mislead_are_refused_before_anything_is_written(job, why, tmp_path):
    """Before: a.txt.part then a.txt deleted the first while reporting it downloaded; an asset of the type
    testresults overwrote autoinst-log.txt; another job's details were trusted; control characters and
    newlines were accepted in file names."""
    every = {name: name.encode() for name in ("a.txt", "a.txt.part", "ulogs", "journal.txt", "autoinst-log.txt")}
    with HostileServer(fake_openqa(every, job)) as fake:
        result = download(fake.url, tmp_path / "dest", what=["logs", "results", "assets"])
    assert result.status == Status.SERVER_ERROR and why in result.message, result.message
    assert "refused, nothing was downloaded" in result.message
    assert [seen.path for seen in fake.requests] == ["/api/v1/jobs/1/details"]
    assert not (tmp_path / "dest").exists()


def test_a_file_listed_twice_is_fetched_once(tmp_path):
    with HostileServer(fake_openqa({"a.txt": b"a\n"}, _job(logs=["a.txt", "a.txt"]))) as fake:
        result = download(fake.url, tmp_path)
    assert result.status == Status.OK and tree(tmp_path) == {"testresults/a.txt": b"a\n"}
    assert len(fake.requests) == 2


# ------------------------------------------------------------------ input files are regular and bounded


def _limited_memory() -> None:
    """The child may not take the machine down: reading /dev/zero unbounded stops at 1 GiB with MemoryError."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


@pytest.mark.parametrize("option", ["api --data-file", "api --param-file", "build --param-file"])
@pytest.mark.parametrize("kind", ["fifo", "/dev/zero", "65 MiB", "directory"])
def test_input_files_are_regular_and_bounded(option, kind, tmp_path):
    """Before: a FIFO hung, /dev/zero ended in a MemoryError and a 1.9 GB file was read whole. Now as
    --json-data: status 4 at once, nothing sent."""
    path = {"fifo": str(tmp_path / "fifo"), "/dev/zero": "/dev/zero", "65 MiB": str(tmp_path / "big"),
            "directory": str(tmp_path)}[kind]
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "65 MiB":
        with open(path, "wb") as handle:
            handle.truncate(65 * 2 ** 20)  # sparse: no disk is used
    argv = {"api --data-file": ["api", "-X", "POST", "jobs", "--data-file", path],
            "api --param-file": ["api", "-X", "POST", "jobs", "--param-file", "ISO=" + path],
            "build --param-file": ["build", "new", "--vars", "DISTRI=d", "VERSION=1", "FLAVOR=f", "ARCH=a",
                                   "BUILD=1", "--param-file", "ISO=" + path]}[option]
    with HostileServer(lambda request: request.json({"ids": [1]})) as fake:
        started = time.monotonic()
        proc = subprocess.run(CTL + argv + ["--host", fake.url, "--api-key", CREDS["api_key"], "--api-secret",
                                            CREDS["api_secret"]], capture_output=True, text=True, env=ctl_env(),
                              timeout=60, check=False, preexec_fn=_limited_memory)
    message = json.loads(proc.stdout)["invocation"]["message"]
    assert proc.returncode == 4, proc.stdout + proc.stderr[-500:]
    assert ("larger than 64 MiB" if kind == "65 MiB" else "not a regular file") in message, message
    assert fake.requests == [] and time.monotonic() - started < 30


# ------------------------------------------------------------------ api: the path signed is the path sent


@pytest.mark.parametrize("path, why", [("jobs?limit=5", "holds a query"), ("jobs#x", "holds a '#'"),
                                       ("jobs/../jobs", "'..' segment"), ("./jobs", "'..' segment")])
@pytest.mark.parametrize("check", [False, True])
def test_api_refuses_a_path_that_would_be_sent_as_another(path, why, check):
    """Before: a path with '?' or '..' was signed over another path than was sent (status 5 "check
    api_secret"); '#' cut the parameters off as a fragment (all jobs instead of five)."""
    with HostileServer(lambda request: request.json({"jobs": []})) as fake:
        raw = dict(CREDS, action="call", method="POST", path=path, params=["limit=5"], host=fake.url)
        result = execute(ENTRIES["api"], raw, environ={}, check_mode=check)
    assert result.status == Status.INVALID_INPUT and why in result.message, result.message
    assert fake.requests == []
