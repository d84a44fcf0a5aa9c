# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``build`` entry point: the jobs that share a BUILD value (the proposal's "build").

openQA has no build object. A build is the BUILD setting of jobs, narrowed by group, distri and
version. info, restart and wait read it with one ``GET jobs?build=..`` per 10,000 jobs and keep the
latest job of every scenario, then filter here: a server-side result filter would return jobs that
a restart has superseded.
new is ``POST isos``, made idempotent by first listing the jobs of the same product and build.
"""

from __future__ import annotations

import time
import typing as t

from ansible_collections.openqa.client.plugins.module_utils.envelope import (
    AmbiguousError,
    InvalidInputError,
    NotFoundError,
    OpenQAError,
    RefusedError,
    Result,
    ServerError,
    Status,
    UnreachableError,
    failed_after,
)
from ansible_collections.openqa.client.plugins.module_utils._job_reads import (
    MAX_CLONE_HOPS,
    OK_RESULTS,
    first_failed_module,
    group_filter,
    id_list,
    is_final,
    job_status,
    relative_ids,
    resolve_group,
    search_pages,
)
from ansible_collections.openqa.client.plugins.module_utils._api import file_pairs
from ansible_collections.openqa.client.plugins.module_utils._preflight import predict_isos, verify_write_access
from ansible_collections.openqa.client.plugins.module_utils._restart import restart_jobs, used_up_note
from ansible_collections.openqa.client.plugins.module_utils._spec import Action, Entry, Option
from ansible_collections.openqa.client.plugins.module_utils._waiting import then_wait, wait_for_jobs

if t.TYPE_CHECKING:
    from ansible_collections.openqa.client.plugins.module_utils.client import Client

FILTER_KEYS = ("name", "status", "arch", "machine", "flavor")
SCENARIO_SETTINGS = ("DISTRI", "VERSION", "FLAVOR", "ARCH", "BUILD", "TEST", "MACHINE")
# openQA's default listing limit (generic_default_limit), so no server caps a page below it.
PAGE_SIZE = 10000
BUILD_RESULTS_ROUTE = "/api/v1/job_groups/<group_id:num>/build_results"
STATUS_WORDS = frozenset({
    "scheduled", "running", "cancelled", "passed", "softfailed", "failed", "incomplete", "timeout_exceeded",
    "skipped", "obsoleted", "parallel_failed", "parallel_restarted", "user_cancelled", "user_restarted",
})
# Words a status filter may use besides the status words: the proposal's "failure" is every
# final result that is not ok (failed, incomplete, skipped, ...).
STATUS_GROUPS = ("failure", "ok")
# What identifies a scheduled build: the settings POST isos requires, and BUILD.
PRODUCT_SETTINGS = ("DISTRI", "VERSION", "FLAVOR", "ARCH")
BUILD_IDENTITY = PRODUCT_SETTINGS + ("BUILD",)
# Jobs in these results no longer stand for a scheduled build: new may schedule it again. A job a person
# cancelled (user_cancelled) still stands: their decision is left alone unless force.
DROPPED_RESULTS = frozenset({"obsoleted"})
CANCELLED_BY_A_PERSON = "user_cancelled"
# What openQA makes of the rest of a cluster when one of its jobs is cancelled.
CANCELLED_ALONG = frozenset({"skipped", "parallel_failed"})


# ---------------------------------------------------------------- build identity


def _describe(params: t.Mapping[str, t.Any]) -> str:
    narrowing = [("group", params.get("group")), ("groupid", params.get("groupid")),
                 ("distri", params.get("distri")), ("version", params.get("version"))]
    given = ["%s %s" % (name, value) for name, value in narrowing if value is not None]
    return "build %s" % params["id"] + (" (%s)" % ", ".join(given) if given else "")


def latest_jobs(client: Client, params: t.Mapping[str, t.Any],
                runs: t.Optional[t.Dict[int, int]] = None) -> t.List[dict]:
    """The latest job of every scenario of the build, in one request per PAGE_SIZE jobs (clones included).

    Folded here rather than with openQA's ``latest=1``: that folds scenarios across groups, so a build
    of the same name in another group would hide behind the newer one and escape the ambiguity check.
    ``runs``, when given, receives for each latest job how many runs its clone chain holds (itself and
    the jobs it was restarted from), read from the same listing.
    """
    query: t.Dict[str, t.Any] = {"build": params["id"]}
    query.update(resolve_group(client, params.get("group"), params.get("groupid"))[0])
    query.update((key, params[key]) for key in ("distri", "version") if params.get(key) is not None)
    listed = search_pages(client, query, page_size=PAGE_SIZE)
    newest: t.Dict[tuple, dict] = {}
    for job in listed.values():
        scenario = _scenario(job)
        if scenario not in newest or int(job["id"]) > int(newest[scenario]["id"]):
            newest[scenario] = job
    if runs is not None:
        runs.update(_chain_lengths(listed.values(), [int(job["id"]) for job in newest.values()]))
    return list(newest.values())


def _chain_lengths(jobs: t.Iterable[dict], job_ids: t.Iterable[int]) -> t.Dict[int, int]:
    """How many runs lead to each job: the job and those it was restarted from (clone_id links)."""
    restarted_from = {int(job["clone_id"]): int(job["id"]) for job in jobs if job.get("clone_id")}
    lengths = {}
    for job_id in job_ids:
        length, current = 1, job_id
        while current in restarted_from and length <= MAX_CLONE_HOPS:
            current, length = restarted_from[current], length + 1
        lengths[job_id] = length
    return lengths


def _scenario(job: t.Mapping[str, t.Any]) -> tuple:
    """openQA's scenario (what a restart keeps), within one group."""
    settings = job.get("settings") or {}
    return (job.get("group_id"),) + tuple(settings.get(key) for key in SCENARIO_SETTINGS)


