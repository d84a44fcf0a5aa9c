# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to this collection: no API promise, it may change in any release.
"""A job's artifacts on disk (``test download``), laid out like ``openqa-cli archive``'s:
``DEST/testresults/`` (logs, details-MODULE.json, screenshots, text results), ``DEST/testresults/ulogs/``
and ``DEST/<asset type>/``.

Files stream to ``NAME.part`` and are renamed when complete, so memory stays flat and an
interrupted run leaves no half file under a final name. A second run asks each file from
one byte before its local end: the answer's total size tells whether the file is complete
(nothing more is read) and the overlapping byte that the local copy still matches; a
partial file is continued from where it stopped. Every name the server sends must stay a
plain file name below DEST: the plan is checked before anything is written.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import time
import typing as t
from urllib.parse import quote, urljoin, urlsplit

from ansible_collections.openqa.client.plugins.module_utils.envelope import (
    InvalidInputError,
    NotFoundError,
    Result,
    ServerError,
)
from ansible_collections.openqa.client.plugins.module_utils._job_reads import one_id, unknown_jobs_error

if t.TYPE_CHECKING:
    from ansible_collections.openqa.client.plugins.module_utils.client import Client

WHAT = ("logs", "results", "assets")
DEFAULT_WHAT = ("logs", "results")
DEFAULT_ASSET_LIMIT = "200M"  # openqa-cli archive's default
CHUNK = 1024 * 1024
# openQA sends an asset from /tests/N/asset/... on to /assets/...: a few hops, on the same server only
MAX_HOPS = 3
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")
_PROGRESS_EVERY = 1.0


def parse_size(text: t.Any, name: str = "asset_size_limit") -> int:
    """``1G``, ``200M``, ``512k``, ``1GiB``, ``1024`` -> bytes (powers of 1024, as openqa-cli)."""
    match = _SIZE.match(str(text)) if not isinstance(text, bool) else None
    if not match:
        raise InvalidInputError("%s %r is not a size: use a number with an optional unit K, M, G or T "
                                "(e.g. 200M, 1G)" % (name, text))
    return int(float(match.group(1)) * 1024 ** " kmgt".index(match.group(2).lower() or " "))


def safe_target(dest: str, *parts: str) -> str:
    """DEST/parts..., refusing any part that is not a plain file name or a path that leaves DEST
    (through .., an absolute name or a symbolic link already there)."""
    for part in parts:
        if not part or part in (".", "..") or "/" in part or "\\" in part or "\0" in part:
            raise ServerError("the server named a file %r that is not a plain file name; refused, nothing "
                              "was downloaded" % "/".join(parts))
    target = os.path.join(dest, *parts)
    root = os.path.realpath(dest)
    if not os.path.realpath(target).startswith(root + os.sep):
        raise ServerError("the file %r would land outside %s; refused, nothing was downloaded"
                          % ("/".join(parts), dest))
    return target


class _Plan(t.NamedTuple):
    kind: str  # "fetch" a URL path or "write" content
    target: str
    source: str = ""
    content: bytes = b""
    limit: t.Optional[int] = None


def plan(job: dict, dest: str, what: t.Sequence[str], asset_limit: int) -> t.List[_Plan]:
    job_id = job["id"]
    items = []
    if "logs" in what:
        for name in job.get("logs") or []:
            items.append(_Plan("fetch", safe_target(dest, "testresults", name), _file_path(job_id, name)))
        for name in job.get("ulogs") or []:
            items.append(_Plan("fetch", safe_target(dest, "testresults", "ulogs", name), _file_path(job_id, name)))
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
            for name in names:
                items.append(_Plan("fetch", safe_target(dest, kind, name),
                                   "/tests/%d/asset/%s/%s" % (job_id, quote(kind), quote(name)), limit=asset_limit))
    return items


def _file_path(job_id: int, name: str) -> str:
    return "/tests/%d/file/%s" % (job_id, quote(name))


def _write(item: _Plan, check_mode: bool) -> str:
    try:
        with open(item.target, "rb") as handle:
            if handle.read(len(item.content) + 1) == item.content:
                return "unchanged"
    except FileNotFoundError:
        pass
    if not check_mode:
        os.makedirs(os.path.dirname(item.target), exist_ok=True)
        with open(item.target + ".part", "wb") as handle:
            handle.write(item.content)
        os.replace(item.target + ".part", item.target)
    return "written"


class _Fetcher:
    """Streams one file to disk, resuming and retrying a broken transfer within the client's retries."""

    def __init__(self, client: Client, check_mode: bool) -> None:
        self.client = client
        self.check_mode = check_mode

    def fetch(self, item: _Plan) -> t.Tuple[str, int]:
        part = item.target + ".part"
        resumed = False
        for attempt in range(self.client.retries + 1):
            source = item.target if os.path.exists(item.target) else part if os.path.exists(part) else None
            local = os.path.getsize(source) if source else 0
            headers = {"Range": "bytes=%d-" % (local - 1)} if local else {}
            response = self._send_following(item.source, headers)
            try:
                outcome = self._receive(response, item, source, local)
            except _Broken as broken:
                resumed = True
                if attempt == self.client.retries:
                    raise ServerError("GET %s: the transfer broke off %d times (%s); run again to resume from "
                                      "%s" % (item.source, attempt + 1, broken, part)) from None
                continue
            finally:
                response.close()
            if outcome[0] == "downloaded" and (resumed or source == part):
                return "resumed", outcome[1]
            return outcome
        raise AssertionError("unreachable")

    def _send_following(self, source: str, headers: t.Mapping[str, str]) -> t.Any:
        """The answer for a file route, following openQA's redirects within the same server: the client
        follows none (a signed API call must not go elsewhere), but a file route needs no signature."""
        base = urlsplit(self.client.base_url)
        for _hop in range(MAX_HOPS + 1):
            response = self.client.send("GET", source, headers=headers, stream=True)
            if not 300 <= response.status_code < 400:
                return response
            location = urlsplit(urljoin(self.client.url(source), response.headers.get("Location") or ""))
            response.close()
            if (location.scheme, location.netloc) != (base.scheme, base.netloc) or \
                    not location.path.startswith(base.path):
                raise ServerError("GET %s: the server sends it on to another host (%s://%s); not followed"
                                  % (source, location.scheme, location.netloc))
            source = location.path[len(base.path):] + ("?" + location.query if location.query else "")
        raise ServerError("GET %s: more than %d redirects" % (source, MAX_HOPS))

    def _receive(self, response: t.Any, item: _Plan, source: t.Optional[str], local: int) -> t.Tuple[str, int]:
        part = item.target + ".part"
        if response.status_code == 416:  # the local copy is longer than the server's file: start over
            self._discard(source)
            raise _Broken("the local copy was longer than the server's file")
        if response.status_code == 404:
            raise NotFoundError("GET %s: not found" % item.source)
        if not response.ok:
            self.client.decode(response, "GET", item.source)
        chunks = response.iter_content(CHUNK)
        total = _total(response)
        if item.limit is not None and total is not None and total > item.limit:
            return "too large", total
        if response.status_code == 206:
            try:
                first = next((chunk for chunk in chunks if chunk), b"")
            except _transfer_errors() as exc:
                raise _Broken(type(exc).__name__) from None
            overlap, chunks = first[:1], itertools.chain([first[1:]], chunks)
            if total is None or not _same_last_byte(source, local, overlap):
                self._discard(source)  # the server's file is not the one we have part of
                raise _Broken("the server's file changed")
            if total == local and source == item.target:
                return "unchanged", total
            if self.check_mode:
                return "downloaded", total
            if source == item.target:
                os.replace(item.target, part)
            mode, done = "ab", local
        else:  # 200: the whole file (a server that ignores ranges, or the first request)
            if self.check_mode:
                return "downloaded", total or 0
            mode, done = "wb", 0
        os.makedirs(os.path.dirname(item.target), exist_ok=True)
        try:
            done = self._stream(chunks, part, mode, done, total, item)
        except _TooLarge as large:
            os.remove(part)
            return "too large", large.args[0]
        if total is not None and done != total:
            raise _Broken("got %d of %d bytes" % (done, total))
        os.replace(part, item.target)
        return "downloaded", done

    def _stream(self, chunks: t.Iterator[bytes], part: str, mode: str, done: int, total: t.Optional[int],
                item: _Plan) -> int:
        name = os.path.basename(item.target)
        shown = time.monotonic()
        with open(part, mode) as handle:
            try:
                for chunk in chunks:
                    handle.write(chunk)
                    done += len(chunk)
                    if item.limit is not None and done > item.limit:
                        raise _TooLarge(done)
                    if time.monotonic() - shown >= _PROGRESS_EVERY:
                        shown = time.monotonic()
                        self.client.progress(_progress_line(name, done, total))
            except _transfer_errors() as exc:
                raise _Broken(type(exc).__name__) from None
        return done

    @staticmethod
    def _discard(source: t.Optional[str]) -> None:
        if source and os.path.exists(source):
            os.remove(source)


