# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to this collection: no API promise, it may change in any release.
"""Restarting jobs: one ``POST jobs/restart`` and how to read its always-200 answer (test and build restart)."""

from __future__ import annotations

import re
import typing as t

from ansible_collections.openqa.client.plugins.module_utils.envelope import (
    AmbiguousError,
    RefusedError,
    Result,
    ServerError,
    Status,
    UnreachableError,
)
from ansible_collections.openqa.client.plugins.module_utils._job_reads import get_jobs, id_list, is_final, list_jobs, newest_clone, parent_ids

# openQA leaves these alone on restart (PRISTINE_STATES): they have not run yet.
PRISTINE_STATES = frozenset({"scheduled", "assigned"})
_ALREADY_CLONED = re.compile(r"^Specified job (\d+) has already been cloned as (\d+)")
_MISSING_ASSETS = re.compile(r"^Job (\d+) misses the following mandatory assets: ([^\n]*)")


def restart_jobs(client: t.Any, job_ids: t.List[int], *, force: bool = False, skip_parents: bool = False,
                 skip_children: bool = False, skip_ok_result_children: bool = False,
                 prio: t.Optional[int] = None, comment: t.Optional[str] = None,
                 settings: t.Sequence[t.Tuple[str, str]] = (), parent: bool = False,
                 jobs: t.Optional[t.Mapping[int, dict]] = None) -> Result:
    """Restart jobs in one ``POST jobs/restart`` (repeated ``jobs=``); returns the new ids.

    ``jobs`` are the jobs as already listed by the caller (build restart), saving a read.
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
    jobs = dict(jobs) if jobs is not None else get_jobs(client, job_ids)
    plan = _RestartPlan(client, job_ids, jobs, force=force, parent=parent)
    if not plan.to_post:
        return plan.nothing_to_do()
    if client.check_mode:
        return Result(returns=plan.to_post, changed=True, warnings=plan.warnings,
                      message="would restart %s" % id_list(plan.to_post))
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
                                 % id_list(self.pristine))

    def _add(self, ids: t.Iterable[int]) -> None:
        self.to_post.extend(i for i in ids if i not in self.to_post)

    def nothing_to_do(self) -> Result:
        if self.existing:
            returns = [self.existing[i] for i in self.job_ids if i in self.existing]
            return Result(returns=returns, warnings=self.warnings,
                          message="already restarted: %s" % ", ".join(
                              "%d as %d" % (i, self.existing[i]) for i in self.job_ids if i in self.existing))
        raise RefusedError("not restarted: job %s has not run yet (state scheduled or assigned); openQA "
                           "restarts only jobs that started or finished" % id_list(self.pristine))

    def interpret(self, answer: t.Mapping[str, t.Any]) -> Result:
        clones: t.Dict[int, int] = {}
        for entry in answer.get("result") or []:
            clones.update({int(old): int(new) for old, new in entry.items()})
        # Only what this request cloned is a change: "already cloned" is also what a concurrent run's
        # restart of the same job looks like, and two runs must not both report changed.
        changed = bool(clones)
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
        if assets or refusals:
            hint = "; force overrides this" if assets or answer.get("enforceable") else ""
            message = "not restarted: %s%s" % ("; ".join(assets + refusals), hint)
            if returns:
                message += "; restarted: %s" % id_list(returns)
            return Result(returns=returns, status=Status.REFUSED, changed=changed, message=message,
                          warnings=warnings)
        if not clones:
            raise RefusedError("openQA restarted nothing (jobs %s): were they restarted or scheduled "
                               "meanwhile? check with 'test status --follow'" % id_list(self.to_post))
        return Result(returns=returns, changed=changed, warnings=warnings,
                      message="%s %s" % ("restarted" if changed else "already restarted (meanwhile):",
                                         ", ".join("%d as %d" % item for item in sorted(clones.items()))))

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
                               "run it again" % id_list(posted))
    return {"result": [{str(old): new for old, new in clones.items()}]}
