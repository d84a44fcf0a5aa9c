# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to this collection: no API promise, it may change in any release.
"""A job's artifacts on disk (``test download``), laid out like ``openqa-cli archive``'s:
``DEST/testresults/`` (logs, details-MODULE.json, screenshots, text results), ``DEST/testresults/ulogs/``
and ``DEST/<asset type>/``.

Each file comes through ``_fetch`` (streamed to a fresh ``NAME.part``, resumed, bounded by the
size cap and the deadline, never written through a link) or, for what the details answer holds,
is written the same way. Every name the server sends must stay a plain file name below DEST, and
no two files may land on one path: the plan is checked before anything is written.
"""

from __future__ import annotations

import json
import os
import re
import typing as t
from urllib.parse import quote

from ansible_collections.openqa.client.plugins.module_utils.envelope import (
    InvalidInputError,
    NotFoundError,
    OpenQAError,
    Result,
    ServerError,
    failed_after,
)
from ansible_collections.openqa.client.plugins.module_utils._fetch import PART, Fetcher, Wanted, create_fresh, \
    file_path, open_regular
from ansible_collections.openqa.client.plugins.module_utils._job_reads import one_id, unknown_jobs_error

if t.TYPE_CHECKING:
    from ansible_collections.openqa.client.plugins.module_utils.client import Client

WHAT = ("logs", "results", "assets")
DEFAULT_WHAT = ("logs", "results")
DEFAULT_ASSET_LIMIT = "200M"  # openqa-cli archive's default
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def parse_size(text: t.Any, name: str = "asset_size_limit") -> int:
    """``1G``, ``200M``, ``512k``, ``1GiB``, ``1024`` -> bytes (powers of 1024, as openqa-cli)."""
    match = _SIZE.match(str(text)) if not isinstance(text, bool) else None
    if not match:
        raise InvalidInputError("%s %r is not a size: use a number with an optional unit K, M, G or T "
                                "(e.g. 200M, 1G)" % (name, text))
    return int(float(match.group(1)) * 1024 ** " kmgt".index(match.group(2).lower() or " "))


def safe_target(dest: str, *parts: str) -> str:
    """DEST/parts..., refusing any part that is not a plain file name (control characters included) or a
    path that leaves DEST (through .., an absolute name or a directory that is a symbolic link out of DEST)."""
    for part in parts:
        if not isinstance(part, str) or not part or part in (".", "..") or "/" in part or "\\" in part \
                or _CONTROL.search(part):
            raise ServerError("the server named a file %r that is not a plain file name; refused, nothing "
                              "was downloaded" % "/".join(map(str, parts)))
    target = os.path.join(dest, *parts)
    root = os.path.realpath(dest)
    # the directory: a link as the file itself is replaced, never followed
    if not (os.path.realpath(os.path.dirname(target)) + os.sep).startswith(root + os.sep):
        raise ServerError("the file %r would land outside %s; refused, nothing was downloaded"
                          % ("/".join(parts), dest))
    return target


class _Plan(t.NamedTuple):
    kind: str  # "fetch" a URL path or "write" content
    target: str
    source: str = ""
    content: bytes = b""
    limit: t.Optional[int] = None  # bytes; None: the client's answer cap (max_answer_mb)


def plan(job: dict, dest: str, what: t.Sequence[str], asset_limit: int) -> t.List[_Plan]:
    job_id = job["id"]
    items = []
    if "logs" in what:
        for name in job.get("logs") or []:
            items.append(_Plan("fetch", safe_target(dest, "testresults", name), file_path(job_id, name)))
        for name in job.get("ulogs") or []:
            items.append(_Plan("fetch", safe_target(dest, "testresults", "ulogs", name), file_path(job_id, name)))
    if "results" in what:
        for module in job.get("testresults") or []:
            content = json.dumps(module, sort_keys=True, indent=1).encode("utf-8")
            items.append(_Plan("write", safe_target(dest, "testresults", "details-%s.json" % module["name"]),
                               content=content))
            for step in module.get("details") or []:
                if step.get("screenshot"):  # the job's own image route, in openQA 4.6 as in later ones
                    items.append(_Plan("fetch", safe_target(dest, "testresults", step["screenshot"]),
                                       "/tests/%d/images/%s" % (job_id, quote(step["screenshot"]))))
                elif step.get("text"):
                    text = step.get("text_data")
                    items.append(_Plan("write", safe_target(dest, "testresults", step["text"]),
                                       content=("No data\n" if text is None else text).encode("utf-8")))
    if "assets" in what:
        for kind, names in sorted((job.get("assets") or {}).items()):
            if kind == "repo":  # a directory tree, which openqa-cli archive leaves out too
                continue
            if kind == "testresults":  # the logs' directory: its files would overwrite the logs
                raise ServerError("the server lists assets of the type 'testresults', the directory of the "
                                  "job's logs; refused, nothing was downloaded")
            for name in names:
                items.append(_Plan("fetch", safe_target(dest, kind, name),
                                   "/tests/%d/asset/%s/%s" % (job_id, quote(kind), quote(name)), limit=asset_limit))
    _refuse_overlaps(items, dest)
    return items


