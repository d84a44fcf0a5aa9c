# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to this collection: no API promise, it may change in any release.
"""A build's jobs (build search and info, and what restart and wait read): the latest job of every
scenario from one ``GET jobs?build=..`` per 10,000 jobs, one build only, the filters checked here."""

from __future__ import annotations

import typing as t

from ansible_collections.openqa.client.plugins.module_utils._job_reads import (
    MAX_CLONE_HOPS,
    OK_RESULTS,
    first_failed_module,
    group_filter,
    id_list,
    job_status,
    resolve_group,
    search_pages,
)
from ansible_collections.openqa.client.plugins.module_utils.envelope import (
    AmbiguousError,
    InvalidInputError,
    NotFoundError,
    Result,
)

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


CANCELLED_BY_A_PERSON = "user_cancelled"


def describe_build(params: t.Mapping[str, t.Any]) -> str:
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
                             % (describe_build(params), len(candidates), listed),
                             returns={"candidates": candidates})


def alternatives(value: str) -> t.List[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _check_filters(filters: t.Sequence[t.Tuple[str, str]]) -> None:
    for key, value in filters:
        if key not in FILTER_KEYS:
            raise InvalidInputError("unknown filter %r: filters are KEY=VALUE with KEY one of %s"
                                    % (key, ", ".join(FILTER_KEYS)))
        if not alternatives(value):
            raise InvalidInputError("filter %s= has no value: write it like %s=raid" % (key, key))
        if key == "status":
            unknown = sorted(set(alternatives(value)) - STATUS_WORDS - set(STATUS_GROUPS))
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
    options = alternatives(value)
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


def by_test_name(jobs: t.Iterable[dict]) -> t.List[dict]:
    jobs = list(jobs)
    with_flavor = len({(job.get("settings") or {}).get("FLAVOR") for job in jobs}) > 1
    grouped: t.Dict[str, t.List[dict]] = {}
    for job in sorted(jobs, key=_entry_order):
        grouped.setdefault(job["test"], []).append(_test_entry(job, with_flavor))
    return [{"name": name, "tests": grouped[name]} for name in sorted(grouped)]


def existing_build(client: Client, params: t.Mapping[str, t.Any], jobs: t.List[dict]) -> t.List[dict]:
    """The build's latest jobs (from latest_jobs), one build only: a gate must not judge another group's jobs."""
    if not jobs:
        raise NotFoundError("unknown build: no job has %s on %s" % (describe_build(params), client.base_url))
    require_one_build(params, jobs)
    return jobs


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
    return int(one_group(resolve_group(client, name=value)[1], value)["id"])


def one_group(groups: t.Sequence[dict], given: t.Any) -> dict:
    """A group name shared by groups under different parents names no single group."""
    if len(groups) > 1:
        raise AmbiguousError("ambiguous options: groups %s are all named %r (under different parent groups): "
                             "give the group's id instead" % (id_list(int(g["id"]) for g in groups), given))
    return groups[0]


def info(client: Client, params: dict) -> Result:
    jobs = existing_build(client, params, latest_jobs(client, params))
    grouped = by_test_name(select_jobs(jobs, params))
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
