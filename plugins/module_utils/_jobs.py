# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to this collection: no API promise, it may change in any release.
"""The ``test`` entry point: one openQA job (the proposal's "test")."""

from __future__ import annotations

import calendar
import time
import typing as t

from ansible_collections.openqa.client.plugins.module_utils.envelope import (
    AmbiguousError,
    InvalidInputError,
    OpenQAError,
    Result,
    ServerError,
    UnreachableError,
    failed_after,
)
from ansible_collections.openqa.client.plugins.module_utils._clone import clone
from ansible_collections.openqa.client.plugins.module_utils._comments import comment
from ansible_collections.openqa.client.plugins.module_utils._download import WHAT, download
from ansible_collections.openqa.client.plugins.module_utils._investigate import investigate
from ansible_collections.openqa.client.plugins.module_utils._label import label
from ansible_collections.openqa.client.plugins.module_utils._job_reads import (
    MAX_LIMIT,
    PENDING_STATES,
    clone_chain,
    get_job,
    get_jobs,
    id_list,
    is_final,
    job_status,
    list_jobs,
    jobs_in,
    matches_filters,
    newest_clone,
    one_id,
    resolve_group,
    search_pages,
)
from ansible_collections.openqa.client.plugins.module_utils._preflight import verify_write_access
from ansible_collections.openqa.client.plugins.module_utils._restart import restart_jobs
from ansible_collections.openqa.client.plugins.module_utils._spec import Action, Entry, Option
from ansible_collections.openqa.client.plugins.module_utils._waiting import then_wait, wait_for_jobs

if t.TYPE_CHECKING:
    from ansible_collections.openqa.client.plugins.module_utils.client import Client

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
SEARCH_PAGE = 100  # page size when --since may stop the search early
PREVIOUS_RESULTS = 10


def restart(client: Client, params: dict) -> Result:
    result = restart_jobs(
        client, params["id"], force=params["force"], skip_parents=params["skip_parents"],
        skip_children=params["skip_children"], skip_ok_result_children=params["skip_ok_result_children"],
        prio=params["prio"], comment=params["comment"], settings=params["vars"] or (), parent=params["parent"],
        max_attempts=params["max_attempts"])
    return then_wait(client, params, result, result.returns["ids"],
                     lambda waited: dict(result.returns, results=waited))


# ---------------------------------------------------------------- stop


def stop(client: Client, params: dict) -> Result:
    """Cancel jobs by id, or every pending job matching conditions; returns the ids cancelled."""
    conditions = _conditions(params, STOP_CONDITIONS)
    if params["id"] and conditions:
        raise AmbiguousError("ambiguous options: give --id or conditions (%s), not both"
                             % ", ".join("--" + name for name in conditions))
    if params["id"]:
        jobs = get_jobs(client, params["id"])
        to_cancel = [job_id for job_id in dict.fromkeys(params["id"]) if not is_final(jobs[job_id])]
    elif conditions:
        pending = search_pages(client, dict(_server_filters(client, conditions), state=sorted(PENDING_STATES)),
                               limit=MAX_LIMIT)
        to_cancel = sorted(pending)
    else:
        raise InvalidInputError("'test stop' needs --id or at least one condition (%s): it never cancels "
                                "every job" % ", ".join("--" + name for name in STOP_CONDITIONS))
    if not to_cancel:
        return Result(returns=[], message="nothing to cancel: no pending job %s"
                      % ("among " + id_list(params["id"]) if params["id"] else "matches"))
    if client.check_mode:
        unverified = verify_write_access(client, "cancelling %s" % id_list(to_cancel))
        return Result(returns=to_cancel, changed=True, warnings=unverified,
                      message="would cancel %s" % id_list(to_cancel))
    if conditions and not params["reason"] and "group" not in conditions:
        return _cancel_by_conditions(client, conditions, to_cancel)
    cancelled: t.List[int] = []
    for job_id in to_cancel:
        try:
            _cancel_one(client, job_id, params["reason"])
        except OpenQAError as error:
            if not cancelled:
                raise
            done = Result(returns=cancelled, changed=True, message="cancelled %s" % id_list(cancelled))
            return failed_after(done, "cancelling job %d" % job_id, error)
        cancelled.append(job_id)
    return Result(returns=cancelled, changed=True, message="cancelled %s" % id_list(cancelled))


