# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to this collection: no API promise, it may change in any release.
"""Cloning a job with its cluster, like openqa-clone-job, posted in one ``POST jobs``."""

from __future__ import annotations

import re
import shlex
import typing as t
from urllib.parse import quote, urlsplit

from ansible_collections.openqa.client.plugins.module_utils.config import display_url
from ansible_collections.openqa.client.plugins.module_utils.envelope import (
    AmbiguousError,
    AuthError,
    InvalidInputError,
    NotFoundError,
    OpenQAError,
    RefusedError,
    Result,
    ServerError,
    UnreachableError,
    failed_after,
)
from ansible_collections.openqa.client.plugins.module_utils._preflight import verify_write_access
from ansible_collections.openqa.client.plugins.module_utils._job_reads import (
    DEPENDENCY_TYPES,
    id_list,
    id_of,
    jobs_in,
    one_id,
    unknown_jobs_error,
)
from ansible_collections.openqa.client.plugins.module_utils._waiting import then_wait

if t.TYPE_CHECKING:
    from ansible_collections.openqa.client.plugins.module_utils.client import Client

# Jobs of the same DISTRI, VERSION and BUILD looked at for an identical clone.
RECENT_JOBS = 100
# What openQA (newer than 4.6) shows instead of a secret-looking setting (_SECRET_*, *_PASSWORD,
# _HIDE_SECRETS_REGEX) in listings, and in GET jobs/N?unredacted=1 to users without operator rights.
REDACTED = "[redacted]"


def _shape(source_id: int, clones: t.Mapping[int, t.Optional[int]]) -> dict:
    """The one shape of every clone result: the new id of the job, all new ids, and old -> new."""
    mapping = {str(old): new for old, new in sorted(clones.items())}
    return {"id": clones.get(source_id), "ids": sorted(new for new in clones.values() if new is not None),
            "clones": mapping}


_SECRET_SETTING = re.compile(r"^_SECRET_|_PASSWORD$")


def clone(client: Client, params: dict) -> Result:
    """Clone a job with its cluster like openqa-clone-job, posted in one request."""
    source_id = one_id(params, "clone")
    overrides = _clone_overrides(params["vars"] or [])
    target = _destination(client, params["to"])
    walk = _Walk(params["skip_deps"], params["clone_children"], params.get("skip_chained_deps") or False,
                 1 if params.get("max_depth") is None else params["max_depth"])
    cluster = _read_cluster(client, source_id, walk)
    posts = {job_id: _clone_settings(client, job, depth, overrides, params.get("parental_inheritance") or False,
                                     walk.dependency_kinds) for job_id, (job, depth) in cluster.items()}
    missing = _missing_assets(target, posts)
    if missing and not params.get("ignore_missing_assets"):
        raise RefusedError("not cloned: the target %s lacks the assets %s; copy them there or give "
                           "ignore_missing_assets to clone anyway" % (target.base_url, ", ".join(missing)),
                           returns={"missing_assets": missing})
    if (params.get("repeat") or 1) > 1:
        return _clone_repeatedly(client, target, params, source_id, posts, missing)
    if not params["force"]:
        existing = _existing_clones(target, posts)
        if source_id in existing:
            return Result(returns=_shape(source_id, existing),
                          message="already cloned: job %d with these settings exists as %d (force clones again)"
                          % (source_id, existing[source_id]))
    if client.check_mode:
        unverified = verify_write_access(target, "cloning %s to %s (POST jobs)"
                                         % (id_list(sorted(posts)), target.base_url))
        shown = _as_shown(client, posts)
        returns = dict(_shape(source_id, {job_id: None for job_id in posts}), settings=shown,
                       command=clone_job_command(client, target, source_id, params),
                       export_command=_export_command(target, {int(k): v for k, v in shown.items()}))
        return Result(returns=returns, changed=True, warnings=unverified,
                      message="would clone %s to %s" % (id_list(sorted(posts)), target.base_url))
    ids, lost = _post_clones(target, posts, source_id, params["force"])
    result = Result(returns=_shape(source_id, ids), changed=True, warnings=_missing_warning(missing) + lost,
                    message="cloned %s" % ", ".join("%d as %d" % item for item in sorted(ids.items())))
    return then_wait(target, params, result, sorted(ids.values()),
                     lambda waited: dict(result.returns, results=waited))


