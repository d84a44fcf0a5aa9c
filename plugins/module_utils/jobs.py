# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``test`` entry point: one openQA job (the proposal's "test").

``restart_jobs`` and ``waiting.wait_for_jobs`` are plain functions so that other entries
(build restart) reuse them.
"""

from __future__ import annotations

import re
import typing as t

from ansible_collections.openqa.client.plugins.module_utils.envelope import (
    AmbiguousError,
    InvalidInputError,
    NotFoundError,
    RefusedError,
    Result,
    ServerError,
    Status,
    UnreachableError,
)
from ansible_collections.openqa.client.plugins.module_utils.spec import Action, Entry, Option
from ansible_collections.openqa.client.plugins.module_utils.waiting import (
    MAX_CLONE_HOPS,
    OK_RESULTS,
    PENDING_STATES,
    is_final,
    job_status,
    list_jobs,
    unknown_jobs_error,
    wait_for_jobs,
)

__all__ = ["ENTRY", "job_status", "restart_jobs", "wait_for_jobs", "OK_RESULTS", "PENDING_STATES"]

# openQA leaves these alone on restart (PRISTINE_STATES): they have not run yet.
PRISTINE_STATES = frozenset({"scheduled", "assigned"})
DEPENDENCY_TYPES = ("Chained", "Directly chained", "Parallel")
_ALREADY_CLONED = re.compile(r"^Specified job (\d+) has already been cloned as (\d+)")
_MISSING_ASSETS = re.compile(r"^Job (\d+) misses the following mandatory assets: ([^\n]*)")


def one_id(params: t.Mapping[str, t.Any], action: str) -> int:
    ids = params["id"]
    if len(ids) != 1:
        raise InvalidInputError("'test %s' takes one --id, got %d" % (action, len(ids)))
    return ids[0]


def get_job(client: t.Any, job_id: int) -> dict:
    try:
        return client.get("jobs/%d" % job_id)["job"]
    except NotFoundError:
        raise unknown_jobs_error(client, [job_id])


def get_jobs(client: t.Any, job_ids: t.Iterable[int]) -> t.Dict[int, dict]:
    """All of these jobs in one listing request; any unknown id is status 2."""
    job_ids = list(job_ids)
    jobs = list_jobs(client, job_ids)
    missing = set(job_ids) - set(jobs)
    if missing:
        raise unknown_jobs_error(client, missing)
    return jobs


def newest_clone(client: t.Any, job: dict) -> dict:
    """Follow clone_id (restarts) to the newest job; openQA 4.6 has no follow=1."""
    for _hop in range(MAX_CLONE_HOPS):
        if not job.get("clone_id"):
            return job
        job = get_job(client, job["clone_id"])
    return job


def parent_ids(job: t.Mapping[str, t.Any]) -> t.List[int]:
    parents = job.get("parents") or {}
    return sorted({int(i) for kind in DEPENDENCY_TYPES for i in parents.get(kind) or []})


# ---------------------------------------------------------------- restart


def restart_jobs(client: t.Any, job_ids: t.List[int], *, force: bool = False, skip_parents: bool = False,
                 skip_children: bool = False, skip_ok_result_children: bool = False,
                 prio: t.Optional[int] = None, comment: t.Optional[str] = None,
                 settings: t.Sequence[t.Tuple[str, str]] = (), parent: bool = False) -> Result:
    """Restart jobs in one ``POST jobs/restart`` (repeated ``jobs=``); returns the new ids.

    ``returns`` lists, for each job asked for, the new ids of its restarted parents and then its
    own, then the other jobs of the clusters openQA restarted with them. A job that was already
    restarted counts as done (its existing clone is returned, ``changed`` False) unless ``force``,
    which restarts its newest clone when that has finished. ``parent`` restarts the jobs' parents
    (openQA then restarts their children, these jobs included). Unknown ids: status 2. Jobs that
    have not run yet (scheduled, assigned) are left alone: a warning, status 9 when that is all.
    Missing assets and directly chained parents: status 9 naming them, ``force`` overrides.
    Check mode posts nothing and returns the ids that would be restarted.
    """
    if parent and (skip_parents or skip_children):
        raise AmbiguousError("ambiguous options: parent restarts the parents and their children; it "
                             "contradicts skip_parents and skip_children")
    job_ids = list(dict.fromkeys(job_ids))
    jobs = get_jobs(client, job_ids)
    plan = _RestartPlan(client, job_ids, jobs, force=force, parent=parent)
    if not plan.to_post:
        return plan.nothing_to_do()
    if client.check_mode:
        return Result(returns=plan.to_post, changed=True, warnings=plan.warnings,
                      message="would restart %s" % _id_list(plan.to_post))
    params: t.List[t.Tuple[str, t.Any]] = [("jobs", job_id) for job_id in plan.to_post]
    flags = (("force", force), ("skip_parents", skip_parents), ("skip_children", skip_children),
             ("skip_ok_result_children", skip_ok_result_children))
    params += [(name, 1) for name, value in flags if value]
    params += [("prio", prio)] if prio is not None else []
    params += [("set", "%s=%s" % pair) for pair in settings]
    try:
        answer = client.post("jobs/restart", params)
    except (UnreachableError, ServerError):
        answer = _restart_outcome_after_failed_post(client, plan.to_post)
    result = plan.interpret(answer)
    if comment and result.changed:
        for job_id in plan.to_post:
            client.post("jobs/%d/comments" % job_id, {"text": comment})
    return result


class _RestartPlan:
    """What to post for a restart, and how to read openQA's always-200 answer."""

    def __init__(self, client: t.Any, job_ids: t.List[int], jobs: t.Dict[int, dict], *, force: bool,
                 parent: bool) -> None:
        self.job_ids = job_ids
        self.jobs = jobs
        self.warnings: t.List[str] = []
        self.existing: t.Dict[int, int] = {}  # job asked for -> its clone that already stands for it
        self.pristine: t.List[int] = []
        self.to_post: t.List[int] = []
        self.stands_for: t.Dict[int, int] = {}  # job asked for -> the job actually restarted for it
        for job_id in job_ids:
            job = jobs[job_id]
            if job.get("clone_id"):
                # Already restarted: that clone stands for the job; force restarts the newest one if it finished.
                newest = newest_clone(client, job) if force else {"id": int(job["clone_id"]), "state": None}
                if not force or not is_final(newest):
                    self.existing[job_id] = int(newest["id"])
                    continue
                job = newest
            self.stands_for[job_id] = int(job["id"])
            if job["state"] in PRISTINE_STATES:
                self.pristine.append(job_id)
            elif parent and parent_ids(job):
                self._add(parent_ids(job))
            else:
                self._add([int(job["id"])])
        if self.pristine:
            self.warnings.append("not restarted, it has not run yet (state scheduled or assigned): %s"
                                 % _id_list(self.pristine))

    def _add(self, ids: t.Iterable[int]) -> None:
        self.to_post.extend(i for i in ids if i not in self.to_post)

    def nothing_to_do(self) -> Result:
        if self.existing:
            returns = [self.existing[i] for i in self.job_ids if i in self.existing]
            return Result(returns=returns, warnings=self.warnings,
                          message="already restarted: %s" % ", ".join(
                              "%d as %d" % (i, self.existing[i]) for i in self.job_ids if i in self.existing))
        raise RefusedError("not restarted: job %s has not run yet (state scheduled or assigned); openQA "
                           "restarts only jobs that started or finished" % _id_list(self.pristine))

    def interpret(self, answer: t.Mapping[str, t.Any]) -> Result:
        clones: t.Dict[int, int] = {}
        for entry in answer.get("result") or []:
            clones.update({int(old): int(new) for old, new in entry.items()})
        refusals, assets = [], []
        for error in answer.get("errors") or []:
            cloned = _ALREADY_CLONED.match(error)
            missing = _MISSING_ASSETS.match(error)
            if cloned:
                # Restarted by this very request as part of another job's cluster, or by someone else.
                clones.setdefault(int(cloned.group(1)), int(cloned.group(2)))
            elif missing:
                assets.append("job %s misses %s" % missing.groups())
            else:
                refusals.append(error.split("\n")[0])
        returns = self._ordered_new_ids(clones)
        warnings = self.warnings + [w.split("\n")[0] for w in answer.get("warnings") or []]
        changed = bool(clones)
        if assets or refusals:
            hint = "; force overrides this" if assets or answer.get("enforceable") else ""
            message = "not restarted: %s%s" % ("; ".join(assets + refusals), hint)
            if returns:
                message += "; restarted: %s" % _id_list(returns)
            return Result(returns=returns, status=Status.REFUSED, changed=changed, message=message,
                          warnings=warnings)
        if not clones:
            raise RefusedError("openQA restarted nothing (jobs %s): were they restarted or scheduled "
                               "meanwhile? check with 'test status --follow'" % _id_list(self.to_post))
        return Result(returns=returns, changed=changed, warnings=warnings,
                      message="restarted %s" % ", ".join("%d as %d" % item for item in sorted(clones.items())))

    def _ordered_new_ids(self, clones: t.Dict[int, int]) -> t.List[int]:
        ordered: t.List[int] = []
        for job_id in self.job_ids:
            if job_id in self.existing:
                ordered.append(self.existing[job_id])
                continue
            restarted = self.stands_for.get(job_id, job_id)
            for old in parent_ids(self.jobs[job_id]) + [restarted]:
                if old in clones:
                    ordered.append(clones[old])
        ordered += [new for _old, new in sorted(clones.items())]
        return list(dict.fromkeys(ordered))


