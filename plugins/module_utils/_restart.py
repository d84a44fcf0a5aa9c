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
    OpenQAError,
    InvalidInputError,
    RefusedError,
    Result,
    ServerError,
    Status,
    UnreachableError,
    failed_after,
)
from ansible_collections.openqa.client.plugins.module_utils._preflight import verify_write_access
from ansible_collections.openqa.client.plugins.module_utils._job_reads import (
    get_jobs,
    id_list,
    is_final,
    list_jobs,
    newest_clone,
    parent_ids,
    relative_ids,
)

if t.TYPE_CHECKING:
    from ansible_collections.openqa.client.plugins.module_utils.client import Client

# openQA leaves these alone on restart (PRISTINE_STATES): they have not run yet.
PRISTINE_STATES = frozenset({"scheduled", "assigned"})
_ALREADY_CLONED = re.compile(r"^Specified job (\d+) has already been cloned as (\d+)")
# Said of a job asked for together with a relative whose cluster includes it: openQA 4.6 clones the
# cluster once, then reports the job it reaches again as already cloned, by the clone it just made.
_HAS_CLONE = re.compile(r"^Job (\d+) already has clone (\d+)")
_MISSING_ASSETS = re.compile(r"^Job (\d+) misses the following mandatory assets: ([^\n]*)")


def restart_jobs(client: Client, job_ids: t.List[int], *, force: bool = False, skip_parents: bool = False,
                 skip_children: bool = False, skip_ok_result_children: bool = False,
                 prio: t.Optional[int] = None, comment: t.Optional[str] = None,
                 settings: t.Sequence[t.Tuple[str, str]] = (), parent: bool = False,
                 jobs: t.Optional[t.Mapping[int, dict]] = None, max_attempts: t.Optional[int] = None) -> Result:
    """Restart jobs in one ``POST jobs/restart`` (repeated ``jobs=``); returns ``{"ids", "clones"}``.

    ``jobs`` are the jobs as already listed by the caller (build restart), saving a read.
    ``returns["ids"]`` lists, for each job asked for, the new ids of its restarted parents and then its
    own, then the other jobs of the clusters openQA restarted with them; ``returns["clones"]`` maps
    each old id (as a string) to its new id (None in check mode). A job that was already
    restarted counts as done (its existing clone is returned, ``changed`` False) unless ``force``,
    which restarts its newest clone when that has finished. ``parent`` restarts the jobs' parents
    (openQA then restarts their children, these jobs included). Unknown ids: status 2. Jobs that
    have not run yet (scheduled, assigned) are left alone: a warning, status 9 when that is all.
    Missing assets and directly chained parents: status 9 naming them, ``force`` overrides.
    ``max_attempts`` leaves alone a job whose clone chain (origin_id links) already holds that many runs.
    Check mode posts nothing: no new ids, and the ids that would be restarted map to None.
    A failed comment after the restart keeps ``changed`` and the new ids (envelope.failed_after).
    """
    if parent and (skip_parents or skip_children):
        raise AmbiguousError("ambiguous options: parent restarts the parents and their children; it "
                             "contradicts skip_parents and skip_children")
    job_ids = list(dict.fromkeys(job_ids))
    jobs = dict(jobs) if jobs is not None else get_jobs(client, job_ids)
    plan = _RestartPlan(client, job_ids, jobs, force=force, parent=parent)
    if max_attempts is not None:
        plan.drop_used_up(client, max_attempts)
    if not plan.to_post:
        return plan.shaped(plan.nothing_to_do(client))
    if client.check_mode:
        unverified = verify_write_access(client, "restarting %s" % id_list(plan.to_post))
        return plan.shaped(Result(returns=[], changed=True, warnings=plan.warnings + unverified,
                                  message="would restart %s" % id_list(plan.to_post)))
    params: t.List[t.Tuple[str, t.Any]] = [("jobs", job_id) for job_id in plan.to_post]
    flags = (("force", force), ("skip_parents", skip_parents), ("skip_children", skip_children),
             ("skip_ok_result_children", skip_ok_result_children))
    params += [(name, 1) for name, value in flags if value]
    params += [("prio", prio)] if prio is not None else []
    params += [("set", "%s=%s" % pair) for pair in settings]
    comment_in_restart = bool(comment and comment.strip()) and _restart_takes_comment(client)
    params += [("comment", comment)] if comment_in_restart else []
    try:
        answer = client.post("jobs/restart", params)
    except (UnreachableError, ServerError):
        # where the server restarted, it commented in the same request
        answer = _restart_outcome_after_failed_post(client, plan.to_post)
    result = plan.shaped(plan.interpret(answer))
    if comment and result.changed and not comment_in_restart:
        for job_id in plan.to_post:
            try:
                client.post("jobs/%d/comments" % job_id, {"text": comment})
            except OpenQAError as error:
                return failed_after(result, "posting the comment on job %d" % job_id, error)
    if plan.used_up:
        result.message += "; " + plan.used_up_note()
    return result


