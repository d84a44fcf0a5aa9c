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
from ansible_collections.openqa.client.plugins.module_utils._job_reads import (
    OK_RESULTS,
    group_filter,
    is_final,
    job_status,
    jobs_in,
    matches_filters,
    search_pages,
)
from ansible_collections.openqa.client.plugins.module_utils._restart import restart_jobs
from ansible_collections.openqa.client.plugins.module_utils._spec import Action, Entry, Option
from ansible_collections.openqa.client.plugins.module_utils._waiting import then_wait, wait_for_jobs

FILTER_KEYS = ("name", "status", "arch", "machine", "flavor")
SCENARIO_SETTINGS = ("DISTRI", "VERSION", "FLAVOR", "ARCH", "BUILD", "TEST", "MACHINE")
# openQA's default listing limit (generic_default_limit), so no server caps a page below it.
PAGE_SIZE = 10000
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
# Jobs in these results no longer stand for a scheduled build: new may schedule it again.
DROPPED_RESULTS = frozenset({"obsoleted", "user_cancelled"})


# ---------------------------------------------------------------- build identity


def _group_param(group: t.Optional[str], groupid: t.Optional[int]) -> t.Dict[str, t.Any]:
    """--group takes a name or an id (all digits); openQA's job listing filters by either."""
    if groupid is not None:
        return {"groupid": groupid}
    if group is None:
        return {}
    return dict([group_filter(group)])


def _describe(params: t.Mapping[str, t.Any]) -> str:
    narrowing = [("group", params.get("group")), ("groupid", params.get("groupid")),
                 ("distri", params.get("distri")), ("version", params.get("version"))]
    given = ["%s %s" % (name, value) for name, value in narrowing if value is not None]
    return "build %s" % params["id"] + (" (%s)" % ", ".join(given) if given else "")


def latest_jobs(client: t.Any, params: t.Mapping[str, t.Any]) -> t.List[dict]:
    """The latest job of every scenario of the build, in one request per PAGE_SIZE jobs (clones included).

    Folded here rather than with openQA's ``latest=1``: that folds scenarios across groups, so a build
    of the same name in another group would hide behind the newer one and escape the ambiguity check.
    """
    query: t.Dict[str, t.Any] = {"build": params["id"]}
    query.update(_group_param(params.get("group"), params.get("groupid")))
    query.update((key, params[key]) for key in ("distri", "version") if params.get(key) is not None)
    newest: t.Dict[tuple, dict] = {}
    for job in search_pages(client, query, page_size=PAGE_SIZE).values():
        scenario = _scenario(job)
        if scenario not in newest or int(job["id"]) > int(newest[scenario]["id"]):
            newest[scenario] = job
    return list(newest.values())


def _scenario(job: t.Mapping[str, t.Any]) -> tuple:
    """openQA's scenario (what a restart keeps), within one group."""
    settings = job.get("settings") or {}
    return (job.get("group_id"),) + tuple(settings.get(key) for key in SCENARIO_SETTINGS)


def _candidates(jobs: t.Iterable[dict]) -> t.List[dict]:
    """The distinct (group, distri, version) the jobs belong to: one build each."""
    seen = {}
    for job in jobs:
        settings = job.get("settings") or {}
        key = (job.get("group_id") or 0, settings.get("DISTRI"), settings.get("VERSION"))
        seen.setdefault(key, {"group": job.get("group"), "groupid": key[0],
                              "distri": key[1], "version": key[2]})
    return [seen[key] for key in sorted(seen, key=lambda k: (k[0], str(k[1]), str(k[2])))]


def require_one_build(params: t.Mapping[str, t.Any], jobs: t.Sequence[dict]) -> None:
    """A change must not spill over builds of the same name in other groups or products."""
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


def _first_failed_module(job: dict) -> t.Optional[str]:
    return next((module["name"] for module in job.get("modules") or [] if module.get("result") == "failed"), None)


def _test_entry(job: dict) -> dict:
    word = job_status(job)
    entry: t.Dict[str, t.Any] = {"arch": (job.get("settings") or {}).get("ARCH"), "id": job["id"], "status": word}
    if _status_matches(word, "failure"):
        entry["failure"] = _first_failed_module(job)
    return entry


def _by_test_name(jobs: t.Iterable[dict]) -> t.List[dict]:
    grouped: t.Dict[str, t.List[dict]] = {}
    for job in sorted(jobs, key=lambda j: (str((j.get("settings") or {}).get("ARCH")), int(j["id"]))):
        grouped.setdefault(job["test"], []).append(_test_entry(job))
    return [{"name": name, "tests": grouped[name]} for name in sorted(grouped)]


def _existing_build(client: t.Any, params: t.Mapping[str, t.Any]) -> t.List[dict]:
    jobs = latest_jobs(client, params)
    if not jobs:
        raise NotFoundError("unknown build: no job has %s on %s" % (_describe(params), client.base_url))
    return jobs