def _restart_outcome_after_failed_post(client: t.Any, posted: t.List[int]) -> dict:
    """The POST may have reached openQA: read what it did instead of restarting twice."""
    jobs = list_jobs(client, posted)
    clones = {job_id: int(job["clone_id"]) for job_id, job in jobs.items() if job.get("clone_id")}
    if not clones:
        raise UnreachableError("restart of %s: the request failed in transit and openQA shows no restart; "
                               "run it again" % _id_list(posted))
    return {"result": [{str(old): new for old, new in clones.items()}]}


def _id_list(ids: t.Iterable[int]) -> str:
    return ", ".join(str(i) for i in ids)


def restart(client: t.Any, params: dict) -> Result:
    result = restart_jobs(
        client, params["id"], force=params["force"], skip_parents=params["skip_parents"],
        skip_children=params["skip_children"], skip_ok_result_children=params["skip_ok_result_children"],
        prio=params["prio"], comment=params["comment"], settings=params["vars"] or (), parent=params["parent"])
    return _then_wait(client, params, result, result.returns, lambda waited: {"ids": result.returns,
                                                                             "results": waited})


def _then_wait(client: t.Any, params: dict, result: Result, new_ids: t.Any,
               shape: t.Callable[[t.Any], t.Any]) -> Result:
    """--wait after restart/clone: wait on what was created; the wait decides the status."""
    if not params.get("wait") or result.status != Status.OK or client.check_mode or not new_ids:
        return result
    waited = wait_for_jobs(client, new_ids, timeout=params["timeout"], interval=params["interval"])
    return Result(returns=shape(waited.returns), status=waited.status, changed=result.changed,
                  message="%s; %s" % (result.message, waited.message), warnings=result.warnings)


