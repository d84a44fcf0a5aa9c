"""Test data for test label / test investigate / triage_failed.yml: failed jobs made the way a worker makes them.

A worker registers (``POST workers``), is given a job, uploads its files while it runs (``POST
jobs/N/artefact``: autoinst-log.txt, vars.json with TEST_GIT_HASH) and finishes it with a result and a reason
(``POST jobs/N/set_done``). Only the hand-over of the job to the worker goes through ``tests/openqa-server sql``:
openQA assigns jobs over the worker's websocket, which the test server has no worker for. Every scenario has a
version of its own (VERSION=tri-TAG), so openQA's "last good job" and identical-clone searches see only its jobs;
the jobs are in the fixture group unless asked otherwise. Works on the running servers and after a reset.
"""

from __future__ import annotations

import json
import typing as t
import uuid

import pytest
import requests

from conftest import Server, api_post

from ansible_collections.openqa.client.plugins.module_utils import _jobs
from ansible_collections.openqa.client.plugins.module_utils.client import OpenQAClient
from ansible_collections.openqa.client.plugins.module_utils.envelope import OpenQAError, Result

LOG = "[2026-12-06T10:00:00.000 UTC] [debug] Current version is 4.6 [interface v40]\n" \
      "[2026-12-06T10:00:01.000 UTC] [debug] git hash of test distribution: %s\n" \
      "%s\n[2026-12-06T10:05:00.000 UTC] [debug] isotovideo done\n"
TEST_GIT_URL = "https://github.com/os-autoinst/os-autoinst-distri-opensuse.git"


class Scenarios:
    """Makes worker-made jobs; remembers them to cancel what stays pending (investigation clones)."""

    def __init__(self, server: Server, api: requests.Session, worker_id: int) -> None:
        self.server, self.api, self.worker_id = server, api, worker_id
        self.versions: t.List[str] = []

    def scenario(self, **settings: t.Any) -> dict:
        tag = uuid.uuid4().hex[:8]
        values = {"DISTRI": "opensuse", "VERSION": "tri-" + tag, "FLAVOR": "DVD", "ARCH": "x86_64",
                  "TEST": "tri_" + tag, "MACHINE": "64bit", "_GROUP": self.server.fixture["group_name"]}
        values.update(settings)
        self.versions.append(values["VERSION"])
        return {k: v for k, v in values.items() if v is not None}

    def job(self, scenario: t.Mapping[str, t.Any], result: str, build: str, git_hash: t.Optional[str] = "aaa111",
            reason: t.Optional[str] = None, log_lines: str = "", log: bool = True, **settings: t.Any) -> int:
        """One job of the scenario run by our worker: its files uploaded, finished with result and reason."""
        job_id = api_post(self.api, "jobs", **dict(scenario, BUILD=build, **settings))["id"]
        self.server.sql("UPDATE jobs SET state='running', assigned_worker_id=%d, t_started=now() WHERE id=%d; "
                        "UPDATE workers SET job_id=%d WHERE id=%d" % (self.worker_id, job_id, job_id, self.worker_id))
        job_vars = dict({k: v for k, v in scenario.items() if not k.startswith("_")}, BUILD=build)
        if git_hash:
            job_vars.update(TEST_GIT_HASH=git_hash, TEST_GIT_URL=TEST_GIT_URL)
        self.upload(job_id, "vars.json", json.dumps(job_vars).encode())
        if log:
            self.upload(job_id, "autoinst-log.txt", (LOG % (git_hash, log_lines)).encode())
        done: dict = {"result": result}
        if reason:
            done["reason"] = reason
        api_post(self.api, "jobs/%d/set_done" % job_id, **done)
        return job_id

    def upload(self, job_id: int, name: str, content: bytes) -> None:
        response = self.api.post(self.api.base + "jobs/%d/artefact" % job_id,  # type: ignore[attr-defined]
                                 files={"file": (name, content)})
        response.raise_for_status()

    def finish(self, job_id: int, result: str) -> None:
        """An investigation job done, as its worker would report it."""
        api_post(self.api, "jobs/%d/set_done" % job_id, result=result)


@pytest.fixture(scope="module")
def triage_worker(server: Server, api: requests.Session) -> t.Iterator[int]:
    """A worker of our own (POST workers, as a worker registers); removed when the module is done."""
    host = "triage-%s" % uuid.uuid4().hex[:8]
    worker_id = api_post(api, "workers", host=host, instance=1, cpu_arch="x86_64", mem_max=2048,
                         worker_class="qemu_x86_64", websocket_api_version=1)["id"]
    yield worker_id
    server.sql("UPDATE jobs SET state='cancelled', result='user_cancelled', t_finished=now() "
               "WHERE assigned_worker_id=%d AND t_finished IS NULL; UPDATE workers SET job_id=NULL, "
               "t_seen=now() - interval '1 day' WHERE id=%d" % (worker_id, worker_id))
    api.delete(api.base + "workers/%d" % worker_id)  # type: ignore[attr-defined]


@pytest.fixture
def scenarios(server: Server, api: requests.Session, triage_worker: int) -> t.Iterator[Scenarios]:
    made = Scenarios(server, api, triage_worker)
    yield made
    for version in sorted(set(made.versions)):  # investigation jobs no worker will run: cancelled, as an operator would
        api_post(api, "jobs/cancel", VERSION=version)


def run_test_verb(server: Server, action: str, check_mode: bool = False, **raw: t.Any) -> t.Tuple[Result, int]:
    """The test entry's verb in-process, as the CLI and the module call it; also the requests it made."""
    client = OpenQAClient(server.url, check_mode=check_mode, **server.creds())
    declared = _jobs.ENTRY.action(action)
    try:
        result = declared.run(client, _jobs.ENTRY.prepare(declared, raw))
    except OpenQAError as error:
        result = Result.from_error(error)
    return result, client.request_count