# ---------------------------------------------------------------- search, info, restart, wait


def search(client: t.Any, params: dict) -> Result:
    """Build names of a group, newest first, from the group overview (one request per group)."""
    group_id = _resolve_group_id(client, params)
    try:
        overview = client.get("/group_overview/%d" % group_id, {"limit_builds": params["limit"]})
    except NotFoundError:
        raise NotFoundError("unknown group: there is no job group %d on %s" % (group_id, client.base_url))
    names = []
    for build in overview.get("build_results") or []:
        if params["version"] is not None and build.get("version") != params["version"]:
            continue
        if params["distri"] is not None and params["distri"] not in (build.get("distris") or {}):
            continue
        if params["name"] and params["name"].lower() not in str(build["build"]).lower():
            continue
        names.append(str(build["build"]))
    return Result(returns={"ids": list(dict.fromkeys(names))})


def _resolve_group_id(client: t.Any, params: t.Mapping[str, t.Any]) -> int:
    if params["groupid"] is not None:
        return params["groupid"]
    group = params["group"]
    if group is None:
        raise InvalidInputError("'build search' needs --groupid or --group: builds are searched within a group")
    key, value = group_filter(group)
    if key == "groupid":
        return value
    matches = [g for g in client.get("job_groups") if g.get("name") == group]
    if not matches:
        raise NotFoundError("unknown group: there is no job group named %r on %s" % (group, client.base_url))
    return int(matches[0]["id"])


def info(client: t.Any, params: dict) -> Result:
    jobs = _existing_build(client, params)
    grouped = _by_test_name(select_jobs(jobs, params))
    if params["bugs"]:
        _add_bug_references(client, grouped)
    return Result(returns=grouped)


def _add_bug_references(client: t.Any, grouped: t.List[dict]) -> None:
    """The proposal's ``bug``: the newest bug reference in the comments of each job that is not ok.

    openQA 4.6 has no bulk comments endpoint, so this costs one request per such job (opt-in).
    """
    for test in (test for name in grouped for test in name["tests"] if "failure" in test):
        references = [ref for comment in client.get("jobs/%d/comments" % test["id"])
                      for ref in comment.get("bugrefs") or []]
        if references:
            test["bug"] = references[-1]


def restart(client: t.Any, params: dict) -> Result:
    jobs = latest_jobs(client, params)
    if not jobs:
        return Result(message="no build found")
    require_one_build(params, jobs)
    selected = select_jobs(jobs, params)
    finished = sorted(int(job["id"]) for job in selected if is_final(job))
    if not finished:
        pending = sum(1 for job in jobs if not is_final(job))
        reason = "no finished job of the build matches the filters"
        if pending:
            # typically the restarts of an earlier run, still waiting for a worker
            reason += " (%d of its jobs are still scheduled or running)" % pending
        return Result(returns={"ids": []}, message="nothing to restart: %s" % reason)
    result = restart_jobs(client, finished, force=params["force"], skip_parents=params["skip_parents"],
                          skip_children=params["skip_children"],
                          skip_ok_result_children=params["skip_ok_result_children"],
                          jobs={int(job["id"]): job for job in selected if is_final(job)})
    plain_success = result.status == Status.OK and not client.check_mode
    return Result(returns={"ids": result.returns}, status=result.status, changed=result.changed,
                  message="ok" if plain_success else result.message, warnings=result.warnings)


def wait(client: t.Any, params: dict) -> Result:
    selected = select_jobs(_existing_build(client, params), params)
    if not selected:
        return Result(returns={}, message="no job of the build matches the filters")
    return wait_for_jobs(client, [int(job["id"]) for job in selected], timeout=params["timeout"],
                         interval=params["interval"])


# ---------------------------------------------------------------- new


def _iso_settings(params: t.Mapping[str, t.Any]) -> t.Dict[str, str]:
    """The POST isos parameters: --vars (last one wins) and the group as _GROUP_ID or _GROUP."""
    settings: t.Dict[str, str] = {}
    for key, value in params["vars"] or []:
        # openQA upper-cases every key but async, which switches to asynchronous scheduling.
        settings[key if key == "async" else key.upper()] = value
    group_keys = {"_GROUP", "_GROUP_ID"} & set(settings)
    if params["group"] is not None:
        if group_keys:
            raise AmbiguousError("ambiguous options: --group and --vars %s both name the group; give it once"
                                 % "/".join(sorted(group_keys)))
        key, value = group_filter(params["group"])
        settings["_GROUP_ID" if key == "groupid" else "_GROUP"] = str(value)
    return settings


def _product_name(settings: t.Mapping[str, str]) -> str:
    return "%s build %s" % ("-".join(settings.get(k, "?") for k in PRODUCT_SETTINGS), settings.get("BUILD"))


