# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to this collection: no API promise, it may change in any release.
"""build restart and build wait: restarting a build's failures (``max_attempts``) and waiting for them."""

from __future__ import annotations

import typing as t

from ansible_collections.openqa.client.plugins.module_utils._build_jobs import (
    CANCELLED_BY_A_PERSON,
    by_test_name,
    describe_build,
    existing_build,
    latest_jobs,
    require_one_build,
    select_jobs,
)
from ansible_collections.openqa.client.plugins.module_utils._job_reads import (
    id_list,
    is_final,
    relative_ids,
)
from ansible_collections.openqa.client.plugins.module_utils._restart import (
    restart_jobs,
    used_up_note,
)
from ansible_collections.openqa.client.plugins.module_utils._waiting import wait_for_jobs
from ansible_collections.openqa.client.plugins.module_utils.envelope import (
    OpenQAError,
    Result,
    Status,
    failed_after,
)

if t.TYPE_CHECKING:
    from ansible_collections.openqa.client.plugins.module_utils.client import Client


# What openQA makes of the rest of a cluster when one of its jobs is cancelled.
CANCELLED_ALONG = frozenset({"skipped", "parallel_failed"})


def _restartable(jobs: t.Iterable[dict], runs: t.Mapping[int, int],
                 params: t.Mapping[str, t.Any]) -> t.Tuple[t.Dict[int, dict], t.List[str]]:
    """The jobs to restart by id, and notes naming those left alone: "retry each failure once" for a
    pipeline that reruns means a scenario that has run max_attempts times stays as it is, and a job a
    person cancelled stays cancelled unless force."""
    todo: t.Dict[int, dict] = {}
    used_up: t.List[int] = []
    jobs = sorted(jobs, key=lambda job: int(job["id"]))
    cancelled = [] if params["force"] else _cancelled_by_a_person(jobs)
    max_attempts = params["max_attempts"]
    for job in jobs:
        if int(job["id"]) in cancelled:
            continue
        if max_attempts is not None and runs.get(int(job["id"]), 1) >= max_attempts:
            used_up.append(int(job["id"]))
        else:
            todo[int(job["id"])] = job
    notes = ["not restarted, cancelled by a person (force restarts them): %s" % id_list(cancelled)] if cancelled else []
    notes += [used_up_note(max_attempts, used_up)] if used_up else []
    return todo, notes


def _cancelled_by_a_person(jobs: t.Sequence[dict]) -> t.List[int]:
    """The jobs a person cancelled, and those openQA cancelled with them (a chained child skipped, a
    parallel sibling failed): restarting any of them would restart the cluster the person stopped."""
    cancelled = {int(job["id"]) for job in jobs if job.get("result") == CANCELLED_BY_A_PERSON}
    followers = [job for job in jobs if job.get("result") in CANCELLED_ALONG]
    grown = True
    while grown:
        grown = False
        for job in followers:
            if int(job["id"]) not in cancelled and cancelled.intersection(relative_ids(job)):
                cancelled.add(int(job["id"]))
                grown = True
    return sorted(cancelled)


def _restart_listed(client: Client, params: t.Mapping[str, t.Any], jobs: t.Dict[int, dict]) -> Result:
    """restart_jobs with the restart options, for jobs the caller has just listed (no second read)."""
    return restart_jobs(client, sorted(jobs), force=params["force"], skip_parents=params["skip_parents"],
                        skip_children=params["skip_children"],
                        skip_ok_result_children=params["skip_ok_result_children"], jobs=jobs)


def restart(client: Client, params: dict) -> Result:
    runs: t.Dict[int, int] = {}
    jobs = latest_jobs(client, params, runs)
    if not jobs:
        # the proposal's status 0; found tells "no such build" from "nothing to restart"
        return Result(returns={"ids": [], "clones": {}, "found": False}, message="no build found")
    require_one_build(params, jobs)
    selected = select_jobs(jobs, params)
    finished, notes = _restartable([job for job in selected if is_final(job)], runs, params)
    note = "; ".join(notes)
    if not finished:
        pending = sum(1 for job in jobs if not is_final(job))
        reason = note or "no finished job of the build matches the filters"
        if pending:
            # typically the restarts of an earlier run, still waiting for a worker
            reason += " (%d of its jobs are still scheduled or running)" % pending
        return Result(returns={"ids": [], "clones": {}, "found": True}, message="nothing to restart: %s" % reason)
    result = _restart_listed(client, params, finished)
    # as test restart words it: what was restarted as what
    message = "; ".join([result.message] + notes)
    return Result(returns=dict(result.returns, found=True), status=result.status, changed=result.changed,
                  message=message, warnings=result.warnings)


