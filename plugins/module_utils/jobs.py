# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``test`` entry point: one openQA job (the proposal's "test")."""

from __future__ import annotations

import typing as t

from ansible_collections.openqa.client.plugins.module_utils.envelope import (
    InvalidInputError,
    NotFoundError,
    Result,
)
from ansible_collections.openqa.client.plugins.module_utils.spec import Action, Entry, Option

PENDING_STATES = {"scheduled": "scheduled", "assigned": "scheduled",
                  "setup": "running", "running": "running", "uploading": "running"}
OK_RESULTS = frozenset({"passed", "softfailed"})
MAX_CLONE_HOPS = 50


def job_status(job: t.Mapping[str, t.Any]) -> str:
    """One word for a job's (state, result) pair; see the status table in the docs."""
    state, result = job.get("state"), job.get("result")
    if state in PENDING_STATES:
        return PENDING_STATES[state]
    if result and result != "none":
        return result
    return state or "unknown"


def one_id(params: t.Mapping[str, t.Any], action: str) -> int:
    ids = params["id"]
    if len(ids) != 1:
        raise InvalidInputError("'test %s' takes one --id, got %d" % (action, len(ids)))
    return ids[0]


def get_job(client: t.Any, job_id: int) -> dict:
    try:
        return client.get("jobs/%d" % job_id)["job"]
    except NotFoundError:
        raise NotFoundError("unknown test: there is no job %d on %s" % (job_id, client.base_url))


def newest_clone(client: t.Any, job: dict) -> dict:
    """Follow clone_id (restarts) to the newest job; openQA 4.6 has no follow=1."""
    for _hop in range(MAX_CLONE_HOPS):
        if not job.get("clone_id"):
            return job
        job = get_job(client, job["clone_id"])
    return job


def status(client: t.Any, params: dict) -> Result:
    job = get_job(client, one_id(params, "status"))
    if params["follow"]:
        job = newest_clone(client, job)
    return Result(returns=job_status(job))


ENTRY = Entry(
    name="test",
    help="one openQA job (a test run)",
    options=(
        Option("id", "Job id; repeat it for actions that take several jobs.", type="int", multiple=True),
        Option("follow", "Report on the newest clone when the job was restarted.", type="bool", default=False),
    ),
    actions=(
        Action("status", status, "the status word of a job: passed, failed, softfailed, running, scheduled, ...",
               options=("id", "follow"), required=("id",)),
    ),
)