def _candidates(jobs: t.Iterable[dict]) -> t.List[dict]:
    """The distinct (group, distri, version) the jobs belong to: one build each."""
    seen: t.Dict[tuple, dict] = {}
    for job in jobs:
        settings = job.get("settings") or {}
        key = (job.get("group_id") or 0, settings.get("DISTRI"), settings.get("VERSION"))
        seen.setdefault(key, {"group": job.get("group"), "groupid": key[0],
                              "distri": key[1], "version": key[2]})
    return [seen[key] for key in sorted(seen, key=lambda k: (k[0], str(k[1]), str(k[2])))]


def require_one_build(params: t.Mapping[str, t.Any], jobs: t.Sequence[dict]) -> None:
    """Every build action works on one build: a change must not spill over, nor a read mix in, builds of
    the same name in other groups or products."""
    candidates = _candidates(jobs)
    if len(candidates) > 1:
        listed = "; ".join("group %s (groupid %d) %s %s" % (c["group"] or "none", c["groupid"], c["distri"],
                                                            c["version"]) for c in candidates)
        raise AmbiguousError("ambiguous options: %s matches %d builds: %s; narrow it with --groupid "
                             "(0 for jobs without a group), --distri or --version"
                             % (_describe(params), len(candidates), listed),
                             returns={"candidates": candidates})


# ---------------------------------------------------------------- selecting jobs