def _cancel_one(client: Client, job_id: int, reason: t.Optional[str]) -> None:
    try:
        client.post("jobs/%d/cancel" % job_id, {"reason": reason})
    except (UnreachableError, ServerError):
        # The POST may have reached openQA: a job that is final now was cancelled by it.
        if not is_final(get_job(client, job_id)):
            raise


def _cancel_by_conditions(client: Client, conditions: t.Mapping[str, t.Any], to_cancel: t.List[int]) -> Result:
    """One request; openQA's cancel-by-settings wants the job settings' UPPER-CASE names."""
    warnings = []
    try:
        count = client.post("jobs/cancel", {name.upper(): value for name, value in conditions.items()})["result"]
    except (UnreachableError, ServerError) as error:
        # The POST may have reached openQA: the listed jobs it cancelled are cancelled now.
        try:
            jobs = list_jobs(client, to_cancel)
        except (UnreachableError, ServerError):
            raise type(error)("%s; POST jobs/cancel may or may not have cancelled %s, and reading them back "
                              "failed too: check the server before running it again"
                              % (error, id_list(to_cancel))) from None
        cancelled = [job_id for job_id in to_cancel if (jobs.get(job_id) or {}).get("state") == "cancelled"]
        if not cancelled:
            raise type(error)("%s; openQA shows none of %s cancelled, so nothing was: run it again"
                              % (error, id_list(to_cancel))) from None
        warnings.append("the answer to POST jobs/cancel was lost (%s); openQA shows %s cancelled"
                        % (error, id_list(cancelled)))
        return Result(returns=cancelled, changed=True, warnings=warnings,
                      message="cancelled %s" % id_list(cancelled))
    if count != len(to_cancel):
        warnings.append("openQA cancelled %s jobs, %d were pending when listed: jobs changed meanwhile"
                        % (count, len(to_cancel)))
    return Result(returns=to_cancel, changed=True, warnings=warnings, message="cancelled %s" % id_list(to_cancel))


def _conditions(params: t.Mapping[str, t.Any], names: t.Iterable[str]) -> t.Dict[str, t.Any]:
    return {name: params[name] for name in names if params.get(name) not in (None, [], "")}