def _post_clones(target: Client, posts: t.Mapping[int, dict], source_id: int,
                 force: bool) -> t.Tuple[t.Dict[int, int], t.List[str]]:
    """One POST jobs for a cluster: old id -> new id, and a warning when the answer was lost."""
    try:
        answer = target.post("jobs", _form(posts) + [("is_clone_job", 1)])
    except (UnreachableError, ServerError) as error:
        return _clones_after_failed_post(target, posts, source_id, force, error)
    return {int(k): int(v) for k, v in answer["ids"].items()}, []


def _form(posts: t.Mapping[int, dict]) -> t.List[t.Tuple[str, str]]:
    return [("%s:%d" % (key, job_id), value) for job_id, settings in sorted(posts.items())
            for key, value in sorted(settings.items())]


def _repeat_posts(posts: t.Mapping[int, dict], number: int, repeat: int) -> t.Dict[int, dict]:
    """The cluster of the number-th of repeat clones: TEST suffixed -N, zero-padded to repeat's width,
    as openqa-clone-job --repeat names them."""
    suffix = "-%0*d" % (len(str(repeat)), number)
    return {job_id: dict(settings, TEST=settings.get("TEST", "") + suffix) for job_id, settings in posts.items()}


def _clone_repeatedly(client: Client, target: Client, params: dict, source_id: int, posts: t.Mapping[int, dict],
                      missing: t.List[str]) -> Result:
    """repeat N: N clusters, each posted once unless an identical one exists (force posts all)."""
    repeat = params["repeat"]
    clusters = [_repeat_posts(posts, number, repeat) for number in range(1, repeat + 1)]
    if client.check_mode:
        unverified = verify_write_access(target, "cloning %s to %s (POST jobs)"
                                         % (id_list(sorted(posts)), target.base_url))
        existing = [{} if params["force"] else _existing_clones(target, cluster) for cluster in clusters]
        todo = [cluster for cluster, found in zip(clusters, existing, strict=True) if source_id not in found]
        shown = [_as_shown(client, c) for c in todo]
        returns = dict(_shape(source_id, {job_id: None for job_id in posts}), settings=shown,
                       command=clone_job_command(client, target, source_id, params),
                       export_command=[_export_command(target, {int(k): v for k, v in c.items()}) for c in shown])
        return Result(returns=returns, changed=bool(todo), warnings=unverified, message="would clone %s %d times to %s"
                      % (id_list(sorted(posts)), len(todo), target.base_url))
    repeats: t.List[dict] = []
    warnings = _missing_warning(missing)
    posted = 0
    for number, cluster in enumerate(clusters, 1):
        try:
            found = {} if params["force"] else _existing_clones(target, cluster)
            if source_id in found:
                ids = found
            else:
                ids, lost = _post_clones(target, cluster, source_id, params["force"])
                warnings += lost
                posted += 1
        except OpenQAError as error:
            if not repeats:
                raise
            # the clones made so far stand: say so, and which repeat failed
            done = Result(returns=dict(repeats[0], repeats=repeats), changed=bool(posted), warnings=warnings,
                          message="cloned job %d %d of %d times" % (source_id, len(repeats), repeat))
            return failed_after(done, "clone %d of %d" % (number, repeat), error)
        repeats.append(_shape(source_id, ids))
    result = Result(returns=dict(repeats[0], repeats=repeats), changed=bool(posted), warnings=warnings,
                    message="cloned job %d %d times (%d already existed)" % (source_id, repeat, repeat - posted))
    return then_wait(target, params, result, sorted(i for r in repeats for i in r["ids"]),
                     lambda waited: dict(result.returns, results=waited))