def _alternatives(value: str) -> t.List[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _check_filters(filters: t.Sequence[t.Tuple[str, str]]) -> None:
    for key, value in filters:
        if key not in FILTER_KEYS:
            raise InvalidInputError("unknown filter %r: filters are KEY=VALUE with KEY one of %s"
                                    % (key, ", ".join(FILTER_KEYS)))
        if not _alternatives(value):
            raise InvalidInputError("filter %s= has no value: write it like %s=raid" % (key, key))
        if key == "status":
            unknown = sorted(set(_alternatives(value)) - STATUS_WORDS - set(STATUS_GROUPS))
            if unknown:
                raise InvalidInputError("unknown status %s in filter status=%s: use %s, or a status word: %s"
                                        % (", ".join(unknown), value, " or ".join(STATUS_GROUPS),
                                           ", ".join(sorted(STATUS_WORDS))))


def _status_matches(word: str, wanted: str) -> bool:
    if wanted == "failure":
        return word in STATUS_WORDS - OK_RESULTS - {"scheduled", "running"}
    if wanted == "ok":
        return word in OK_RESULTS
    return word == wanted


def _matches(job: dict, key: str, value: str) -> bool:
    """One filter; a value may list alternatives separated by commas (name=raid0,raid1)."""
    settings = job.get("settings") or {}
    options = _alternatives(value)
    if key == "name":
        return any(option.lower() in job["test"].lower() for option in options)
    if key == "status":
        return any(_status_matches(job_status(job), option) for option in options)
    return settings.get(key.upper()) in options


def select_jobs(jobs: t.Iterable[dict], params: t.Mapping[str, t.Any]) -> t.List[dict]:
    """The jobs that pass --name, --arch and every --filter (they combine with AND)."""
    filters = list(params.get("filter") or [])
    _check_filters(filters)
    if params.get("name"):
        filters.append(("name", params["name"]))
    if params.get("arch"):
        filters.append(("arch", params["arch"]))
    return [job for job in jobs if all(_matches(job, key, value) for key, value in filters)]


def _test_entry(job: dict, with_flavor: bool) -> dict:
    word = job_status(job)
    settings = job.get("settings") or {}
    # textmode@64bit and textmode@uefi are different scenarios: the machine tells them apart
    entry: t.Dict[str, t.Any] = {"arch": settings.get("ARCH"), "machine": settings.get("MACHINE"), "id": job["id"],
                                 "status": word}
    if with_flavor:
        entry["flavor"] = settings.get("FLAVOR")
    if _status_matches(word, "failure"):
        entry["failure"] = first_failed_module(job)
    return entry


def _entry_order(job: dict) -> tuple:
    settings = job.get("settings") or {}
    return tuple(str(settings.get(key)) for key in ("ARCH", "MACHINE", "FLAVOR")) + (int(job["id"]),)


def _by_test_name(jobs: t.Iterable[dict]) -> t.List[dict]:
    jobs = list(jobs)
    with_flavor = len({(job.get("settings") or {}).get("FLAVOR") for job in jobs}) > 1
    grouped: t.Dict[str, t.List[dict]] = {}
    for job in sorted(jobs, key=_entry_order):
        grouped.setdefault(job["test"], []).append(_test_entry(job, with_flavor))
    return [{"name": name, "tests": grouped[name]} for name in sorted(grouped)]


def _existing_build(client: Client, params: t.Mapping[str, t.Any], jobs: t.List[dict]) -> t.List[dict]:
    """The build's latest jobs (from latest_jobs), one build only: a gate must not judge another group's jobs."""
    if not jobs:
        raise NotFoundError("unknown build: no job has %s on %s" % (_describe(params), client.base_url))
    require_one_build(params, jobs)
    return jobs


# ---------------------------------------------------------------- search, info, restart, wait


def search(client: Client, params: dict) -> Result:
    """Build names of a group, newest first, in one request: ``GET job_groups/N/build_results`` where the
    server has it (openQA since 2024; its group overview takes only limit_builds 10/20/50/100/400 from API
    clients), else the group overview of openQA 4.6."""
    group_id = _resolve_group_id(client, params)
    if client.has_route(BUILD_RESULTS_ROUTE):
        path = "job_groups/%d/build_results" % group_id
    else:
        path = "/group_overview/%d" % group_id
    try:
        overview = client.get(path, {"limit_builds": params["limit"]})
    except NotFoundError:
        raise NotFoundError("unknown group: there is no job group %d on %s" % (group_id, client.base_url)) from None
    warnings = []
    if overview.get("limit_exceeded"):
        # openQA stops at job_groups_overview_max_jobs (25,000 by default) and says so only here
        warnings.append("openQA stopped reading group %d at its job limit (limit_exceeded: %s): older builds "
                        "are missing from this list; search with a smaller --limit"
                        % (group_id, overview["limit_exceeded"]))
    names = []
    for build in overview.get("build_results") or []:
        if params["version"] is not None and build.get("version") != params["version"]:
            continue
        if params["distri"] is not None and params["distri"] not in (build.get("distris") or {}):
            continue
        if params["name"] and params["name"].lower() not in str(build["build"]).lower():
            continue
        names.append(str(build["build"]))
    return Result(returns={"ids": list(dict.fromkeys(names))}, warnings=warnings)


def _resolve_group_id(client: Client, params: t.Mapping[str, t.Any]) -> int:
    if params["groupid"] is not None:
        return params["groupid"]  # an unknown id: the group's build listing answers 404, see search
    if params["group"] is None:
        raise InvalidInputError("'build search' needs --groupid or --group: builds are searched within a group")
    key, value = group_filter(params["group"])
    if key == "groupid":
        return value
    return int(_one_group(resolve_group(client, name=value)[1], value)["id"])


def _one_group(groups: t.Sequence[dict], given: t.Any) -> dict:
    """A group name shared by groups under different parents names no single group."""
    if len(groups) > 1:
        raise AmbiguousError("ambiguous options: groups %s are all named %r (under different parent groups): "
                             "give the group's id instead" % (id_list(int(g["id"]) for g in groups), given))
    return groups[0]


def info(client: Client, params: dict) -> Result:
    jobs = _existing_build(client, params, latest_jobs(client, params))
    grouped = _by_test_name(select_jobs(jobs, params))
    if params["bugs"]:
        _add_bug_references(client, grouped)
    return Result(returns=grouped)


def _add_bug_references(client: Client, grouped: t.List[dict]) -> None:
    """The proposal's ``bug``: the newest bug reference in the comments of each job that is not ok.

    openQA 4.6 has no bulk comments endpoint, so this costs one request per such job (opt-in).
    """
    for test in (test for name in grouped for test in name["tests"] if "failure" in test):
        references = [ref for comment in client.get("jobs/%d/comments" % test["id"])
                      for ref in comment.get("bugrefs") or []]
        if references:
            test["bug"] = references[-1]


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
                      "unknown build)" % _describe(params))
    jobs = _existing_build(client, params, jobs)
    selected = select_jobs(jobs, params)
    if not selected:
        return Result(returns=[], message="no job of the build matches the filters")
    retry = _RetryFailures(client, params, runs) if params["max_attempts"] is not None else None
    try:
        # the listing just read is the first poll: a build that is already final costs no second request;
        # the last poll's listing is the answer, shaped as build info's, so a gate needs no read of its own
        waited = wait_for_jobs(client, [int(job["id"]) for job in selected], timeout=params["timeout"],
                               interval=params["interval"], listed={int(job["id"]): job for job in selected},
                               retry=retry, describe=_by_test_name)
    except OpenQAError as error:
        if retry is None or not retry.clones:
            raise
        return failed_after(Result(returns=retry.answer(), changed=True, message=retry.restarted(),
                                   warnings=retry.warnings), "waiting for the restarted jobs", error)
    return retry.outcome(waited) if retry is not None else waited