class _Broken(Exception):
    """A transfer that stopped early: resumed from the .part file."""


class _TooLarge(Exception):
    """An asset without an announced size that grew past the limit while streaming."""


def _transfer_errors() -> tuple:
    # imported when a download runs, not when the module loads: openqa-ctl test --help needs no requests
    try:
        import requests
    except ImportError:  # the client reports the missing library before any download
        return ()
    return (requests.exceptions.RequestException,)


def _total(response: t.Any) -> t.Optional[int]:
    if response.status_code == 206:
        match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
        return int(match.group(3)) if match else None
    length = response.headers.get("Content-Length")
    return int(length) if length and length.isdigit() else None


def _same_last_byte(source: t.Optional[str], local: int, overlap: bytes) -> bool:
    if not source or not overlap:
        return False
    with open(source, "rb") as handle:
        handle.seek(local - 1)
        return handle.read(1) == overlap


def _progress_line(name: str, done: int, total: t.Optional[int]) -> str:
    if total:
        return "downloading %s: %.1f of %.1f MB (%d%%)" % (name, done / 1e6, total / 1e6, done * 100 // total)
    return "downloading %s: %.1f MB" % (name, done / 1e6)


def fetch_job_file(client: Client, job_id: int, name: str, target: str, limit: t.Optional[int]) -> t.Tuple[str, int]:
    """One file of the job's results (``/tests/N/file/NAME``) streamed to ``target`` as download fetches files:
    ``("downloaded", bytes)``, or ``("too large", bytes)`` with nothing kept when it exceeds ``limit``; a file
    the job does not have is NotFoundError. For verbs that read a log (test label)."""
    return _Fetcher(client, check_mode=False).fetch(_Plan("fetch", target, _file_path(job_id, name), limit=limit))


def download(client: Client, params: dict) -> Result:
    """A job's logs, results and (optionally) assets into DEST; files already complete are not fetched again."""
    job_id = one_id(params, "download")
    dest = os.path.abspath(os.path.expanduser(params["dest"]))
    what = params["what"] or list(DEFAULT_WHAT)
    limit = parse_size(params["asset_size_limit"] or DEFAULT_ASSET_LIMIT)
    try:
        job = client.get("jobs/%d/details" % job_id)["job"]
    except NotFoundError:
        raise unknown_jobs_error(client, [job_id]) from None
    items = plan(job, dest, what, limit)
    check_mode = client.check_mode
    fetcher = _Fetcher(client, check_mode)
    files: list = []
    skipped: list = []
    warnings: list = []
    try:
        if not check_mode:
            os.makedirs(dest, exist_ok=True)
        for item in items:
            path = os.path.relpath(item.target, dest)
            try:
                outcome, size = fetcher.fetch(item) if item.kind == "fetch" else (
                    _write(item, check_mode), len(item.content))
            except NotFoundError:
                warnings.append("%s is listed by the server but it has no such file: skipped" % path)
                skipped.append({"path": path, "reason": "not found"})
                continue
            if outcome == "too large":
                warnings.append("%s (%d bytes) is larger than asset_size_limit %d: skipped" % (path, size, limit))
                skipped.append({"path": path, "reason": "too large", "bytes": size})
                continue
            files.append({"path": path, "bytes": size, "outcome": outcome})
    except OSError as exc:
        raise InvalidInputError("cannot write below dest %s: %s" % (dest, exc.strerror or exc)) from None
    fetched = [f for f in files if f["outcome"] != "unchanged"]
    verb = "would fetch or write" if check_mode else "fetched or wrote"
    message = "job %d: %s %d of %d files in %s" % (job_id, verb, len(fetched), len(files), dest)
    return Result(returns={"dest": dest, "files": files, "skipped": skipped}, changed=bool(fetched),
                  message=message, warnings=warnings)