class _RetryFailures:
    """build wait --max-attempts: as soon as jobs are final and not ok (their cluster final too), restart
    those whose scenario has run fewer than max_attempts times (in one POST, from the listing in hand) and
    wait for them in the same polls; "retry each failure once" is then one step with no listing of its own."""

    def __init__(self, client: Client, params: t.Mapping[str, t.Any], runs: t.Dict[int, int]) -> None:
        self.client = client
        self.params = params
        self.runs = runs
        self.clones: t.Dict[int, int] = {}
        # restarts another run made of the same jobs at the same time: followed, but not this run's change
        self.meanwhile: t.Dict[int, int] = {}
        self.would_restart: t.List[int] = []
        self.left_alone: t.List[str] = []
        self.failure: t.Optional[Result] = None
        self.warnings: t.List[str] = []
        self.answer: t.Callable[[], t.Any] = list

    def __call__(self, bad: t.Dict[int, dict], answer: t.Callable[[], t.Any]) -> t.Dict[int, t.Optional[int]]:
        self.answer = answer  # after an error: the build as the wait knew it (a restart is "scheduled")
        if self.failure is not None:
            return {}  # a restart was refused: nothing more is tried, the restarts it made were waited for
        eligible, self.left_alone = _restartable(bad.values(), self.runs, self.params)
        if not eligible:
            return {}
        try:
            outcome = _restart_listed(self.client, self.params, eligible)
        except OpenQAError as error:
            if not self.clones:
                raise  # nothing restarted yet: the error alone is the whole truth
            self.failure = Result.from_error(error)
            return {}
        self.warnings += outcome.warnings
        clones = {int(old): new for old, new in outcome.returns["clones"].items()}
        if self.client.check_mode:
            self.would_restart = sorted(clones)
            return {}
        made = {old: new for old, new in clones.items() if new}
        self.runs.update((new, self.runs.get(old, 1) + 1) for old, new in made.items())
        # restart_jobs reports changed only for what its own request cloned ("already cloned" is the other run)
        (self.clones if outcome.changed else self.meanwhile).update(made)
        if outcome.status != Status.OK:
            self.failure = outcome  # the status; the restarts made despite it are followed like the others
        return made

    def restarted(self) -> str:
        parts = [("restarted %s" if mapping is self.clones else "already restarted (meanwhile, by another run) %s")
                 % ", ".join("%d as %d" % item for item in sorted(mapping.items()))
                 for mapping in (self.clones, self.meanwhile) if mapping]
        return "%s (max_attempts %d)" % ("; ".join(parts), self.params["max_attempts"])

    def outcome(self, waited: Result) -> Result:
        if self.would_restart:
            return Result(returns=waited.returns, warnings=self.warnings, status=Status.UNDECIDED,
                          message="; ".join(["check mode: cannot know yet: would restart %s (max_attempts %d) and "
                                             "wait for them" % (id_list(self.would_restart),
                                                                self.params["max_attempts"])]
                                            + self.left_alone + _still_pending(waited)))
        if self.failure is not None:
            return Result(returns=waited.returns, status=self.failure.status, changed=bool(self.clones),
                          warnings=self.warnings, message="%s; then restarting failed: %s" % (
                              self.restarted() if self.clones or self.meanwhile else "finished, not ok",
                              self.failure.message))
        message = "; ".join([waited.message] + self.left_alone)
        if self.clones or self.meanwhile:
            message = "%s; %s" % (self.restarted(), message)
        return Result(returns=waited.returns, status=waited.status, changed=bool(self.clones),
                      warnings=self.warnings + waited.warnings, message=message)


def _still_pending(waited: Result) -> t.List[str]:
    """What a check-mode wait said about the jobs still pending, beside what it would restart."""
    prefix = "check mode: cannot know yet: "
    if waited.status == Status.UNDECIDED and waited.message.startswith(prefix):
        return [waited.message[len(prefix):]]
    return []


def wait(client: Client, params: dict) -> Result:
    runs: t.Dict[int, int] = {}
    jobs = latest_jobs(client, params, runs)
    if not jobs and client.check_mode:
        # after a check-mode 'build new' the build is not there: no verdict yet, and not an error either
        return Result(returns=[], status=Status.UNDECIDED, message="check mode: cannot know yet: no job has %s "
                      "yet (in check mode nothing is scheduled; without a step that schedules it, it is an "
                      "unknown build)" % describe_build(params))
    jobs = existing_build(client, params, jobs)
    selected = select_jobs(jobs, params)
    if not selected:
        return Result(returns=[], message="no job of the build matches the filters")
    retry = _RetryFailures(client, params, runs) if params["max_attempts"] is not None else None
    try:
        # the listing just read is the first poll: a build that is already final costs no second request;
        # the last poll's listing is the answer, shaped as build info's, so a gate needs no read of its own
        waited = wait_for_jobs(client, [int(job["id"]) for job in selected], timeout=params["timeout"],
                               interval=params["interval"], listed={int(job["id"]): job for job in selected},
                               retry=retry, describe=by_test_name)
    except OpenQAError as error:
        if retry is None or not retry.clones:
            raise
        return failed_after(Result(returns=retry.answer(), changed=True, message=retry.restarted(),
                                   warnings=retry.warnings), "waiting for the restarted jobs", error)
    return retry.outcome(waited) if retry is not None else waited