# ---------------------------------------------------------------- new


def _iso_pairs(params: t.Mapping[str, t.Any]) -> t.List[t.Tuple[str, str]]:
    """The POST isos parameters in order, as openqa-cli schedule sends them: --vars, then --param-file
    (KEY=PATH, the file's content), then the group as _GROUP_ID or _GROUP. A key given several times is
    sent several times."""
    pairs = []
    for key, value in list(params["vars"] or []) + file_pairs(params["param_file"]):
        # openQA upper-cases every key but async, which switches to asynchronous scheduling.
        pairs.append((key if key == "async" else key.upper(), value))
    group_keys = {"_GROUP", "_GROUP_ID"} & {pair[0] for pair in pairs}
    if params["group"] is not None:
        if group_keys:
            raise AmbiguousError("ambiguous options: --group and --vars %s both name the group; give it once"
                                 % "/".join(sorted(group_keys)))
        key, value = group_filter(params["group"])
        pairs.append(("_GROUP_ID" if key == "groupid" else "_GROUP", str(value)))
    return pairs


def _product_name(settings: t.Mapping[str, str]) -> str:
    return "%s build %s" % ("-".join(settings.get(k, "?") for k in PRODUCT_SETTINGS), settings.get("BUILD"))


def _scheduled_jobs(client: Client, settings: t.Mapping[str, str]) -> t.Dict[int, dict]:
    """The current jobs of this product and build that still stand (not obsoleted nor replaced by a
    restart), by id; TEST and MACHINE, when given, narrow it as they narrow POST isos."""
    query: t.Dict[str, t.Any] = {key.lower(): settings[key] for key in BUILD_IDENTITY}
    # openQA stores a job's DISTRI lower-cased (JobSettings) and GET jobs compares it exactly
    query["distri"] = settings["DISTRI"].lower()
    if settings.get("_GROUP_ID"):
        query["groupid"] = int(settings["_GROUP_ID"])  # digits: checked by _resolve_group_of_new
    elif settings.get("_GROUP"):
        query["group"] = settings["_GROUP"]
    tests = set(_alternatives(settings.get("TEST", "")))
    machines = set(_alternatives(settings.get("MACHINE", "")))
    standing = {}
    # paged with explicit limits: newer openQA cuts an unlimited listing at 1000 jobs
    for job in search_pages(client, query, page_size=PAGE_SIZE).values():
        if job.get("clone_id") or job.get("result") in DROPPED_RESULTS:
            continue
        if (tests and job.get("test") not in tests) or \
                (machines and (job.get("settings") or {}).get("MACHINE") not in machines):
            continue
        standing[int(job["id"])] = job
    return standing


