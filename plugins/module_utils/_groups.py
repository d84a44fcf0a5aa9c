# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``group`` entry point: a job group (a bunch of builds).

Build results come from the server's own computation (OpenQA::BuildResults), so the counts mean
the same on every version: newer servers answer ``GET job_groups/N/build_results``; openQA 4.6
lacks it, and its ``/dashboard_build_results`` (not under the API, filtered by a Perl regex on the
group's full name "PARENT / NAME") gives the same per-build figures in one request.
"""

from __future__ import annotations

import re
import typing as t

from ansible_collections.openqa.client.plugins.module_utils.envelope import (
    InvalidInputError,
    NotFoundError,
    Result,
)
from ansible_collections.openqa.client.plugins.module_utils._spec import Action, Entry, Option

if t.TYPE_CHECKING:
    from ansible_collections.openqa.client.plugins.module_utils.client import Client

DASHBOARD = "/dashboard_build_results"
# limit_builds defaults to 3 (dashboard) or 10 (build_results); ask for what is effectively all.
ALL_BUILDS = 10000
# The job counts of a build as the server categorises them (BuildResults.pm count_job).
COUNTS = ("passed", "softfailed", "failed", "skipped", "unfinished", "total")
# Above this many characters of group filters the dashboard is asked unfiltered (request line limit).
MAX_FILTER_CHARS = 4000
_PERL_SPECIAL = re.compile(r"([\x00-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f])")


def perl_literal(text: str) -> str:
    """A Perl regex matching text literally: backslash every ASCII non-word character."""
    return _PERL_SPECIAL.sub(r"\\\1", text)


def name_matcher(name: t.Optional[str], regex: bool) -> t.Callable[[str], bool]:
    if name is None:
        if regex:
            raise InvalidInputError("--regex needs --name PATTERN")
        return lambda _candidate: True
    if not regex:
        needle = name.casefold()
        return lambda candidate: needle in candidate.casefold()
    try:
        pattern = re.compile(name, re.IGNORECASE)
    except re.error as exc:
        raise InvalidInputError("name %r is not a valid regular expression: %s" % (name, exc)) from None
    return lambda candidate: bool(pattern.search(candidate))


def _days(seconds: t.Optional[float]) -> str:
    """time_limit_days as the server validates it (digits and a dot); "0" means no limit."""
    if seconds is None:
        return "0"
    if seconds <= 0:
        raise InvalidInputError("builds_younger must be longer than 0 (e.g. 10d); leave it out for all builds")
    return ("%.6f" % (seconds / 86400.0)).rstrip("0").rstrip(".")


def _dashboard(client: Client, filters: t.Optional[t.Sequence[str]], days: str) -> list:
    params: list = [("limit_builds", ALL_BUILDS), ("time_limit_days", days)]
    params += [("group", pattern) for pattern in filters or ()]
    return client.get(DASHBOARD, params)["results"]


def _counts(figures: t.Mapping[str, t.Any]) -> dict:
    return {name: int(figures.get(name) or 0) for name in COUNTS}


def _build_rows(build_results: t.Sequence[t.Mapping[str, t.Any]], child_id: t.Optional[int] = None) -> list:
    """Per-build counts, newest first as the server sorts them; child_id picks one child of a parent."""
    rows = []
    for build in build_results:
        figures = build if child_id is None else (build.get("children") or {}).get(str(child_id))
        if not figures or not figures.get("total"):
            continue
        rows.append(dict({"build": build.get("build"), "version": build.get("version")}, **_counts(figures)))
    return rows


def _names(rows: t.Sequence[t.Mapping[str, t.Any]]) -> list:
    """Build names in order, once each (one BUILD can exist for several VERSIONs)."""
    return list(dict.fromkeys(row["build"] for row in rows))


# ---------------------------------------------------------------------------------------- search

def _search_filters(groups: t.Sequence[dict], parents: t.Sequence[dict], everything: bool,
                    parent_names: t.Mapping[int, str]) -> t.Optional[list]:
    """Dashboard group filters selecting exactly these groups, or None to ask for all of them."""
    if everything:
        return None
    filters = ["^%s$" % perl_literal(full_name(group, parent_names)) for group in groups]
    # A parent's builds are those of all its children, whose full names start with "PARENT / ".
    filters += ["^%s" % perl_literal(parent["name"] + " / ") for parent in parents]
    return None if sum(len(f) for f in filters) > MAX_FILTER_CHARS else filters


def full_name(group: t.Mapping[str, t.Any], parent_names: t.Mapping[int, str]) -> str:
    parent = parent_names.get(group.get("parent_id"))  # type: ignore[arg-type]
    return "%s / %s" % (parent, group["name"]) if parent else group["name"]


def _builds_by_group(results: t.Sequence[t.Mapping[str, t.Any]]) -> t.Tuple[dict, dict]:
    """Dashboard entries -> build names per job group id and per parent group id.

    An entry with children is a parent (its builds are summed over them); one without is a
    top-level job group. Parent and job group ids are separate sequences, hence two maps.
    """
    job_groups: dict = {}
    parents: dict = {}
    for entry in results:
        builds = entry.get("build_results") or []
        children = entry.get("children") or []
        if not children:
            job_groups[entry["group"]["id"]] = _names(_build_rows(builds))
            continue
        parents[entry["group"]["id"]] = _names(_build_rows(builds))
        for child in children:
            job_groups[child["id"]] = _names(_build_rows(builds, child["id"]))
    return job_groups, parents


def search(client: Client, params: dict) -> Result:
    matches = name_matcher(params["name"], params["regex"])
    all_groups = client.get("job_groups")
    all_parents = client.get("parent_groups")
    groups = [g for g in all_groups if matches(g["name"])]
    parents = [p for p in all_parents if matches(p["name"])]
    found: list = []
    warnings: t.List[str] = []
    if groups or parents:
        parent_names = {p["id"]: p["name"] for p in all_parents}
        everything = len(groups) == len(all_groups) and len(parents) == len(all_parents)
        filters = _search_filters(groups, parents, everything, parent_names)
        days = _days(None)
        job_group_builds, parent_builds = _builds_by_group(_dashboard(client, filters, days))
        job_group_builds.update(_hidden_groups_builds(client, groups, days, warnings))
        found += [{"id": g["id"], "name": g["name"], "kind": "job_group",
                   "builds": job_group_builds.get(g["id"], [])} for g in groups]
        found += [{"id": p["id"], "name": p["name"], "kind": "parent_group",
                   "builds": parent_builds.get(p["id"], [])} for p in parents]
    return Result(returns={"groups": found}, warnings=warnings)


def _hidden_groups_builds(client: Client, groups: t.Sequence[dict], days: str, warnings: t.List[str]) -> dict:
    """Build names of the groups the dashboard leaves out (ignore_on_dashboard, newer openQA), read one
    request each from the group's own build results; a warning where the server lacks that route."""
    builds = {}
    for group in groups:
        if group.get("ignore_on_dashboard"):
            rows = _builds_from_api(client, group["id"], days, warnings)
            if rows is None:
                warnings.append("group %d is hidden from the dashboard (ignore_on_dashboard) and this openQA has no "
                                "job_groups/%d/build_results: its builds are not listed" % (group["id"], group["id"]))
            builds[group["id"]] = _names(rows or [])
    return builds


# ------------------------------------------------------------------------------------------ info

def get_group(client: Client, group_id: int) -> dict:
    try:
        return client.get("job_groups/%d" % group_id)[0]
    except (NotFoundError, IndexError):
        raise NotFoundError("unknown group: there is no job group %d on %s" % (group_id, client.base_url)) from None


def _builds_from_api(client: Client, group_id: int, days: str, warnings: t.List[str]) -> t.Optional[list]:
    """The newer servers' endpoint; None when this server does not have it (openQA 4.6: 404)."""
    try:
        answer = client.get("job_groups/%d/build_results" % group_id,
                            {"limit_builds": ALL_BUILDS, "time_limit_days": days})
    except NotFoundError:
        return None
    if answer.get("limit_exceeded"):
        # the server stops at job_groups_overview_max_jobs (25,000 by default) and says so only here
        warnings.append("openQA stopped reading group %d at its job limit (limit_exceeded: %s): older builds "
                        "are missing; narrow it with builds_younger" % (group_id, answer["limit_exceeded"]))
    return _build_rows(answer.get("build_results") or [])


def _builds_from_dashboard(client: Client, group: t.Mapping[str, t.Any], days: str) -> t.Tuple[list, t.Optional[str]]:
    """The group's build rows, and its parent's name when the dashboard named it.

    The filter matches the name as a top-level group or as anyone's child, since the parent's name
    is not known yet; the entry that holds exactly this group is picked by id below.
    """
    pattern = "(^| / )%s$" % perl_literal(group["name"])
    for entry in _dashboard(client, [pattern], days):
        children = entry.get("children") or []
        if not children and entry["group"]["id"] == group["id"] and not group.get("parent_id"):
            return _build_rows(entry.get("build_results") or []), None
        if any(child["id"] == group["id"] for child in children):
            return _build_rows(entry.get("build_results") or [], group["id"]), entry["group"]["name"]
    return [], None


def _get_parent(client: Client, parent_id: int) -> t.Optional[dict]:
    """The parent group, or None when the server has no such parent (a 404 or an empty answer)."""
    try:
        parents = client.get("parent_groups/%d" % parent_id)
    except NotFoundError:
        return None
    return parents[0] if parents else None


def _parent_info(client: Client, parent_id: int, days: str) -> Result:
    """A parent group: its builds summed over its job groups, as the dashboard shows them."""
    parent = _get_parent(client, parent_id)
    if parent is None:
        raise NotFoundError("unknown group: there is no parent group %d on %s" % (parent_id, client.base_url))
    builds: list = []
    for entry in _dashboard(client, ["^%s" % perl_literal(parent["name"] + " / ")], days):
        if entry["group"]["id"] == parent_id and entry.get("children"):
            builds = _build_rows(entry.get("build_results") or [])
    return Result(returns={
        "id": parent_id,
        "name": parent["name"],
        "kind": "parent_group",
        "parent": None,
        "priority": parent.get("default_priority"),
        "description": parent.get("description"),
        "builds": builds,
    })


def info(client: Client, params: dict) -> Result:
    days = _days(params["builds_younger"])
    if params["kind"] == "parent_group":
        return _parent_info(client, params["id"], days)
    group = get_group(client, params["id"])
    parent_name = None
    warnings: t.List[str] = []
    builds = _builds_from_api(client, group["id"], days, warnings)
    if builds is None:
        builds, parent_name = _builds_from_dashboard(client, group, days)
    parent_id = group.get("parent_id")
    if parent_id and parent_name is None:
        parent = _get_parent(client, parent_id)
        parent_name = parent["name"] if parent else None
    return Result(returns={
        "id": group["id"],
        "name": group["name"],
        "kind": "job_group",
        "parent": {"id": parent_id, "name": parent_name} if parent_id else None,
        "priority": group.get("default_priority"),
        "description": group.get("description"),
        "builds": builds,
    }, warnings=warnings)


ENTRY = Entry(
    name="group",
    help="a job group (a bunch of builds)",
    options=(
        Option("id", "Job group id.", type="int"),
        Option("name", "Only groups whose name contains this text (case-insensitive), "
               "or matches this pattern with --regex."),
        Option("regex", "Treat --name as a regular expression (Python syntax, case-insensitive).",
               type="bool", default=False),
        Option("builds_younger", "Only builds with a job created within this age (e.g. 10d, 12h).",
               type="duration"),
        Option("kind", "info: what the id numbers, as search's kind says: job and parent groups are numbered "
               "separately.", choices=("job_group", "parent_group"), default="job_group"),
    ),
    actions=(
        Action("search", search, "job groups and parent groups by name, with their builds (newest first)",
               options=("name", "regex")),
        Action("info", info, "a job group: name, parent, priority, description and its builds' job counts",
               options=("id", "builds_younger", "kind"), required=("id",), aliases=("display",)),
    ),
)