def _scheduled_jobs(client: t.Any, settings: t.Mapping[str, str]) -> t.List[int]:
    """Ids of the current jobs of this product and build that still stand (not cancelled, obsoleted
    nor replaced by a restart); TEST and MACHINE, when given, narrow it as they narrow POST isos."""
    query = [(key.lower(), settings[key]) for key in BUILD_IDENTITY]
    query += _group_param(settings.get("_GROUP_ID") or settings.get("_GROUP"), None).items()
    tests = set(_alternatives(settings.get("TEST", "")))
    machines = set(_alternatives(settings.get("MACHINE", "")))
    ids = []
    for job in jobs_in(client.get("jobs", query)):
        if not matches_filters(job, query) or job.get("clone_id") or job.get("state") == "cancelled" or \
                job.get("result") in DROPPED_RESULTS:
            continue
        if (tests and job.get("test") not in tests) or \
                (machines and (job.get("settings") or {}).get("MACHINE") not in machines):
            continue
        ids.append(int(job["id"]))
    return sorted(ids)


def new(client: t.Any, params: dict) -> Result:
    settings = _iso_settings(params)
    missing = [key for key in BUILD_IDENTITY if not settings.get(key)]
    if missing:
        raise InvalidInputError("missing parameters: %s: 'build new' needs DISTRI, VERSION, FLAVOR, ARCH (as "
                                "POST isos does) and BUILD (the build's identity); give them with --vars KEY=VALUE"
                                % " ".join(missing))
    existing = _scheduled_jobs(client, settings)
    if existing and not params["force"]:
        result = Result(returns={"ids": existing, "scheduled_product_id": None},
                        message="already scheduled: %d jobs of %s; force schedules it again"
                        % (len(existing), _product_name(settings)))
        return _wait_for_build(client, params, result)
    if client.check_mode:
        return Result(returns={"ids": [], "scheduled_product_id": None}, changed=True,
                      message="would schedule %s (POST isos)" % _product_name(settings))
    return _wait_for_build(client, params, _post_isos(client, settings, existing))


def _wait_for_build(client: t.Any, params: t.Mapping[str, t.Any], result: Result) -> Result:
    """new --wait: the scheduled jobs' results go next to their ids."""
    return then_wait(client, params, result, (result.returns or {}).get("ids") or [],
                     lambda waited: dict(result.returns, results=waited))


def _post_isos(client: t.Any, settings: t.Dict[str, str], existing: t.List[int]) -> Result:
    try:
        answer = client.post("isos", settings)
    except NotFoundError as error:
        # openQA answers 404 when the group has no job template for the product.
        raise NotFoundError("no job templates: %s; check --group and the group's job templates for %s"
                            % (error.message, _product_name(settings)))
    except (UnreachableError, ServerError) as error:
        return _outcome_after_failed_post(client, settings, existing, error)
    return _interpret_isos_answer(settings, answer)


def _outcome_after_failed_post(client: t.Any, settings: t.Mapping[str, str], existing: t.List[int],
                               error: Exception) -> Result:
    """The POST may have reached openQA: read what it scheduled instead of posting twice."""
    try:
        created = sorted(set(_scheduled_jobs(client, settings)) - set(existing))
    except (UnreachableError, ServerError):
        raise UnreachableError("%s; POST isos may or may not have scheduled %s, and reading it back failed too: "
                               "check the server before running it again" % (error, _product_name(settings)))
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
        return Result(returns=returns, changed=True, warnings=[
            "scheduled asynchronously (async): openQA creates the jobs later; see GET isos/%s"
            % answer.get("scheduled_product_id")])
    if not ids:
        raise RefusedError("openQA scheduled no job for %s: no job template matches (check --group, TEST "
                           "and MACHINE)" % _product_name(settings), returns=returns)
    return Result(returns=returns, changed=True)


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
        Option("group", "Job group name or id (all digits). new: the group whose job templates are scheduled."),
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
               "repeat it.", type="keyvalue", aliases=("var",)),
        Option("force", "new: schedule even when the build is already scheduled; restart: as test restart "
               "(missing assets, directly chained parents).", type="bool", default=False),
        Option("skip_parents", "restart: do not restart failed chained parents.", type="bool", default=False),
        Option("skip_children", "restart: do not restart children.", type="bool", default=False),
        Option("skip_ok_result_children", "restart: do not restart passed or softfailed children.",
               type="bool", default=False),
        Option("limit", "search: how many of the group's newest builds to look through.", type="int",
               default=500),
        Option("wait", "new: wait until the jobs are final, as the wait action does.", type="bool",
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
                                               "skip_ok_result_children"),
               required=("id",), mutating=True, conflicts=(("group", "groupid"),)),
        Action("new", new, "schedule a build (POST isos) unless it is already scheduled",
               options=("group", "vars", "force", "wait", "timeout", "interval"), required=("vars",),
               mutating=True),
        Action("wait", wait, "wait until the build's latest jobs are final; status 7 when one is not ok",
               options=IDENTITY + SELECTION + ("timeout", "interval"), required=("id",),
               conflicts=(("group", "groupid"),)),
    ),
)