def new(client: Client, params: dict) -> Result:
    pairs = _iso_pairs(params)
    settings = dict(pairs)  # what identifies the build: the last value of a repeated key
    missing = [key for key in BUILD_IDENTITY if not settings.get(key)]
    if missing:
        raise InvalidInputError("missing parameters: %s: 'build new' needs DISTRI, VERSION, FLAVOR, ARCH (as "
                                "POST isos does) and BUILD (the build's identity); give them with --vars KEY=VALUE"
                                % " ".join(missing))
    group = _resolve_group_of_new(client, settings)
    standing = _scheduled_jobs(client, settings)
    existing = sorted(standing)
    if existing and not params["force"]:
        cancelled = [job_id for job_id in existing if standing[job_id].get("result") == CANCELLED_BY_A_PERSON]
        by_a_person = "; %s cancelled by a person, which is left alone" % id_list(cancelled) if cancelled else ""
        result = Result(returns={"ids": existing, "scheduled_product_id": None},
                        message="already scheduled: %d jobs of %s%s; force schedules it again"
                        % (len(existing), _product_name(settings), by_a_person))
        return _wait_for_build(client, params, result)
    if client.check_mode:
        jobs = predict_isos(client, settings, group, _product_name(settings))
        unverified = verify_write_access(client, "scheduling %s (POST isos)" % _product_name(settings))
        return Result(returns={"ids": [], "scheduled_product_id": None}, changed=True, warnings=unverified,
                      message="would schedule %s (POST isos): %d jobs, one per matching job template"
                      % (_product_name(settings), jobs))
    result = _post_isos(client, settings, pairs, existing)
    if params["wait"] and result.status == Status.OK and settings.get("async") not in (None, "", "0"):
        started = time.monotonic()
        result = _await_async_product(client, params, result)
        params = dict(params, timeout=max(0.0, params["timeout"] - (time.monotonic() - started)))
    return _wait_for_build(client, params, result)


def _resolve_group_of_new(client: Client, settings: t.Mapping[str, str]) -> t.Optional[dict]:
    """The group POST isos is given, read before posting: openQA would schedule a product (and
    for an unknown name, jobs of every group) rather than refuse an unknown group."""
    group_id, name = settings.get("_GROUP_ID", "").strip(), settings.get("_GROUP")
    if not group_id and not name:
        return None
    if group_id and not (group_id.isascii() and group_id.isdigit()):
        raise InvalidInputError("_GROUP_ID=%s is not a group id: give the id's digits, or the name as --group"
                                % group_id)
    try:
        _query, groups = resolve_group(client, groupid=int(group_id)) if group_id else resolve_group(client, name=name)
    except NotFoundError as error:
        raise NotFoundError("%s; nothing was scheduled" % error.message) from None
    return _one_group(groups, group_id or name)


def _wait_for_build(client: Client, params: t.Mapping[str, t.Any], result: Result) -> Result:
    """new --wait: the scheduled jobs' results go next to their ids."""
    return then_wait(client, params, result, (result.returns or {}).get("ids") or [],
                     lambda waited: dict(result.returns, results=waited))


def _await_async_product(client: Client, params: t.Mapping[str, t.Any], result: Result) -> Result:
    """async=1 with --wait: poll the scheduled product (GET isos/N) until openQA has created its jobs."""
    product_id = result.returns["scheduled_product_id"]
    give_up_at = time.monotonic() + params["timeout"]
    while True:
        product = client.get("isos/%d" % int(product_id))
        if product.get("status") == "scheduled":
            break
        if time.monotonic() + params["interval"] > give_up_at:
            message = ("scheduled product %s is still %r after %.0f s: openQA has not created its jobs (is its "
                       "gru service running?)" % (product_id, product.get("status"), params["timeout"]))
            return Result(returns=result.returns, status=Status.TIMEOUT, changed=True, message=message)
        client.progress("scheduled product %s is %s; waiting for openQA to create its jobs"
                        % (product_id, product.get("status")))
        time.sleep(params["interval"])
    outcome = product.get("results") or {}
    answer = {"ids": outcome.get("successful_job_ids") or [], "failed": outcome.get("failed_job_info") or [],
              "scheduled_product_id": product_id}
    if outcome.get("error"):
        answer["error"] = outcome["error"]
    return _interpret_isos_answer(product.get("settings") or {}, answer)


