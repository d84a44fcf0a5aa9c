# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to this collection: no API promise, it may change in any release.
"""Cloning a job with its cluster, like openqa-clone-job, posted in one ``POST jobs``."""

from __future__ import annotations

import re
import typing as t

from ansible_collections.openqa.client.plugins.module_utils.config import (
    normalize_host,
    plain_http_warnings,
    resolve_connection,
)
from ansible_collections.openqa.client.plugins.module_utils.envelope import (
    AmbiguousError,
    InvalidInputError,
    NotFoundError,
    Result,
    ServerError,
    UnreachableError,
)
from ansible_collections.openqa.client.plugins.module_utils._job_reads import (
    DEPENDENCY_TYPES,
    id_list,
    id_of,
    jobs_in,
    one_id,
    parent_ids,
    unknown_jobs_error,
)
from ansible_collections.openqa.client.plugins.module_utils._waiting import then_wait

# Jobs of the same DISTRI, VERSION and BUILD looked at for an identical clone.
RECENT_JOBS = 100
# Settings openQA shows as [redacted] without unredacted=1; the clone reads them in clear to copy them.
REDACTED = "[redacted]"
_SECRET_SETTING = re.compile(r"^_SECRET_|_PASSWORD$")


def clone(client: t.Any, params: dict) -> Result:
    """Clone a job with its cluster like openqa-clone-job, posted in one request."""
    source_id = one_id(params, "clone")
    if params["skip_deps"] and params["clone_children"]:
        raise AmbiguousError("ambiguous options: skip_deps clones no dependencies, clone_children asks for "
                             "children; give one")
    overrides = _clone_overrides(params["vars"] or [])
    target, warnings = _destination(client, params["to"])
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
        return Result(returns={"id": None, "settings": _as_shown(client, posts)}, changed=True, warnings=warnings,
                      message="would clone %s to %s" % (id_list(sorted(posts)), target.base_url))
    form = [("%s:%d" % (key, job_id), value) for job_id, settings in sorted(posts.items())
            for key, value in sorted(settings.items())]
    try:
        answer = target.post("jobs", form + [("is_clone_job", 1)])
        ids = {str(k): int(v) for k, v in answer["ids"].items()}
    except (UnreachableError, ServerError) as error:
        ids, lost = _clones_after_failed_post(target, posts, source_id, params["force"], error)
        warnings += lost
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


def _destination(client: t.Any, to: t.Optional[str]) -> t.Tuple[t.Any, t.List[str]]:
    """The client for --to: same settings, credentials of that host (environment, then client.conf),
    and the plain-http warning --host would give it."""
    if not to:
        return client, []
    url = normalize_host(to)
    if url == client.base_url:
        return client, []
    connection = resolve_connection({"host": url})
    return client.for_host(url, connection.api_key, connection.api_secret), plain_http_warnings(url,
                                                                                               connection.api_secret)


def _as_shown(client: t.Any, posts: t.Mapping[int, dict]) -> t.Dict[str, dict]:
    """The settings to post, with every value openQA would show as [redacted] redacted (check mode prints them).

    Besides the names openQA redacts (_SECRET_*, *_PASSWORD), a server may hide more (its own rule): what it
    shows as [redacted] in a plain read is redacted here too.
    """
    shown = {id_of(job): job.get("settings") or {} for job in jobs_in(client.get("jobs", {"ids": sorted(posts)}))}
    return {str(job_id): {key: REDACTED if _SECRET_SETTING.search(key) or shown.get(job_id, {}).get(key) == REDACTED
                          else value for key, value in settings.items()}
            for job_id, settings in posts.items()}


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
                              % (source_id, id_list(sorted(set(wanted) - set(found)))))
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
    for job in target.get("jobs", dict(filters, limit=RECENT_JOBS))["jobs"]:
        stored = {k: v for k, v in (job.get("settings") or {}).items() if k != "NAME"}
        for job_id, settings in wanted.items():
            if stored == settings and job_id not in found:
                found[job_id] = int(job["id"])
    return found


def _stored_form(settings: t.Mapping[str, str]) -> dict:
    """Settings as openQA stores them: the _ keys steer creation and are not kept."""
    return {k: str(v) for k, v in settings.items() if not k.startswith("_")}