# Settings that name an asset, by asset type (openQA's asset_type_from_setting); repo assets are
# directories and are not checked, as openqa-clone-job does not download them.
_ASSET_SETTINGS = ((re.compile(r"^ISO(_\d+)?$"), "iso"), (re.compile(r"^HDD_\d+$"), "hdd"),
                   (re.compile(r"^UEFI_PFLASH_VARS$"), "hdd"), (re.compile(r"^(ASSET_\d+|KERNEL|INITRD)$"), "other"))
_PUBLISHING = re.compile(r"^(PUBLISH_HDD_\d+|STORE_HDD_\d+|PUBLISH_PFLASH_VARS)$")


def _missing_assets(target: Client, posts: t.Mapping[int, dict]) -> t.List[str]:
    """type/name of the assets the clones need that the target does not have; assets a cloned parent
    creates (PUBLISH_HDD_1, ...) are not needed beforehand. One GET per asset."""
    published = {value for settings in posts.values() for key, value in settings.items() if _PUBLISHING.match(key)}
    needed = set()
    for settings in posts.values():
        for key, value in settings.items():
            kind = next((kind for pattern, kind in _ASSET_SETTINGS if pattern.match(key)), None)
            if kind and value and "/" not in str(value) and value not in published:
                needed.add("%s/%s" % (kind, value))
    missing = []
    for asset in sorted(needed):
        response = target.send("GET", "/assets/" + "/".join(quote(part) for part in asset.split("/")), stream=True)
        response.close()
        if response.status_code == 404:
            missing.append(asset)
    return missing


def _missing_warning(missing: t.List[str]) -> t.List[str]:
    return ["cloned without the missing assets %s (ignore_missing_assets): the clones will fail unless they "
            "appear" % ", ".join(missing)] if missing else []


def _export_command(target: Client, posts: t.Mapping[int, dict]) -> str:
    """The request as openqa-clone-job --export-command prints it: an openqa-cli api call."""
    return "openqa-cli api --host %s -X POST jobs %s is_clone_job=1" % (
        shlex.quote(target.base_url), " ".join(shlex.quote("%s=%s" % pair) for pair in _form(posts)))


def clone_job_command(client: Client, target: Client, source_id: int, params: t.Mapping[str, t.Any]) -> str:
    """The openqa-clone-job command line that does what these options do, for a person to compare."""
    if target is client:
        argv = ["openqa-clone-job", "--within-instance", client.base_url]
    else:
        argv = ["openqa-clone-job", "--from", client.base_url, "--host", target.base_url, "--skip-download"]
    for name in ("skip_deps", "skip_chained_deps", "clone_children", "parental_inheritance", "ignore_missing_assets"):
        if params.get(name):
            argv.append("--" + name.replace("_", "-"))
    if params.get("max_depth") is not None and params["max_depth"] != 1:
        argv += ["--max-depth", str(params["max_depth"])]
    if (params.get("repeat") or 1) > 1:
        argv += ["--repeat", str(params["repeat"])]
    argv.append(str(source_id))
    argv += ["%s=%s" % pair for pair in params.get("vars") or []]
    return " ".join(shlex.quote(arg) for arg in argv)


def _clones_after_failed_post(target: Client, posts: t.Mapping[int, dict], source_id: int, force: bool,
                              error: Exception) -> t.Tuple[t.Dict[int, int], t.List[str]]:
    """The POST may have reached openQA: read what it made instead of cloning twice.

    Without force no identical clone existed before the POST, so one found now is its work;
    with force an older identical clone may exist and the new one cannot be told apart.
    """
    found = {} if force else _existing_clones(target, posts)
    if source_id not in found:
        raise error
    return (found,
            ["the answer to POST jobs was lost (%s); openQA shows the clone %d, so it was made once"
             % (error, found[source_id])])


