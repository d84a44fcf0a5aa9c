# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to this collection: no API promise, it may change in any release.
"""Cloning a job with its cluster, like openqa-clone-job, posted in one ``POST jobs``."""

from __future__ import annotations

import re
import typing as t

from ansible_collections.openqa.client.plugins.module_utils.config import normalize_host, resolve_connection
from ansible_collections.openqa.client.plugins.module_utils.envelope import (
    AmbiguousError,
    AuthError,
    InvalidInputError,
    NotFoundError,
    Result,
    ServerError,
    UnreachableError,
)
from ansible_collections.openqa.client.plugins.module_utils._job_reads import DEPENDENCY_TYPES, id_list, one_id, parent_ids, unknown_jobs_error
from ansible_collections.openqa.client.plugins.module_utils._waiting import then_wait

# Jobs of the same DISTRI, VERSION and BUILD looked at for an identical clone.
RECENT_JOBS = 100
# What openQA (newer than 4.6) shows instead of a secret-looking setting (_SECRET_*, *_PASSWORD,
# _HIDE_SECRETS_REGEX) in listings, and in GET jobs/N?unredacted=1 to users without operator rights.
REDACTED = "[redacted]"


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
                      message="would clone %s to %s" % (id_list(sorted(posts)), target.base_url))
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
    One request per job: only ``GET jobs/N?unredacted=1`` returns secret settings unredacted (to
    operators; the job listing redacts them), as openqa-clone-job reads them.
    """
    try:
        source = _read_unredacted(client, source_id)
    except NotFoundError:
        raise unknown_jobs_error(client, [source_id])
    cluster = {source_id: (source, 1)}
    wanted = _relatives(source, 1, skip_deps, clone_children)
    while wanted:
        wanted = {job_id: depth for job_id, depth in wanted.items() if job_id not in cluster}
        if not wanted:
            break
        following: t.Dict[int, int] = {}
        for job_id, depth in sorted(wanted.items()):
            try:
                job = _read_unredacted(client, job_id)
            except NotFoundError:
                raise ServerError("job %d's relative %d vanished while cloning; try again" % (source_id, job_id))
            cluster[job_id] = (job, depth)
            following.update(_relatives(job, depth, skip_deps, clone_children))
        wanted = following
    return cluster


def _read_unredacted(client: t.Any, job_id: int) -> dict:
    """The job with its real settings; a clone of ``[redacted]`` would run with that literal text."""
    job = client.get("jobs/%d" % job_id, {"unredacted": 1})["job"]
    hidden = sorted(key for key, value in (job.get("settings") or {}).items() if value == REDACTED)
    if hidden:
        raise AuthError("not cloned: openQA shows job %d's settings %s only as %s to this API key; cloning needs "
                        "an API key with operator rights, which reads their real values"
                        % (job_id, ", ".join(hidden), REDACTED))
    return job


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
        stored = _stored_form(job.get("settings") or {})
        for job_id, settings in wanted.items():
            if job_id in found or not _same_settings(stored, settings):
                continue
            if REDACTED in stored.values():
                # the listing hides secrets: compare their real values before calling it identical
                real = _stored_form(target.get("jobs/%d" % int(job["id"]), {"unredacted": 1})["job"]["settings"])
                if not _same_settings(real, settings, redacted_match=False):
                    continue
            found[job_id] = int(job["id"])
    return found


def _stored_form(settings: t.Mapping[str, t.Any]) -> dict:
    """Settings as openQA stores and shows them, for comparing: the _ keys steer creation (_GROUP_ID, ...) or
    are the server's own bookkeeping (_PRIORITY_EXPLANATION on newer openQA) and NAME is derived."""
    return {k: str(v) for k, v in settings.items() if not k.startswith("_") and k != "NAME"}


def _worker_classes(value: t.Optional[str]) -> t.FrozenSet[str]:
    return frozenset(part for part in (value or "").split(",") if part)


def _same_settings(stored: t.Mapping[str, str], wanted: t.Mapping[str, str], redacted_match: bool = True) -> bool:
    """WORKER_CLASS is a set (openQA stores it split and may add classes by worker_class_auto_assignment,
    to the original as to its clone); with redacted_match a ``[redacted]`` value matches any value."""
    if stored.keys() != wanted.keys():
        return False
    for key, value in stored.items():
        if key == "WORKER_CLASS":
            if _worker_classes(value) != _worker_classes(wanted[key]):
                return False
        elif value != wanted[key] and not (redacted_match and value == REDACTED):
            return False
    return True
