"""What differs between openQA 4.6 and openQA master, against whichever server OPENQA_TEST_STATE names.

scripts/test runs this file against both. A test marked ``server_version("master")`` covers behaviour only
master has (its docstring says what 4.6 does instead); the others pass on both, some with a request count
per version (the cheaper path where master offers one, the 4.6 path elsewhere).
"""

from __future__ import annotations

import hashlib
import hmac
import typing as t
import uuid

import pytest
import requests
from conftest import api_get, api_post

from ansible_collections.openqa.client.plugins.module_utils import _builds, _clone, _jobs, _restart
from ansible_collections.openqa.client.plugins.module_utils import client as client_module
from ansible_collections.openqa.client.plugins.module_utils.client import OpenQAClient
from ansible_collections.openqa.client.plugins.module_utils.envelope import AuthError, Status, UnreachableError

CLONE_DEFAULTS = {"skip_deps": False, "clone_children": False, "to": None, "force": False, "wait": False}


class RecordingSession(requests.Session):
    """A real session that remembers each request's method and URL."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: t.List[t.Tuple[str, str]] = []

    def request(self, method, url, *args, **kwargs):  # pylint: disable=arguments-differ
        self.sent.append((method, url))
        return super().request(method, url, *args, **kwargs)


def recording_client(server, role: str = "admin") -> t.Tuple[OpenQAClient, RecordingSession]:
    session = RecordingSession()
    return OpenQAClient(server.url, session=session, **server.creds(role)), session


def restart_chain(api, job_id: int, restarts: int) -> t.List[int]:
    """job_id and its restarts, each restart failed, oldest first."""
    chain = [job_id]
    for _number in range(restarts):
        answer = api_post(api, "jobs/%d/restart" % chain[-1])
        chain.append(int(answer["result"][0][str(chain[-1])]))
        api_post(api, "jobs/%d/set_done" % chain[-1], result="failed")
    return chain


def clone_params(source: int, *vars_: t.Tuple[str, str], **extra: t.Any) -> dict:
    return dict(CLONE_DEFAULTS, id=[source], vars=list(vars_), **extra)


# ---------------------------------------------------------------- build search


def test_build_search_works_on_both_in_two_requests(server, make_job):
    """master answers 400 to group_overview?limit_builds=500 from API clients: the client reads
    job_groups/N/build_results there (listed in GET /api/v1/routes), and the group overview on 4.6."""
    client, session = recording_client(server)
    params = {"group": None, "groupid": server.fixture["group_id"], "distri": None, "version": None,
              "name": server.fixture["build"], "limit": 500}
    result = _builds.search(client, params)
    # other tests add builds whose names contain the fixture's to its group
    assert server.fixture["build"] in result.returns["ids"] and not result.warnings
    paths = [url.split("?")[0][len(server.url):] for _method, url in session.sent]
    if server.version == "master":
        assert paths == ["/api/v1/routes", "/api/v1/job_groups/%d/build_results" % server.fixture["group_id"]]
    else:
        assert paths == ["/api/v1/routes", "/group_overview/%d" % server.fixture["group_id"]]


def test_build_search_cli_with_the_default_limit(server, ctl):
    run = ctl("build", "search", "--groupid", str(server.fixture["group_id"]), "--name", server.fixture["build"])
    assert run.rc == 0 and server.fixture["build"] in run.returns["ids"], run.message


# ---------------------------------------------------------------- explicit limits on every job listing


def test_every_job_listing_sends_a_limit(server, make_job):
    """master cuts a listing without limit at 1000 jobs: build new's "already scheduled?" listing and the
    listings by id must say how many they want."""
    build = "limits-" + uuid.uuid4().hex[:8]
    job_ids = [make_job(result="failed", BUILD=build) for _number in range(2)]
    client, session = recording_client(server)
    params = _builds.ENTRY.prepare(_builds.ENTRY.action("new"), {"vars": [
        "DISTRI=opensuse", "VERSION=Tumbleweed", "FLAVOR=DVD", "ARCH=x86_64", "BUILD=" + build]})
    result = _builds.new(OpenQAClient(server.url, check_mode=True, session=session, **server.creds()), params)
    assert result.returns["ids"] == sorted(job_ids)
    _restart.restart_jobs(client, job_ids)
    listings = [url for method, url in session.sent if method == "GET" and url.split("?")[0].endswith("/api/v1/jobs")]
    assert len(listings) == 2 and all("limit=" in url for url in listings), listings


# ---------------------------------------------------------------- clone


@pytest.mark.server_version("master")
def test_clone_copies_the_real_secret_of_a_parent(server, api, make_job):
    """master redacts _SECRET_*/*_PASSWORD in job listings; only jobs/N?unredacted=1 has the values
    (4.6 redacts nothing)."""
    parent = make_job(result="passed", TEST="secret-base", DB_PASSWORD="hunter2", _SECRET_TOKEN="t0ken")
    child = make_job(_START_AFTER_JOBS=parent, TEST="secret-child")
    api_post(api, "jobs/%d/set_done" % child, result="failed")
    client = OpenQAClient(server.url, **server.creds())
    result = _clone.clone(client, clone_params(child, ("BUILD", "sec-" + uuid.uuid4().hex[:8])))
    new_parent = result.returns["clones"][str(parent)]
    settings = api_get(api, "jobs/%d" % new_parent, unredacted=1)["job"]["settings"]
    assert (settings["DB_PASSWORD"], settings["_SECRET_TOKEN"]) == ("hunter2", "t0ken")


@pytest.mark.server_version("master")
def test_clone_refuses_with_status_5_when_secrets_stay_redacted(server, ctl, make_job):
    """Without operator rights master answers unredacted=1 with [redacted] values; 4.6 shows them all."""
    source = make_job(result="failed", TEST="secret-user", DB_PASSWORD="hunter2")
    run = ctl("test", "clone", "--id", str(source), "--vars", "BUILD=x", "--check", *server.cli_creds("user"))
    assert run.status == Status.AUTH and "DB_PASSWORD" in run.message and "operator" in run.message
    assert "hunter2" not in run.stdout + run.stderr


@pytest.mark.parametrize("extra", [
    {},
    {"DB_PASSWORD": "hunter2"},          # master lists it as [redacted]
    {"WORKER_CLASS": "zz_last,aa_first"},  # stored split, may come back in another order
])
def test_a_second_identical_clone_is_unchanged(server, make_job, extra):
    """master adds _PRIORITY_EXPLANATION to new jobs and redacts secrets in the listing the identical-clone
    check reads: neither may make a second run clone again."""
    source = make_job(result="failed", TEST="twice", **extra)
    client = OpenQAClient(server.url, **server.creds())
    params = clone_params(source, ("BUILD", "twice-" + uuid.uuid4().hex[:8]))
    first = _clone.clone(client, params)
    second = _clone.clone(client, params)
    assert first.changed and (second.changed, second.returns["id"]) == (False, first.returns["id"]), second.message


# ---------------------------------------------------------------- faster paths


def test_restart_with_comment_costs_one_request_where_the_server_takes_comment(
        server, api, make_job, server_version):
    """master: POST jobs/restart comment= comments every restarted job; 4.6: one POST per job."""
    job_ids = [make_job(result="failed", TEST="comment") for _number in range(10)]
    client = OpenQAClient(server.url, **server.creds())
    text = "retry " + uuid.uuid4().hex[:8]
    result = _restart.restart_jobs(client, job_ids, comment=text)
    assert result.changed and len(result.returns["ids"]) == 10
    for job_id in job_ids:
        assert [c["text"] for c in api_get(api, "jobs/%d/comments" % job_id)] == [text]
    # listing + probe + restart (+ one comment per job on 4.6)
    assert client.request_count == (3 if server_version == "master" else 13)


def test_status_follow_over_three_restarts(server, api, make_job, server_version):
    """master: GET jobs/N?follow=1 answers the newest clone; 4.6 ignores follow=1: one request per hop."""
    chain = restart_chain(api, make_job(result="failed", TEST="follow"), 3)
    client = OpenQAClient(server.url, **server.creds())
    result = _jobs.status(client, {"id": [chain[0]], "follow": True})
    assert result.returns == "failed"
    assert client.request_count == (1 if server_version == "master" else 4)
    info = _jobs.info(OpenQAClient(server.url, **server.creds()), {"id": [chain[0]], "attributes": ["clone_chain"]})
    assert info.returns["clone_chain"] == chain


# ---------------------------------------------------------------- authentication


class _ShiftedTime:
    def __init__(self, offset: float) -> None:
        self.offset = offset

    def __getattr__(self, name: str) -> t.Any:
        import time
        return getattr(time, name)

    def time(self) -> float:
        import time
        return time.time() + self.offset


@pytest.mark.server_version("master")
def test_clock_ahead_is_refused_with_the_servers_whole_text(server, monkeypatch, make_job):
    """master refuses a client clock beyond the tolerance in either direction and names both times and the
    tolerance after " - "; 4.6 refuses only a clock more than 300 s behind."""
    job_id = make_job(result="failed")
    monkeypatch.setattr(client_module, "time", _ShiftedTime(3600))
    client = OpenQAClient(server.url, **server.creds())
    with pytest.raises(AuthError) as caught:
        client.post("jobs/%d/comments" % job_id, {"text": "late"})
    message = caught.value.message
    assert "server time:" in message and "tolerance: 300s" in message, message
    assert "more than the server's tolerance" in message and "fix the clock" in message


def test_signature_covers_the_whole_path_under_a_path_prefix():
    """openQA behind https://host/openqa/ signs the prefix too (master's Auth.pm, openqa-cli's UserAgent)."""
    seen = {}

    class Session(requests.Session):
        def request(self, method, url, *args, **kwargs):  # pylint: disable=arguments-differ
            seen.update(url=url, headers=kwargs["headers"])
            raise requests.exceptions.ConnectionError("stop here")

    client = OpenQAClient("http://127.0.0.1:9/openqa", "KEY", "SECRET", session=Session(), retries=0)
    with pytest.raises(UnreachableError):
        client.get("jobs", {"limit": 1})
    headers = seen["headers"]
    expected = hmac.new(b"SECRET", ("/openqa/api/v1/jobs?limit=1" + headers["X-API-Microtime"]).encode(),
                        hashlib.sha1).hexdigest()
    assert seen["url"] == "http://127.0.0.1:9/openqa/api/v1/jobs?limit=1" and headers["X-API-Hash"] == expected