def _restart_takes_comment(client: Client) -> bool:
    """Whether ``POST jobs/restart`` takes ``comment=`` (newer than 4.6; it comments every restarted job of
    the clusters in that request). Probed once per process: there a blank comment is invalid (HTTP 400),
    while 4.6 ignores the parameter and, given no job, answers "No job IDs specified"; neither restarts."""
    def probe(probing: t.Any) -> bool:
        try:
            probing.post("jobs/restart", {"comment": " "})
        except InvalidInputError:
            return True
        return False
    return bool(client.supports("restart comment", probe))


class _RestartPlan:
    """What to post for a restart, and how to read openQA's always-200 answer."""

    def __init__(self, client: Client, job_ids: t.List[int], jobs: t.Dict[int, dict], *, force: bool,
                 parent: bool) -> None:
        self.job_ids = job_ids
        self.jobs = jobs
        self.warnings: t.List[str] = []
        self.existing: t.Dict[int, int] = {}  # job asked for -> its clone that already stands for it
        self.pristine: t.List[int] = []
        self.to_post: t.List[int] = []
        self.stands_for: t.Dict[int, int] = {}  # job asked for -> the job actually restarted for it
        self.clones: t.Dict[int, int] = {}  # old -> new, as openQA answered
        self.restarting: t.Dict[int, dict] = {}  # the same, as read
        self.used_up: t.List[int] = []  # jobs asked for whose chain reached max_attempts
        self.max_attempts: t.Optional[int] = None
        for job_id in job_ids:
            job = jobs[job_id]
            if job.get("clone_id"):
                # Already restarted: that clone stands for the job; force restarts the newest one if it finished.
                newest: dict = newest_clone(client, job) if force else {"id": int(job["clone_id"]), "state": None}
                if not force or not is_final(newest):
                    self.existing[job_id] = int(newest["id"])
                    continue
                job = newest
            self.stands_for[job_id] = int(job["id"])
            self.restarting[job_id] = job
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

    def drop_used_up(self, client: Client, max_attempts: int) -> None:
        """Leave out the jobs whose clone chain already holds max_attempts runs: at most max_attempts - 1
        listings, one per step back along origin_id, for all jobs at once."""
        self.max_attempts = max_attempts
        walking = {i: job for i, job in self.restarting.items() if int(job["id"]) in self.to_post}
        runs = dict.fromkeys(walking, 1)
        while walking:
            origins = {i: int(job["origin_id"]) for i, job in walking.items()
                       if job.get("origin_id") and runs[i] < max_attempts}
            found = list_jobs(client, origins.values()) if origins else {}
            for job_id in origins:
                runs[job_id] += 1
            walking = {i: found[origin] for i, origin in origins.items() if origin in found}
        self.used_up = [i for i in self.job_ids if runs.get(i, 0) >= max_attempts]
        self.to_post = [i for i in self.to_post if i not in {self.stands_for[u] for u in self.used_up}]

    def used_up_note(self) -> str:
        return used_up_note(self.max_attempts or 0, self.used_up)

    def nothing_to_do(self, client: Client) -> Result:
        if self.existing or self.used_up:
            self._restarted_relatives(client)
            returns = self._ordered_new_ids(self.clones)
            done = ", ".join("%d as %d" % (i, self.existing[i]) for i in self.job_ids if i in self.existing)
            parts = (["already restarted: %s" % done] if done else []) + ([self.used_up_note()] if self.used_up else [])
            return Result(returns=returns, warnings=self.warnings, message="; ".join(parts))
        raise RefusedError("not restarted: job %s has not run yet (state scheduled or assigned); openQA "
                           "restarts only jobs that started or finished" % id_list(self.pristine))

    def _restarted_relatives(self, client: Client) -> None:
        """A rerun names what the first run did: the clones of the relatives openQA restarted together
        with the jobs (their cluster), found level by level (one listing each) through restarted jobs."""
        seen = set(self.job_ids)
        frontier = {r for i in self.existing for r in relative_ids(self.jobs[i])} - seen
        while frontier:
            seen |= frontier
            restarted = {i: job for i, job in list_jobs(client, frontier).items() if job.get("clone_id")}
            self.clones.update((i, int(job["clone_id"])) for i, job in restarted.items())
            frontier = {r for job in restarted.values() for r in relative_ids(job)} - seen

    def interpret(self, answer: t.Mapping[str, t.Any]) -> Result:
        clones = self.clones
        for entry in answer.get("result") or []:
            clones.update({int(old): int(new) for old, new in entry.items()})
        # Only what this request cloned is a change: "already cloned" is also what a concurrent run's
        # restart of the same job looks like, and two runs must not both report changed.
        changed = bool(clones)
        refusals, assets = [], []
        for error in answer.get("errors") or []:
            cloned = _ALREADY_CLONED.match(error) or _HAS_CLONE.match(error)
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

    def shaped(self, result: Result) -> Result:
        """The one shape of every restart result: the new ids and the old -> new map of all it covers."""
        mapping: t.Dict[str, t.Optional[int]] = {}
        for job_id in self.job_ids:
            if job_id in self.existing:
                mapping[str(job_id)] = self.existing[job_id]
            elif job_id in self.stands_for and job_id not in self.pristine:
                mapping[str(job_id)] = self.clones.get(self.stands_for[job_id])
        for old in self.to_post:
            mapping.setdefault(str(old), self.clones.get(old))
        for old, new in sorted(self.clones.items()):
            mapping.setdefault(str(old), new)
        result.returns = {"ids": list(result.returns or []), "clones": mapping}
        return result

    def _ordered_new_ids(self, clones: t.Dict[int, int]) -> t.List[int]:
        """For each job asked for, its restarted parents' new ids and then its own; then the rest."""
        ordered: t.List[int] = []
        for job_id in self.job_ids:
            ordered += [clones[old] for old in parent_ids(self.jobs[job_id]) if old in clones]
            new = self.existing.get(job_id) or clones.get(self.stands_for.get(job_id, job_id))
            if new:
                ordered.append(new)
        ordered += [new for _old, new in sorted(clones.items())]
        return list(dict.fromkeys(ordered))


def used_up_note(max_attempts: int, job_ids: t.Iterable[int]) -> str:
    """What max_attempts left alone: the jobs whose scenario has run that often."""
    return "not restarted, already run %d times (max_attempts): %s" % (max_attempts, id_list(job_ids))


def _restart_outcome_after_failed_post(client: Client, posted: t.List[int]) -> dict:
    """The POST may have reached openQA: read what it did instead of restarting twice."""
    jobs = list_jobs(client, posted)
    clones = {job_id: int(job["clone_id"]) for job_id, job in jobs.items() if job.get("clone_id")}
    if not clones:
        raise UnreachableError("restart of %s: the request failed in transit and openQA shows no restart; "
                               "run it again" % id_list(posted))
    return {"result": [{str(old): new for old, new in clones.items()}]}