def _post_isos(client: Client, settings: t.Dict[str, str], pairs: t.List[t.Tuple[str, str]],
               existing: t.List[int]) -> Result:
    try:
        answer = client.post("isos", pairs)
    except NotFoundError as error:
        # openQA answers 404 when the group has no job template for the product.
        raise NotFoundError("no job templates: %s; check --group and the group's job templates for %s"
                            % (error.message, _product_name(settings))) from None
    except (UnreachableError, ServerError) as error:
        return _outcome_after_failed_post(client, settings, existing, error)
    return _interpret_isos_answer(settings, answer)


def _outcome_after_failed_post(client: Client, settings: t.Mapping[str, str], existing: t.List[int],
                               error: Exception) -> Result:
    """The POST may have reached openQA: read what it scheduled instead of posting twice."""
    try:
        created = sorted(set(_scheduled_jobs(client, settings)) - set(existing))
    except (UnreachableError, ServerError):
        raise UnreachableError("%s; POST isos may or may not have scheduled %s, and reading it back failed too: "
                               "check the server before running it again" % (error, _product_name(settings))) from None
    if not created:
        raise UnreachableError("%s; openQA shows no new job of %s, so nothing was scheduled: run it again (it "
                               "schedules only what is not scheduled yet)" % (error, _product_name(settings)))
    return Result(returns={"ids": created, "scheduled_product_id": None}, changed=True,
                  warnings=["the answer to POST isos was lost (%s); openQA shows %d new jobs of %s, so it was "
                            "scheduled once; the scheduled product id is unknown" % (error, len(created),
                                                                                     _product_name(settings))])


def _interpret_isos_answer(settings: t.Mapping[str, str], answer: t.Mapping[str, t.Any]) -> Result:
    """POST isos answers 200 for most failures: read error, failed and count."""
    ids = sorted(int(i) for i in answer.get("ids") or [])
    returns = {"ids": ids, "scheduled_product_id": answer.get("scheduled_product_id")}
    if answer.get("error"):
        raise InvalidInputError("openQA scheduled nothing: %s; check DISTRI, VERSION, FLAVOR and ARCH against "
                                "its products" % answer["error"], returns=returns)
    failed = answer.get("failed") or []
    if failed:
        returns["failed"] = failed
        message = "openQA created %d jobs and failed %d: %s" % (len(ids), len(failed), _failure_text(failed))
        return Result(returns=returns, status=Status.REFUSED, changed=True, message=message)
    if "ids" not in answer:
        return Result(returns=returns, changed=True, message="scheduled %s asynchronously as scheduled product %s"
                      % (_product_name(settings), answer.get("scheduled_product_id")),
                      warnings=["scheduled asynchronously (async): openQA creates the jobs later; see GET isos/%s, "
                                "or add --wait" % answer.get("scheduled_product_id")])
    if not ids:
        raise RefusedError("openQA scheduled no job for %s: no job template matches (check --group, TEST "
                           "and MACHINE)" % _product_name(settings), returns=returns)
    # every mutating action says what it did, as test restart does
    return Result(returns=returns, changed=True, message="scheduled %s as jobs %s (scheduled product %s)"
                  % (_product_name(settings), id_list(ids), answer.get("scheduled_product_id")))


def _failure_text(failed: t.Sequence[t.Mapping[str, t.Any]]) -> str:
    """openQA repeats one message per job: list each message once, with its jobs."""
    jobs_by_message: t.Dict[str, t.List[str]] = {}
    for entry in failed:
        messages = entry.get("error_messages") or [entry.get("error_message")]
        who = "job %s" % entry["job_id"] if entry.get("job_id") else "test %s" % entry.get("job_name")
        for message in messages:
            jobs_by_message.setdefault(str(message).split("\n", maxsplit=1)[0], []).append(who)
    return "; ".join("%s (%s)" % (message, ", ".join(who)) for message, who in jobs_by_message.items())


IDENTITY = ("id", "group", "groupid", "distri", "version")
SELECTION = ("name", "arch", "filter")

