# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``test`` entry point: one openQA job (the proposal's "test").

``restart_jobs`` and ``waiting.wait_for_jobs`` are plain functions so that other entries
(build restart) reuse them.
"""

from __future__ import annotations

import calendar
import re
import time
import typing as t

from ansible_collections.openqa.client.plugins.module_utils.config import normalize_host, resolve_connection
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
    then_wait,
    unknown_jobs_error,
    wait_for_jobs,
)

__all__ = ["ENTRY", "job_status", "restart_jobs", "wait_for_jobs", "OK_RESULTS", "PENDING_STATES"]

# openQA leaves these alone on restart (PRISTINE_STATES): they have not run yet.
PRISTINE_STATES = frozenset({"scheduled", "assigned"})
DEPENDENCY_TYPES = ("Chained", "Directly chained", "Parallel")
STATES = ("scheduled", "assigned", "setup", "running", "uploading", "done", "cancelled")
RESULTS = ("none", "passed", "softfailed", "failed", "incomplete", "skipped", "obsoleted", "parallel_failed",
           "parallel_restarted", "user_cancelled", "user_restarted", "timeout_exceeded")
STOP_CONDITIONS = ("build", "distri", "version", "flavor", "arch", "test", "machine", "group")
SEARCH_FILTERS = STOP_CONDITIONS + ("result", "state")
SETTING_ATTRIBUTES = ("distri", "version", "flavor", "arch", "build", "machine")
INFO_ATTRIBUTES = ("id", "name", "test", "status", "state", "result", "priority", "group", "group_id",
                   "distri", "version", "flavor", "arch", "build", "machine", "settings", "assets", "parents",
                   "children", "blocked_by_id", "clone_id", "clone_chain", "t_started", "t_finished", "comments",
                   "previous_results")
MAX_LIMIT = 10000  # openQA's misc_limits.generic_max_limit
SEARCH_PAGE = 100  # page size when --since may stop the search early
PREVIOUS_RESULTS = 10
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


def clone_chain(client: t.Any, job: dict) -> t.List[dict]:
    """The job and its restarts (clone_id), oldest first, one request per restart; 4.6 has no follow=1."""
    chain = [job]
    while chain[-1].get("clone_id") and len(chain) <= MAX_CLONE_HOPS:
        chain.append(get_job(client, int(chain[-1]["clone_id"])))
    return chain


def newest_clone(client: t.Any, job: dict) -> dict:
    return clone_chain(client, job)[-1]


def parent_ids(job: t.Mapping[str, t.Any]) -> t.List[int]:
    parents = job.get("parents") or {}
    return sorted({int(i) for kind in DEPENDENCY_TYPES for i in parents.get(kind) or []})


# ---------------------------------------------------------------- restart


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
    return then_wait(client, params, result, result.returns,
                     lambda waited: {"ids": result.returns, "results": waited})


# ---------------------------------------------------------------- stop


def stop(client: t.Any, params: dict) -> Result:
    """Cancel jobs by id, or every pending job matching conditions; returns the ids cancelled."""
    conditions = _conditions(params, STOP_CONDITIONS)
    if params["id"] and conditions:
        raise AmbiguousError("ambiguous options: give --id or conditions (%s), not both"
                             % ", ".join("--" + name for name in conditions))
    if params["id"]:
        jobs = get_jobs(client, params["id"])
        to_cancel = [job_id for job_id in dict.fromkeys(params["id"]) if not is_final(jobs[job_id])]
    elif conditions:
        pending = _search_pages(client, dict(_server_filters(conditions), state=sorted(PENDING_STATES)),
                                limit=MAX_LIMIT)
        to_cancel = sorted(pending)
    else:
        raise InvalidInputError("'test stop' needs --id or at least one condition (%s): it never cancels "
                                "every job" % ", ".join("--" + name for name in STOP_CONDITIONS))
    if not to_cancel:
        return Result(returns=[], message="nothing to cancel: no pending job %s"
                      % ("among " + _id_list(params["id"]) if params["id"] else "matches"))
    if client.check_mode:
        return Result(returns=to_cancel, changed=True, message="would cancel %s" % _id_list(to_cancel))
    warnings = []
    if conditions and not params["reason"] and "group" not in conditions:
        # One request; openQA's cancel-by-settings wants the job settings' UPPER-CASE names.
        count = client.post("jobs/cancel", {name.upper(): value for name, value in conditions.items()})["result"]
        if count != len(to_cancel):
            warnings.append("openQA cancelled %s jobs, %d were pending when listed: jobs changed meanwhile"
                            % (count, len(to_cancel)))
    else:
        for job_id in to_cancel:
            try:
                client.post("jobs/%d/cancel" % job_id, {"reason": params["reason"]})
            except (UnreachableError, ServerError):
                # The POST may have reached openQA: a job that is final now was cancelled by it.
                if not is_final(get_job(client, job_id)):
                    raise
    return Result(returns=to_cancel, changed=True, warnings=warnings, message="cancelled %s" % _id_list(to_cancel))


def _conditions(params: t.Mapping[str, t.Any], names: t.Iterable[str]) -> t.Dict[str, t.Any]:
    return {name: params[name] for name in names if params.get(name) not in (None, [], "")}


def _server_filters(conditions: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    """Our condition names -> GET jobs query keys; a numeric group is a group id."""
    filters = dict(conditions)
    group = filters.pop("group", None)
    if group is not None:
        filters["groupid" if str(group).isdigit() else "group"] = group
    return filters


def _search_pages(client: t.Any, filters: t.Mapping[str, t.Any], *, limit: int, page_size: int = 0,
                  older: t.Optional[t.Callable[[dict], bool]] = None,
                  before: t.Optional[int] = None) -> t.Dict[int, dict]:
    """The newest ``limit`` jobs matching (below ``before``), newest first in pages; stop early once
    a page is all ``older``.

    openQA takes each page in descending id order but sorts it by id as a string, so the
    next page starts below the smallest id seen (``before``), not at an offset. Pages double
    in size, so a shallow search stays cheap and a deep one takes few requests.
    """
    found: t.Dict[int, dict] = {}
    page_size = page_size or limit
    while len(found) < limit:
        want = min(page_size, limit - len(found), MAX_LIMIT)
        page = client.get("jobs", dict(filters, limit=want, before=before))["jobs"]
        for job in page:
            found[int(job["id"])] = job
        if len(page) < want or (older and all(older(job) for job in page)):
            break
        before = min(int(job["id"]) for job in page)
        page_size *= 2
        client.progress("searched %d jobs, down to id %d" % (len(found), before))
    return found


# ---------------------------------------------------------------- clone


def clone(client: t.Any, params: dict) -> Result:
    """Clone a job with its cluster like openqa-clone-job, posted in one request."""
    source_id = one_id(params, "clone")
    if params["skip_deps"] and params["clone_children"]:
        raise AmbiguousError("ambiguous options: skip_deps clones no dependencies, clone_children asks for "
                             "children; give one")
    overrides = _clone_overrides(params["vars"] or [])
    target = _destination(client, params["to"])
    cluster = _read_cluster(client, source_id, skip_deps=params["skip_deps"],
                            clone_children=params["clone_children"])
    posts = {job_id: _clone_settings(client, job, depth, overrides) for job_id, (job, depth) in cluster.items()}
    if not params["force"]:
        existing = _existing_clones(target, posts)
        if source_id in existing:
            return Result(returns={"id": existing[source_id], "ids": {str(k): v for k, v in existing.items()}},
                          message="already cloned: job %d with these settings exists as %d (force clones again)"
                          % (source_id, existing[source_id]))
    if client.check_mode:
        return Result(returns={"id": None, "settings": {str(k): v for k, v in posts.items()}}, changed=True,
                      message="would clone %s to %s" % (_id_list(sorted(posts)), target.base_url))
    form = [("%s:%d" % (key, job_id), value) for job_id, settings in sorted(posts.items())
            for key, value in sorted(settings.items())]
    warnings: t.List[str] = []
    try:
        answer = target.post("jobs", form + [("is_clone_job", 1)])
        ids = {str(k): int(v) for k, v in answer["ids"].items()}
    except (UnreachableError, ServerError) as error:
        ids, warnings = _clones_after_failed_post(target, posts, source_id, params["force"], error)
    result = Result(returns={"id": ids[str(source_id)], "ids": ids}, changed=True, warnings=warnings,
                    message="cloned %s" % ", ".join("%s as %d" % item for item in sorted(ids.items())))
    return then_wait(target, params, result, sorted(ids.values()),
                     lambda waited: dict(result.returns, results=waited))


def _clones_after_failed_post(target: t.Any, posts: t.Mapping[int, dict], source_id: int, force: bool,
                              error: Exception) -> t.Tuple[t.Dict[str, int], t.List[str]]:
    """The POST may have reached openQA: read what it made instead of cloning twice.

    Without force no identical clone existed before the POST, so one found now is its work;
    with force an older identical clone may exist and the new one cannot be told apart.
    """
    found = {} if force else _existing_clones(target, posts)
    if source_id not in found:
        raise error
    return ({str(k): v for k, v in found.items()},
            ["the answer to POST jobs was lost (%s); openQA shows the clone %d, so it was made once"
             % (error, found[source_id])])


_SETTING_KEY = re.compile(r"^[A-Z0-9_]+\+?$")
GLOBAL_SETTINGS = frozenset({"WORKER_CLASS"})
# Setting one of these replaces the other (openqa-clone-job's JOB_SETTING_OVERRIDES).
EXCLUSIVE_SETTINGS = {"_GROUP": "_GROUP_ID", "_GROUP_ID": "_GROUP"}


def _clone_overrides(pairs: t.Sequence[t.Tuple[str, str]]) -> t.List[t.Tuple[str, str]]:
    seen: t.Dict[str, str] = {}
    for key, value in pairs:
        if not _SETTING_KEY.match(key):
            raise InvalidInputError("vars %s=%s: a job setting name is upper case letters, digits and _ "
                                    "(KEY+=VALUE appends)" % (key, value))
        if key in seen and seen[key] != value:
            raise AmbiguousError("ambiguous options: vars sets %s twice (%r and %r)" % (key, seen[key], value))
        if EXCLUSIVE_SETTINGS.get(key) in seen:
            raise AmbiguousError("ambiguous options: vars sets both _GROUP and _GROUP_ID; give one")
        seen[key] = value
    return list(pairs)


def _destination(client: t.Any, to: t.Optional[str]) -> t.Any:
    """The client for --to: same settings, credentials of that host (environment, then client.conf)."""
    if not to:
        return client
    url = normalize_host(to)
    if url == client.base_url:
        return client
    connection = resolve_connection({"host": url})
    return client.for_host(url, connection.api_key, connection.api_secret)


def _read_cluster(client: t.Any, source_id: int, *, skip_deps: bool,
                  clone_children: bool) -> t.Dict[int, t.Tuple[dict, int]]:
    """The job and the relatives openqa-clone-job clones: {id: (job, depth)}.

    Parents of every type, recursively (unless skip_deps); children only parallel ones, or
    all with clone_children, one level deep. Depth 1 is the job, parents count up from it and
    children get depth 0 (so KEY=VALUE applies to the job and its children, not its parents).
    One request per level of relatives.
    """
    try:
        source = client.get("jobs/%d" % source_id, {"unredacted": 1})["job"]
    except NotFoundError:
        raise unknown_jobs_error(client, [source_id])
    cluster = {source_id: (source, 1)}
    wanted = _relatives(source, 1, skip_deps, clone_children)
    while wanted:
        wanted = {job_id: depth for job_id, depth in wanted.items() if job_id not in cluster}
        if not wanted:
            break
        answer = client.get("jobs", {"ids": sorted(wanted), "unredacted": 1})["jobs"]
        found = {int(job["id"]): job for job in answer}
        if set(wanted) - set(found):
            raise ServerError("job %d's relatives %s vanished while cloning; try again"
                              % (source_id, _id_list(sorted(set(wanted) - set(found)))))
        following: t.Dict[int, int] = {}
        for job_id, depth in wanted.items():
            cluster[job_id] = (found[job_id], depth)
            following.update(_relatives(found[job_id], depth, skip_deps, clone_children))
        wanted = following
    return cluster


def _relatives(job: dict, depth: int, skip_deps: bool, clone_children: bool) -> t.Dict[int, int]:
    if skip_deps:
        return {}
    relatives = {int(i): depth + 1 for i in parent_ids(job)}
    if depth == 1:
        kinds = DEPENDENCY_TYPES if clone_children else ("Parallel",)
        relatives.update({int(i): 0 for kind in kinds for i in (job.get("children") or {}).get(kind) or []})
    return relatives


def _clone_settings(client: t.Any, job: dict, depth: int, overrides: t.Sequence[t.Tuple[str, str]]) -> dict:
    settings = {k: v for k, v in (job.get("settings") or {}).items() if k != "NAME"}
    parents = job.get("parents") or {}
    for kind, key in (("Parallel", "_PARALLEL"), ("Chained", "_START_AFTER"),
                      ("Directly chained", "_START_DIRECTLY_AFTER")):
        if parents.get(kind):
            settings[key] = ",".join(str(i) for i in parents[kind])
    settings["CLONED_FROM"] = "%s/tests/%d" % (client.base_url, int(job["id"]))
    if job.get("group_id"):
        settings["_GROUP_ID"] = str(job["group_id"])
    for key, value in overrides:
        if depth > 1 and key not in GLOBAL_SETTINGS:
            continue
        if value == "":
            settings.pop(key.rstrip("+"), None)
            continue
        if key.endswith("+"):
            key = key[:-1]
            value = settings.get(key, "") + value
        settings[key] = value
        settings.pop(EXCLUSIVE_SETTINGS.get(key, ""), None)
    return settings


def _existing_clones(target: t.Any, posts: t.Mapping[int, dict]) -> t.Dict[int, int]:
    """Jobs on the target that are clones of these with the same settings: {original: clone}."""
    wanted = {job_id: _stored_form(settings) for job_id, settings in posts.items()}
    main = next(iter(posts.values()))
    filters = {key.lower(): main[key] for key in ("DISTRI", "VERSION", "BUILD") if main.get(key)}
    found: t.Dict[int, int] = {}
    for job in target.get("jobs", dict(filters, limit=SEARCH_PAGE))["jobs"]:
        stored = {k: v for k, v in (job.get("settings") or {}).items() if k != "NAME"}
        for job_id, settings in wanted.items():
            if stored == settings and job_id not in found:
                found[job_id] = int(job["id"])
    return found


def _stored_form(settings: t.Mapping[str, str]) -> dict:
    """Settings as openQA stores them: the _ keys steer creation and are not kept."""
    return {k: str(v) for k, v in settings.items() if not k.startswith("_")}


# ---------------------------------------------------------------- search


def search(client: t.Any, params: dict) -> Result:
    """Ids of matching jobs, newest first, among the newest ``limit`` jobs plus the pending ones."""
    filters = _server_filters(_conditions(params, SEARCH_FILTERS))
    since, comments = params["since"], params["comments"]
    cutoff = time.time() - since if since is not None else None
    older = (lambda job: _finished_before(job, cutoff)) if cutoff is not None else None
    jobs = _search_pages(client, filters, limit=params["limit"], page_size=SEARCH_PAGE if since else 0,
                         older=older)
    window_full = len(jobs) >= params["limit"]
    if window_full and not params["state"] and not params["result"]:
        # the proposal's "plus the current ones": pending jobs older than the window
        jobs.update(_search_pages(client, dict(filters, state=sorted(PENDING_STATES)), limit=MAX_LIMIT,
                                  before=min(jobs)))
    matches = [job for job in jobs.values() if cutoff is None or not _finished_before(job, cutoff)]
    if comments:
        matches = [job for job in matches if _has_comment(client, int(job["id"]), comments)]
    return Result(returns=sorted((int(job["id"]) for job in matches), reverse=True))


def _finished_before(job: t.Mapping[str, t.Any], cutoff: float) -> bool:
    """True when the job finished before the cutoff; pending jobs have not finished, so never."""
    if not is_final(job):
        return False
    finished = _timestamp(job.get("t_finished"))
    return finished is None or finished < cutoff


def _timestamp(text: t.Optional[str]) -> t.Optional[float]:
    """openQA's ``2026-11-27T20:59:24`` (UTC, no zone) -> epoch seconds."""
    if not text:
        return None
    try:
        return float(calendar.timegm(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")))
    except ValueError:
        return None


def _has_comment(client: t.Any, job_id: int, text: str) -> bool:
    comments = client.get("jobs/%d/comments" % job_id)
    return any(text.lower() in str(comment.get("text", "")).lower() for comment in comments)


# ---------------------------------------------------------------- info


def info(client: t.Any, params: dict) -> Result:
    job_id = one_id(params, "info")
    wanted = list(dict.fromkeys(params["attributes"] or INFO_ATTRIBUTES))
    unknown = [name for name in wanted if name not in INFO_ATTRIBUTES]
    if unknown:
        raise InvalidInputError("unknown attribute %s: valid ones are %s"
                                % (", ".join(unknown), ", ".join(INFO_ATTRIBUTES)))
    job = get_job(client, job_id)
    settings = job.get("settings") or {}
    values: t.Dict[str, t.Callable[[], t.Any]] = {
        "status": lambda: job_status(job),
        "group": lambda: job.get("group"),
        "assets": lambda: job.get("assets") or {},
        "comments": lambda: [c.get("text") for c in client.get("jobs/%d/comments" % job_id)],
        "previous_results": lambda: _previous_results(client, job),
        "clone_chain": lambda: [int(link["id"]) for link in clone_chain(client, job)],
    }
    for name in SETTING_ATTRIBUTES:
        values[name] = lambda name=name: settings.get(name.upper())
    returns = {name: values[name]() if name in values else job.get(name) for name in wanted}
    return Result(returns=returns)


def _previous_results(client: t.Any, job: dict) -> t.List[dict]:
    """Earlier jobs of the same scenario, newest first (one request)."""
    settings = job.get("settings") or {}
    scenario = {key.lower(): settings[key] for key in ("DISTRI", "VERSION", "FLAVOR", "ARCH", "TEST", "MACHINE")
                if settings.get(key)}
    earlier = client.get("jobs", dict(scenario, before=int(job["id"]), limit=PREVIOUS_RESULTS))["jobs"]
    earlier.sort(key=lambda other: int(other["id"]), reverse=True)
    return [{"id": int(other["id"]), "status": job_status(other), "build": (other.get("settings") or {}).get("BUILD"),
             "t_finished": other.get("t_finished")} for other in earlier]


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
        Option("force", "restart: restart despite missing assets or directly chained parents, and restart the "
               "newest clone of an already restarted job. clone: clone even when an identical clone exists.",
               type="bool", default=False),
        Option("parent", "restart: restart the jobs' parents too (openQA then restarts their children).",
               type="bool", default=False),
        Option("skip_parents", "restart: do not restart failed chained parents.", type="bool", default=False),
        Option("skip_children", "restart: do not restart children.", type="bool", default=False),
        Option("skip_ok_result_children", "restart: do not restart passed or softfailed children.",
               type="bool", default=False),
        Option("prio", "restart: priority of the new jobs.", type="int", minimum=-(2 ** 31)),
        Option("comment", "restart: comment posted on each restarted job."),
        Option("vars", "Settings of the new jobs, KEY=VALUE (KEY= deletes it, clone: KEY+=VALUE appends); "
               "repeat it.", type="keyvalue"),
        Option("to", "clone: destination openQA host (default: the source host). Assets are not copied."),
        Option("skip_deps", "clone: clone only the job, none of its parents or children.", type="bool",
               default=False),
        Option("clone_children", "clone: also clone chained children, not only parallel ones.", type="bool",
               default=False),
        Option("reason", "stop: reason recorded on the cancelled jobs."),
        Option("build", "Condition: job setting BUILD."),
        Option("distri", "Condition: job setting DISTRI."),
        Option("version", "Condition: job setting VERSION."),
        Option("flavor", "Condition: job setting FLAVOR."),
        Option("arch", "Condition: job setting ARCH."),
        Option("test", "Condition: job setting TEST."),
        Option("machine", "Condition: job setting MACHINE."),
        Option("group", "Condition: job group name, or its id."),
        Option("state", "search: openQA job state; repeat for several.", multiple=True, choices=STATES),
        Option("result", "search: openQA job result; repeat for several.", multiple=True, choices=RESULTS),
        Option("comments", "search: text that a comment of the job contains (case-insensitive)."),
        Option("since", "search: only jobs finished within this time (12h, 1d, 2w) or still pending.",
               type="duration"),
        Option("limit", "search: how many of the newest matching jobs to search.", type="int", default=500),
        Option("attributes", "info: the attributes to return; repeat it. Default: all.", multiple=True),
        Option("wait", "restart, clone: wait until the new jobs are final, as the wait action does.",
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
        Action("stop", stop, "cancel jobs by id, or every pending job matching conditions; returns their ids",
               mutating=True, aliases=("cancel",), options=("id", "reason") + STOP_CONDITIONS),
        Action("clone", clone, "clone a job and its cluster like openqa-clone-job, optionally to another host",
               mutating=True, required=("id",),
               options=("id", "to", "vars", "skip_deps", "clone_children", "force", "wait", "timeout",
                        "interval"),
               conflicts=(("skip_deps", "clone_children"),)),
        Action("status", status, "the status word of a job: passed, failed, softfailed, running, scheduled, ...",
               options=("id", "follow"), required=("id",)),
        Action("search", search, "ids of the jobs matching conditions, newest first",
               options=SEARCH_FILTERS + ("comments", "since", "limit")),
        Action("info", info, "details, settings, comments, previous results, dependencies and restarts of a job",
               options=("id", "attributes"), required=("id",)),
        Action("wait", wait, "wait until every job is final; returns each job's status word",
               options=("id", "follow", "timeout", "interval"), required=("id",)),
    ),
)