def _server_filters(client: Client, conditions: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    """Our condition names -> GET jobs query keys; a numeric group is a group id, an unknown group status 2."""
    filters = dict(conditions)
    filters.update(resolve_group(client, filters.pop("group", None))[0])
    return filters


# ---------------------------------------------------------------- search


def search(client: Client, params: dict) -> Result:
    """Ids of matching jobs, newest first, among the newest ``limit`` jobs plus the pending ones."""
    filters = _server_filters(client, _conditions(params, SEARCH_FILTERS))
    since, comments = params["since"], params["comments"]
    cutoff = time.time() - since if since is not None else None
    older = (lambda job: _finished_before(job, cutoff)) if cutoff is not None else None
    jobs = search_pages(client, filters, limit=params["limit"], page_size=SEARCH_PAGE if since else 0,
                        older=older)
    window_full = len(jobs) >= params["limit"]
    if window_full and not params["state"] and not params["result"]:
        # the proposal's "plus the current ones": pending jobs older than the window
        jobs.update(search_pages(client, dict(filters, state=sorted(PENDING_STATES)), limit=MAX_LIMIT,
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


def _has_comment(client: Client, job_id: int, text: str) -> bool:
    comments = client.get("jobs/%d/comments" % job_id)
    return any(text.lower() in str(comment.get("text", "")).lower() for comment in comments)


# ---------------------------------------------------------------- info


def info(client: Client, params: dict) -> Result:
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
        values[name] = lambda name=name: settings.get(name.upper())  # type: ignore[misc]
    returns = {name: values[name]() if name in values else job.get(name) for name in wanted}
    return Result(returns=returns)


def _previous_results(client: Client, job: dict) -> t.List[dict]:
    """Earlier jobs of the same scenario, newest first (one request)."""
    settings = job.get("settings") or {}
    scenario = {key.lower(): settings[key] for key in ("DISTRI", "VERSION", "FLAVOR", "ARCH", "TEST", "MACHINE")
                if settings.get(key)}
    query = dict(scenario, before=int(job["id"]), limit=PREVIOUS_RESULTS)
    earlier = [other for other in jobs_in(client.get("jobs", query))
               if matches_filters(other, scenario) and int(other["id"]) < int(job["id"])]
    earlier.sort(key=lambda other: int(other["id"]), reverse=True)
    return [{"id": int(other["id"]), "status": job_status(other), "build": (other.get("settings") or {}).get("BUILD"),
             "t_finished": other.get("t_finished")} for other in earlier]


# ---------------------------------------------------------------- status, wait


def status(client: Client, params: dict) -> Result:
    job = get_job(client, one_id(params, "status"), follow=bool(params["follow"]))
    if params["follow"]:
        job = newest_clone(client, job)
    return Result(returns=job_status(job))


def wait(client: Client, params: dict) -> Result:
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
        Option("max_attempts", "restart: leave a job alone when its clone chain already holds this many runs "
               "(the job and those it was restarted from): 2 retries a failure once.", type="int"),
        Option("vars", "Settings of the new jobs, KEY=VALUE (KEY= deletes it, clone: KEY+=VALUE appends); "
               "repeat it.", type="keyvalue"),
        Option("to", "clone: destination openQA host (default: the source host). Assets are not copied."),
        Option("to_api_key", "clone: API key for --to. Default: its client.conf section, then OPENQA_API_KEY.",
               no_log=True),
        Option("to_api_secret", "clone: API secret for --to. Default: as --to-api-key.", no_log=True),
        Option("skip_deps", "clone: clone only the job, none of its parents or children.", type="bool",
               default=False),
        Option("clone_children", "clone: also clone chained children, not only parallel ones.", type="bool",
               default=False),
        Option("skip_chained_deps", "clone: clone no chained parents or children, only parallel ones.",
               type="bool", default=False),
        Option("max_depth", "clone: how many levels of children to clone (0: all).", type="int", minimum=0,
               default=1),
        Option("parental_inheritance", "clone: vars apply to the parents too.", type="bool", default=False),
        Option("repeat", "clone: make N clones, TEST suffixed -1 .. -N as openqa-clone-job --repeat.", type="int",
               default=1),
        Option("ignore_missing_assets", "clone: clone even when assets are missing on the target (otherwise "
               "status 9).", type="bool", default=False),
        Option("reason", "stop: reason recorded on the cancelled jobs."),
        Option("build", "Condition: job setting BUILD."),
        Option("distri", "Condition: job setting DISTRI."),
        Option("version", "Condition: job setting VERSION."),
        Option("flavor", "Condition: job setting FLAVOR."),
        Option("arch", "Condition: job setting ARCH."),
        Option("test", "Condition: job setting TEST."),
        Option("machine", "Condition: job setting MACHINE."),
        Option("group", "Condition: job group name (exact, case included, as openQA matches it), or its id; "
               "an unknown group is status 2."),
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
        Option("dest", "download: directory for the job's files (created; files already complete are kept)."),
        Option("what", "download: which files; repeat for several. Default: logs and results.", multiple=True,
               choices=WHAT),
        Option("asset_size_limit", "download: skip assets larger than this (200M, 1G). Default: 200M."),
        Option("text", "comment: the comment's text, e.g. 'bsc#1234: known issue'."),
        Option("remove", "comment: delete the comments with exactly this text instead of adding it.", type="bool",
               default=False),
        Option("rules", "label: the rules, a YAML or JSON file (module: also a list), each {pattern, module, label, "
               "retry, force_result}; the first whose pattern (a regular expression) is found in the job's reason "
               "and autoinst-log.txt, and whose module matches its first failed module, labels it.", type="raw"),
        Option("allow_force_result", "label: allow rules with force_result (openQA's label:force_result comment "
               "changes the job's result); refused otherwise.", type="bool", default=False),
        Option("log_size_limit", "label: match against autoinst-log.txt only when it is at most this large (200M, "
               "1G), as test download's asset_size_limit. Default: 200M."),
        Option("prio_add", "investigate: the investigation jobs get the origin's priority plus this.", type="int",
               minimum=-(2 ** 31), default=100),
        Option("exclude_group", "investigate: skip jobs whose '<parent group> / <group>' matches this regular "
               "expression (openqa-investigate's exclude_group_regex)."),
        Option("include_no_group", "investigate: also investigate jobs outside any job group.", type="bool",
               default=False),
        Option("conclude", "investigate: once the investigation jobs are final, return the verdict and post it "
               "once as a comment on the origin.", type="bool", default=False),
    ),
    actions=(
        Action("restart", restart, "restart jobs (and, when failed or asked for, their parents); "
               "returns the new ids", mutating=True, required=("id",),
               options=("id", "force", "parent", "skip_parents", "skip_children", "skip_ok_result_children",
                        "prio", "comment", "vars", "wait", "timeout", "interval", "max_attempts"),
               conflicts=(("parent", "skip_parents"), ("parent", "skip_children"))),
        Action("stop", stop, "cancel jobs by id, or every pending job matching conditions; returns their ids",
               mutating=True, aliases=("cancel",), options=("id", "reason") + STOP_CONDITIONS),
        Action("clone", clone, "clone a job and its cluster like openqa-clone-job, optionally to another host",
               mutating=True, required=("id",),
               options=("id", "to", "to_api_key", "to_api_secret", "vars", "skip_deps", "clone_children", "force",
                        "wait", "timeout", "interval", "skip_chained_deps", "max_depth", "parental_inheritance",
                        "repeat", "ignore_missing_assets"),
               conflicts=(("skip_deps", "clone_children"),)),
        Action("status", status, "the status word of a job: passed, failed, softfailed, running, scheduled, ...",
               options=("id", "follow"), required=("id",)),
        Action("search", search, "ids of the jobs matching conditions, newest first",
               options=SEARCH_FILTERS + ("comments", "since", "limit")),
        Action("info", info, "details, settings, comments, previous results, dependencies and restarts of a job",
               options=("id", "attributes"), required=("id",)),
        Action("wait", wait, "wait until every job is final; returns each job's status word",
               options=("id", "follow", "timeout", "interval"), required=("id",)),
        Action("download", download, "the job's logs, results and assets into a directory, resumably; returns "
               "the files", mutating=True, options=("id", "dest", "what", "asset_size_limit"),
               required=("id", "dest")),
        Action("comment", comment, "add a comment to each job that lacks it (or --remove it); returns the jobs "
               "changed", mutating=True, options=("id", "text", "remove"), required=("id", "text")),
        Action("label", label, "label failed jobs by the first rule matching their reason and autoinst-log.txt "
               "(auto-review); returns each job's outcome", mutating=True,
               options=("id", "rules", "allow_force_result", "log_size_limit"), required=("id", "rules")),
        Action("investigate", investigate, "clone failed jobs to tell a flaky test from a product or test "
               "regression (openqa-investigate); returns each job's investigation", mutating=True,
               options=("id", "prio_add", "exclude_group", "include_no_group", "conclude"), required=("id",)),
    ),
)