# KEY, KEY:TESTNAME (only the job whose TEST is TESTNAME), each optionally with + (append), as
# openqa-clone-job accepts them.
_TEST_NAME = r"[\w *.,:/#@]"  # openQA's TEST_NAME_ALLOWED_CHARS; + and - only inside a name
_SETTING_KEY = re.compile(r"^([A-Z0-9_]+)(?::(%s+(?:[\w *.,:/#@+-]+%s)?))?(\+)?$" % (_TEST_NAME, _TEST_NAME))
# Overrides that reach every cloned job, parents too (openqa-clone-job's GLOBAL_SETTINGS).
GLOBAL_SETTINGS = frozenset({"WORKER_CLASS", "_GROUP", "_GROUP_ID"})
# Setting one of these replaces the other (openqa-clone-job's JOB_SETTING_OVERRIDES).
EXCLUSIVE_SETTINGS = {"_GROUP": "_GROUP_ID", "_GROUP_ID": "_GROUP"}


class _Override(t.NamedTuple):
    key: str
    scope: t.Optional[str]
    append: bool
    value: str


def _clone_overrides(pairs: t.Sequence[t.Tuple[str, str]]) -> t.List[_Override]:
    seen: t.Dict[t.Tuple[str, t.Optional[str], bool], str] = {}
    overrides = []
    for raw_key, value in pairs:
        match = _SETTING_KEY.match(raw_key)
        if not match:
            raise InvalidInputError("vars %s=%s: a job setting name is upper case letters, digits and _, "
                                    "optionally :TESTNAME to set it only on that job of the cluster "
                                    "(KEY+=VALUE appends)" % (raw_key, value))
        override = _Override(match.group(1), match.group(2), bool(match.group(3)), value)
        identity = override[:3]
        if identity in seen and seen[identity] != value:
            raise AmbiguousError("ambiguous options: vars sets %s twice (%r and %r)" % (raw_key, seen[identity], value))
        if any(key == EXCLUSIVE_SETTINGS.get(override.key) and scope == override.scope for key, scope, _append in seen):
            raise AmbiguousError("ambiguous options: vars sets both _GROUP and _GROUP_ID; give one")
        seen[identity] = value
        overrides.append(override)
    return overrides


def _destination(client: Client, to: t.Any) -> t.Any:
    """The client for --to: same settings, the destination's own credentials (runner.resolve_destination)."""
    if not to or to.url == client.base_url:
        return client
    if not to.api_key:
        # cloning needs an operator's key there; fail before any request rather than post anonymously
        raise AuthError("no credentials for the destination %s: give to_api_key and to_api_secret or a [%s] section "
                        "in client.conf (OPENQA_API_KEY/OPENQA_API_SECRET go to --to only when OPENQA_HOST names it)"
                        % (display_url(to.url), urlsplit(to.url).netloc.rsplit("@", 1)[-1]))
    return client.for_host(to.url, to.api_key, to.api_secret)


def _as_shown(client: Client, posts: t.Mapping[int, dict]) -> t.Dict[str, dict]:
    """The settings to post, with every value openQA would show as [redacted] redacted (check mode prints them).

    Besides the names openQA redacts (_SECRET_*, *_PASSWORD), a server may hide more (its own rule): what it
    shows as [redacted] in a plain read is redacted here too.
    """
    shown = {id_of(job): job.get("settings") or {} for job in jobs_in(client.get("jobs", {"ids": sorted(posts)}))}
    return {str(job_id): {key: REDACTED if _SECRET_SETTING.search(key) or shown.get(job_id, {}).get(key) == REDACTED
                          else value for key, value in settings.items()}
            for job_id, settings in posts.items()}


class _Walk(t.NamedTuple):
    """Which relatives are cloned, as openqa-clone-job's --skip-deps, --clone-children, --skip-chained-deps and
    --max-depth (levels of children; 0 is unlimited)."""

    skip_deps: bool
    clone_children: bool
    skip_chained_deps: bool
    max_depth: int

    @property
    def dependency_kinds(self) -> t.Tuple[str, ...]:
        if self.skip_deps:
            return ()
        return ("Parallel",) if self.skip_chained_deps else DEPENDENCY_TYPES