def _refuse_overlaps(items: t.List[_Plan], dest: str) -> None:
    """No two files on one path, none on another's partial file or directory: one would destroy the other
    (a file listed twice alike is fetched once)."""
    unique = list(dict.fromkeys(items))
    parents = {os.path.dirname(item.target) for item in unique}
    parents |= {os.path.dirname(path) for path in parents}  # DEST/testresults/ulogs/NAME is the deepest
    seen: t.Set[str] = set()
    for item in unique:
        for path in (item.target, item.target + PART):
            if path in seen or path in parents:
                raise ServerError("the server names two files that land on %s; refused, nothing was "
                                  "downloaded" % os.path.relpath(path, dest))
            seen.add(path)
    items[:] = unique


def _write(item: _Plan, check_mode: bool) -> str:
    local = open_regular(item.target)
    if local is not None:
        with local:
            if local.read(len(item.content) + 1) == item.content:
                return "unchanged"
    if not check_mode:
        os.makedirs(os.path.dirname(item.target), exist_ok=True)
        with create_fresh(item.target + PART) as handle:
            handle.write(item.content)
        os.replace(item.target + PART, item.target)
    return "written"


def _details(client: Client, job_id: int) -> dict:
    """The job's details; an answer about another job (or none) is refused: its file names would be another's."""
    try:
        answer = client.get("jobs/%d/details" % job_id)
    except NotFoundError:
        raise unknown_jobs_error(client, [job_id]) from None
    job = answer.get("job") if isinstance(answer, dict) else None
    if not isinstance(job, dict) or job.get("id") != job_id:
        raise ServerError("GET jobs/%d/details: the answer is not about job %d (it names %r); refused, nothing "
                          "was downloaded" % (job_id, job_id, job.get("id") if isinstance(job, dict) else job))
    return job


def fetch_job_file(client: Client, job_id: int, name: str, target: str, limit: t.Optional[int]) -> t.Tuple[str, int]:
    """One file of the job's results (``/tests/N/file/NAME``) streamed to ``target`` as download fetches files:
    ``("downloaded", bytes)``, or ``("too large", bytes)`` with nothing kept when it exceeds ``limit``; a file
    the job does not have is NotFoundError. For verbs that read a log (test label). ``limit`` None is the
    answer cap (max_answer_mb); the deadline bounds the file as any answer."""
    return Fetcher(client, check_mode=False).fetch(Wanted(file_path(job_id, name), target, limit))


def download(client: Client, params: dict) -> Result:
    """A job's logs, results and (optionally) assets into DEST; files already complete are not fetched again."""
    job_id = one_id(params, "download")
    dest = os.path.abspath(os.path.expanduser(params["dest"]))
    what = params["what"] or list(DEFAULT_WHAT)
    limit = parse_size(params["asset_size_limit"] or DEFAULT_ASSET_LIMIT)
    job = _details(client, job_id)
    try:
        items = plan(job, dest, what, limit)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ServerError("GET jobs/%d/details: the answer lists its files in an odd shape (%s: %s); refused, "
                          "nothing was downloaded" % (job_id, type(exc).__name__, exc)) from None
    check_mode = client.check_mode
    fetcher = Fetcher(client, check_mode)
    files: list = []
    skipped: list = []
    warnings: list = []
    path = dest
    try:
        if not check_mode:
            os.makedirs(dest, exist_ok=True)
        for item in items:
            path = os.path.relpath(item.target, dest)
            try:
                if item.kind == "fetch":
                    outcome, size = fetcher.fetch(Wanted(item.source, item.target, item.limit))
                else:
                    outcome, size = _write(item, check_mode), len(item.content)
            except NotFoundError:
                warnings.append("%s is listed by the server but it has no such file: skipped" % path)
                skipped.append({"path": path, "reason": "not found"})
                continue
            if outcome == "too large":
                bound = "asset_size_limit %d" % limit if item.limit is not None else \
                    "max_answer_mb %d (raise it if the server is right to send that much)" % client.max_answer_mb
                warnings.append("%s (%s bytes) is larger than %s: skipped" % (path, size, bound))
                skipped.append({"path": path, "reason": "too large", "bytes": size})
                continue
            files.append({"path": path, "bytes": size, "outcome": outcome})
    except OSError as exc:
        error: OpenQAError = InvalidInputError("cannot write below dest %s: %s" % (dest, exc.strerror or exc))
    except OpenQAError as exc:
        error = exc
    else:
        return _summary(job_id, dest, files, skipped, warnings, check_mode)
    done = _summary(job_id, dest, files, skipped, warnings, check_mode)
    if not done.changed:
        raise error from None
    return failed_after(done, "fetching %s" % path, error)


def _summary(job_id: int, dest: str, files: list, skipped: list, warnings: list, check_mode: bool) -> Result:
    fetched = [f for f in files if f["outcome"] != "unchanged"]
    verb = "would fetch or write" if check_mode else "fetched or wrote"
    message = "job %d: %s %d of %d files in %s" % (job_id, verb, len(fetched), len(files), dest)
    return Result(returns={"dest": dest, "files": files, "skipped": skipped}, changed=bool(fetched),
                  message=message, warnings=warnings)