# ---------------------------------------------------------------- status, wait


def status(client: t.Any, params: dict) -> Result:
    job = get_job(client, one_id(params, "status"))
    if params["follow"]:
        job = newest_clone(client, job)
    return Result(returns=job_status(job))


def wait(client: t.Any, params: dict) -> Result:
    return wait_for_jobs(client, params["id"], timeout=params["timeout"], interval=params["interval"],
                         follow=params["follow"] is not False)


ENTRY = Entry(
    name="test",
    help="one openQA job (a test run)",
    options=(
        Option("id", "Job id; repeat it for actions that take several jobs.", type="int", multiple=True),
        Option("follow", "Report on the newest clone when the job was restarted (status: default false; "
               "wait: default true).", type="bool"),
        Option("force", "restart: restart despite missing assets or directly chained parents, and restart "
               "the newest clone of an already restarted job.", type="bool", default=False),
        Option("parent", "restart: restart the jobs' parents too (openQA then restarts their children).",
               type="bool", default=False),
        Option("skip_parents", "restart: do not restart failed chained parents.", type="bool", default=False),
        Option("skip_children", "restart: do not restart children.", type="bool", default=False),
        Option("skip_ok_result_children", "restart: do not restart passed or softfailed children.",
               type="bool", default=False),
        Option("prio", "restart: priority of the new jobs.", type="int", minimum=-(2 ** 31)),
        Option("comment", "restart: comment posted on each restarted job."),
        Option("vars", "Settings for the new jobs, KEY=VALUE (KEY= clears it); repeat it.", type="keyvalue"),
        Option("wait", "restart: wait until the new jobs are final, as the wait action does.",
               type="bool", default=False),
        Option("timeout", "wait: give up after this long (90, 15m, 2h).", type="duration", default=3600.0),
        Option("interval", "wait: time between two polls.", type="duration", default=30.0),
    ),
    actions=(
        Action("restart", restart, "restart jobs (and, when failed or asked for, their parents); "
               "returns the new ids", mutating=True, required=("id",),
               options=("id", "force", "parent", "skip_parents", "skip_children", "skip_ok_result_children",
                        "prio", "comment", "vars", "wait", "timeout", "interval"),
               conflicts=(("parent", "skip_parents"), ("parent", "skip_children"))),
        Action("status", status, "the status word of a job: passed, failed, softfailed, running, scheduled, ...",
               options=("id", "follow"), required=("id",)),
        Action("wait", wait, "wait until every job is final; returns each job's status word",
               options=("id", "follow", "timeout", "interval"), required=("id",)),
    ),
)