def _read_cluster(client: Client, source_id: int, walk: _Walk) -> t.Dict[int, t.Tuple[dict, int]]:
    """The job and the relatives openqa-clone-job clones: {id: (job, depth)}.

    Parents of every type, recursively (unless skip_deps; only parallel ones with skip_chained_deps);
    children only parallel ones, or all with clone_children, max_depth levels deep. Depth 1 is the
    job, parents count up from it and children count down from 0 (so KEY=VALUE applies to the job
    and its children, not its parents).
    One request per job: only ``GET jobs/N?unredacted=1`` returns secret settings unredacted (to
    operators; the job listing redacts them), as openqa-clone-job reads them.
    """
    try:
        source = _read_unredacted(client, source_id)
    except NotFoundError:
        raise unknown_jobs_error(client, [source_id]) from None
    cluster = {source_id: (source, 1)}
    wanted = _relatives(source, 1, walk)
    while wanted:
        wanted = {job_id: depth for job_id, depth in wanted.items() if job_id not in cluster}
        if not wanted:
            break
        following: t.Dict[int, int] = {}
        for job_id, depth in sorted(wanted.items()):
            try:
                job = _read_unredacted(client, job_id)
            except NotFoundError:
                raise ServerError("job %d's relative %d vanished while cloning; try again"
                                  % (source_id, job_id)) from None
            cluster[job_id] = (job, depth)
            following.update(_relatives(job, depth, walk))
        wanted = following
    return cluster


def _read_unredacted(client: Client, job_id: int) -> dict:
    """The job with its real settings; a clone of ``[redacted]`` would run with that literal text."""
    job = client.get("jobs/%d" % job_id, {"unredacted": 1})["job"]
    hidden = sorted(key for key, value in (job.get("settings") or {}).items() if value == REDACTED)
    if hidden:
        raise AuthError("not cloned: openQA shows job %d's settings %s only as %s to this API key; cloning needs "
                        "an API key with operator rights, which reads their real values"
                        % (job_id, ", ".join(hidden), REDACTED))
    return job


def _relatives(job: dict, depth: int, walk: _Walk) -> t.Dict[int, int]:
    if walk.skip_deps:
        return {}
    kinds = walk.dependency_kinds
    parents = job.get("parents") or {}
    relatives = {int(i): depth + 1 for kind in kinds for i in parents.get(kind) or []}
    level = depth if depth >= 1 else 2 - depth  # the job is level 1, its children 2, theirs 3, ...
    if walk.max_depth == 0 or level <= walk.max_depth:
        child_kinds = kinds if walk.clone_children else ("Parallel",)
        child_depth = 0 if depth >= 1 else depth - 1
        relatives.update({int(i): child_depth for kind in child_kinds
                          for i in (job.get("children") or {}).get(kind) or []})
    return relatives


def _clone_settings(client: Client, job: dict, depth: int, overrides: t.Sequence[_Override],
                    parental_inheritance: bool = False, kinds: t.Sequence[str] = DEPENDENCY_TYPES) -> dict:
    settings = {k: v for k, v in (job.get("settings") or {}).items() if k != "NAME"}
    parents = job.get("parents") or {}
    for kind, key in (("Parallel", "_PARALLEL"), ("Chained", "_START_AFTER"),
                      ("Directly chained", "_START_DIRECTLY_AFTER")):
        if parents.get(kind) and kind in kinds:  # as openqa-clone-job: no link to a parent it does not clone
            settings[key] = ",".join(str(i) for i in parents[kind])
    settings["CLONED_FROM"] = "%s/tests/%d" % (client.base_url, int(job["id"]))
    if job.get("group_id"):
        settings["_GROUP_ID"] = str(job["group_id"])
    for key, scope, append, value in overrides:
        if scope is not None:
            if settings.get("TEST") != scope:
                continue
        elif depth > 1 and key not in GLOBAL_SETTINGS and not parental_inheritance:
            continue
        if value == "":
            settings.pop(key, None)
            continue
        settings[key] = (settings.get(key, "") + value) if append else value
        settings.pop(EXCLUSIVE_SETTINGS.get(key, ""), None)
    return settings


def _existing_clones(target: Client, posts: t.Mapping[int, dict]) -> t.Dict[int, int]:
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