ENTRY = Entry(
    name="build",
    help="a build: the jobs sharing a BUILD value in a group",
    options=(
        Option("id", "The BUILD value (e.g. 20261127)."),
        Option("group", "Job group name (exact, case included, as openQA matches it) or id (all digits); an "
               "unknown group is status 2. new: the group whose job templates are scheduled."),
        Option("groupid", "Job group id; 0 means jobs without a group.", type="int", minimum=0),
        Option("distri", "Narrow to this DISTRI (search, info, restart, wait)."),
        Option("version", "Narrow to this VERSION (search, info, restart, wait)."),
        Option("name", "search: text in the build name; info/restart/wait: text in the test name "
               "(case-insensitive)."),
        Option("arch", "info/restart/wait: only jobs of this ARCH."),
        Option("bugs", "info: add each not-ok job's newest bug reference from its comments (bug), as the "
               "proposal shows; one more request per not-ok job.", type="bool", default=False),
        Option("filter", "info/restart/wait: KEY=VALUE with KEY one of %s; repeat it (AND); a value may "
               "list alternatives with commas. status takes a status word, failure (any result that is not "
               "ok) or ok." % ", ".join(FILTER_KEYS), type="keyvalue"),
        Option("vars", "new: POST isos settings KEY=VALUE (DISTRI, VERSION, FLAVOR, ARCH, BUILD, ISO, ...); "
               "repeat it; a key given several times is sent several times. async=1 schedules asynchronously.",
               type="keyvalue", aliases=("var",)),
        Option("param_file", "new: KEY=PATH, send KEY with the content of the file PATH (e.g. "
               "SCENARIO_DEFINITIONS_YAML=scenarios.yaml); repeat it.", multiple=True, commas=False),
        Option("force", "new: schedule even when the build is already scheduled (jobs a person cancelled count "
               "as scheduled); restart, wait: as test restart (missing assets, directly chained parents), and "
               "restart jobs a person cancelled.", type="bool", default=False),
        Option("skip_parents", "restart: do not restart failed chained parents.", type="bool", default=False),
        Option("skip_children", "restart: do not restart children.", type="bool", default=False),
        Option("skip_ok_result_children", "restart: do not restart passed or softfailed children.",
               type="bool", default=False),
        Option("max_attempts", "restart: leave a job alone when its clone chain already holds this many runs "
               "(the job and those it was restarted from), so that a rerun of a pipeline retries each "
               "failure only so often: 2 restarts a scenario's first failure once. wait: as soon as a job is "
               "final and not ok (and its cluster final), restart it by the same rule (and the restart options) "
               "and wait for it too.",
               type="int", minimum=1),
        Option("limit", "search: how many of the group's newest builds to look through.", type="int",
               default=500),
        Option("wait", "new: wait until the jobs are final, as the wait action does (with async=1, first until "
               "openQA has created them).", type="bool",
               default=False),
        Option("timeout", "wait: give up after this long (90, 15m, 2h).", type="duration", default=3600.0),
        Option("interval", "wait: time between two polls.", type="duration", default=30.0),
    ),
    actions=(
        Action("search", search, "build names of a group matching --name, newest first",
               options=("group", "groupid", "distri", "version", "name", "limit"),
               conflicts=(("group", "groupid"),)),
        Action("info", info, "the latest job of every scenario of the build, grouped by test name",
               options=IDENTITY + SELECTION + ("bugs",), required=("id",), conflicts=(("group", "groupid"),)),
        Action("restart", restart, "restart the build's finished jobs that match the filters in one request",
               options=IDENTITY + SELECTION + ("force", "skip_parents", "skip_children",
                                               "skip_ok_result_children", "max_attempts"),
               required=("id",), mutating=True, conflicts=(("group", "groupid"),)),
        Action("new", new, "schedule a build (POST isos) unless it is already scheduled",
               options=("group", "vars", "param_file", "force", "wait", "timeout", "interval"), required=("vars",),
               mutating=True),
        Action("wait", wait, "wait until the build's latest jobs are final and answer as info does; status 7 "
               "when one is not ok",
               options=IDENTITY + SELECTION + ("timeout", "interval", "max_attempts", "force", "skip_parents",
                                               "skip_children", "skip_ok_result_children"), required=("id",),
               conflicts=(("group", "groupid"),), mutating_options=("max_attempts",)),
    ),
)
