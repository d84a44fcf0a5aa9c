# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to this collection: no API promise, it may change in any release.
"""One file of a job's results, bounded and never written through a link: ``Fetcher`` streams it to disk
(``test download``, and ``test label`` through ``_download.fetch_job_file``).

A file streams to ``NAME.part`` and is renamed when complete, so memory stays flat and an interrupted
run leaves no half file under a final name. ``NAME.part`` is always a fresh file, created exclusively
and never through a link (a resumed file starts with a copy of the local bytes): nothing planted where
the files go, such as a link out of DEST, is ever written through, and check mode touches nothing. A
second run asks the file from one byte before its local end: the answer's total size tells whether the
file is complete (nothing more is read) and the overlapping byte whether the local copy is still a start
of the server's file; a partial file is continued from where it stopped. Every body is bounded like an
API answer, by the client's ``receive``: a size cap (max_answer_mb unless the caller gives one, as
asset_size_limit for assets) and the deadline, for the file with all its requests and resumptions.
"""

from __future__ import annotations

import os
import re
import stat
import time
import typing as t
from urllib.parse import parse_qsl, quote, urljoin, urlsplit

from ansible_collections.openqa.client.plugins.module_utils.envelope import NotFoundError, ServerError

if t.TYPE_CHECKING:
    from ansible_collections.openqa.client.plugins.module_utils.client import AnswerTooLarge, Client

COPY_CHUNK = 1024 * 1024
PART = ".part"
# openQA sends an asset from /tests/N/asset/... on to /assets/...: a few hops, on the same server only
MAX_HOPS = 3
_CONTENT_RANGE = re.compile(r"^bytes (?:\d+-\d+|\*)/(\d+)$")
_PROGRESS_EVERY = 1.0
# O_NOFOLLOW: a link is never opened, for reading or writing (0 where the platform lacks it)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class Wanted(t.NamedTuple):
    """One file to fetch: its route, where it goes, and its size cap in bytes (None: max_answer_mb)."""

    source: str
    target: str
    limit: t.Optional[int] = None


def file_path(job_id: int, name: str) -> str:
    """The route of one of a job's result files."""
    return "/tests/%d/file/%s" % (job_id, quote(name))


def open_regular(path: str) -> t.Optional[t.BinaryIO]:
    """The file at ``path`` for reading if it is a regular file, not through a link; None otherwise."""
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | os.O_NONBLOCK)  # NONBLOCK: a FIFO does not hang the open
    except OSError:  # missing, a link (ELOOP), unreadable: not a local copy
        return None
    handle = os.fdopen(fd, "rb")
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        handle.close()
        return None
    return handle


def create_fresh(path: str) -> t.BinaryIO:
    """A new empty file at ``path``: whatever was there (a stale part, a planted link) is unlinked, never
    opened, and the exclusive create fails rather than follow a link put there meanwhile."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o644), "wb")


class _Mismatch(Exception):
    """The local copy is not a start of the server's file (it is longer, or its last byte differs)."""


class _Broken(Exception):
    """A transfer that stopped early: resumed from the .part file."""


class _Enough(Exception):
    """Check mode has read the one byte that decides."""


class _Local(t.NamedTuple):
    path: str
    handle: t.BinaryIO
    size: int


class _PartFile:
    """The sink of one answer: a fresh NAME.part, begun with the local copy's bytes when the answer
    continues it. The first byte of a continuing answer is the local copy's last one, and must match."""

    def __init__(self, client: Client, item: Wanted, local: t.Optional[_Local], total: t.Optional[int],
                 check_mode: bool) -> None:
        self.client, self.item, self.local, self.total, self.check_mode = client, item, local, total, check_mode
        self.overlap = local is not None
        self.handle: t.Optional[t.BinaryIO] = None
        self.done = 0
        self.shown = time.monotonic()

    def __call__(self, chunk: bytes) -> None:
        if self.overlap and chunk:
            if self.local is None:
                raise RuntimeError("a resumed download has no local part to compare")
            self.local.handle.seek(self.local.size - 1)
            if chunk[:1] != self.local.handle.read(1):
                raise _Mismatch("the server's file changed")
            self.overlap, chunk = False, chunk[1:]
            if self.check_mode:
                raise _Enough()
        if self.check_mode or not chunk:
            return
        self.open().write(chunk)
        self.done += len(chunk)
        if time.monotonic() - self.shown >= _PROGRESS_EVERY:
            self.shown = time.monotonic()
            self.client.progress(_progress_line(os.path.basename(self.item.target), self.done, self.total))

    def open(self) -> t.BinaryIO:
        if self.handle is None:
            os.makedirs(os.path.dirname(self.item.target), exist_ok=True)
            self.handle = create_fresh(self.item.target + PART)  # the local copy stays readable if it was here
            if self.local is not None:
                self.local.handle.seek(0)
                self.done = _copy(self.local.handle, self.handle, self.local.size)
        return self.handle

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()


def _copy(source: t.BinaryIO, target: t.BinaryIO, size: int) -> int:
    left = size
    while left:
        block = source.read(min(COPY_CHUNK, left))
        if not block:
            raise _Mismatch("the local copy shrank while it was copied")
        target.write(block)
        left -= len(block)
    return size


class Fetcher:
    """Streams one file to disk, resuming and retrying a broken transfer within the client's retries and,
    for the file and all its requests, the client's deadline."""

    def __init__(self, client: Client, check_mode: bool) -> None:
        self.client = client
        self.check_mode = check_mode

    def fetch(self, item: Wanted) -> t.Tuple[str, int]:
        give_up_at = time.monotonic() + self.client.deadline
        stale: t.Set[str] = set()  # local copies found not to be a start of the server's file
        retried = False
        for attempt in range(self.client.retries + 1):
            local = _local_copy(item, stale)
            try:
                outcome = self._attempt(item, local, give_up_at)
            except (_Broken, _Mismatch) as broken:
                if isinstance(broken, _Mismatch) and local is not None:
                    if self.check_mode:  # a real run would fetch it whole
                        return "downloaded", 0
                    stale.add(local.path)
                else:
                    retried = True
                if attempt == self.client.retries:
                    raise ServerError("GET %s: the transfer broke off %d times (%s); run again to resume from "
                                      "%s" % (item.source, attempt + 1, broken, item.target + PART)) from None
                continue
            finally:
                if local is not None:
                    local.handle.close()
            if outcome[0] == "downloaded" and (retried or (local is not None and local.path != item.target)):
                return "resumed", outcome[1]
            return outcome
        raise AssertionError("unreachable")

    def _attempt(self, item: Wanted, local: t.Optional[_Local], give_up_at: float) -> t.Tuple[str, int]:
        headers = {"Range": "bytes=%d-" % (local.size - 1)} if local else {}
        response = send_following(self.client, item.source, headers, give_up_at)
        try:
            return self._receive(response, item, local, give_up_at)
        finally:
            response.close()

    def _receive(self, response: t.Any, item: Wanted, local: t.Optional[_Local],
                 give_up_at: float) -> t.Tuple[str, int]:
        if response.status_code == 416:  # the local copy is longer than the server's file
            raise _Mismatch("the local copy was longer than the server's file")
        _require_ok(self.client, response, item.source)
        total = _total(response)
        limit = item.limit if item.limit is not None else self.client.max_answer_mb * 1024 * 1024
        if total is not None and total > limit:
            return "too large", total
        if response.status_code == 206:
            if total is None or local is None:
                raise _Mismatch("the server answered a part of a file the client did not ask for")
        elif self.check_mode:  # 200: the whole file (a server that ignores ranges, or the first request)
            return "downloaded", total or 0
        else:
            local = None  # the answer is the whole file: nothing local is kept
        sink = _PartFile(self.client, item, local, total, self.check_mode)
        try:
            try:
                self.client.receive(response, "GET", item.source, sink, give_up_at=give_up_at,
                                    limit=limit - (local.size - 1 if local else 0))
            except _Enough:
                pass
            if sink.overlap:
                raise _Broken("the answer ended before its first byte")
            if local is not None and total == local.size and local.path == item.target:
                return "unchanged", total  # only the overlapping byte came, and it matched
            if self.check_mode:
                return "downloaded", total or 0
            done = sink.open().tell()
        except _transfer_errors() as exc:
            raise _Broken(type(exc).__name__) from None
        except _too_large() as large:
            sink.close()
            if sink.handle is not None:  # the part never completes: it goes
                os.unlink(item.target + PART)
            return "too large", large.size + (local.size - 1 if local else 0)
        finally:
            sink.close()
        if total is not None and done != total:
            raise _Broken("got %d of %d bytes" % (done, total))
        os.replace(item.target + PART, item.target)
        return "downloaded", done


def _local_copy(item: Wanted, stale: t.AbstractSet[str]) -> t.Optional[_Local]:
    """The local copy an answer may continue: the complete file, else a partial one; regular files only."""
    for path in (item.target, item.target + PART):
        handle = open_regular(path) if path not in stale else None
        if handle is not None:
            size = os.fstat(handle.fileno()).st_size
            if size:
                return _Local(path, handle, size)
            handle.close()
    return None


def send_following(client: Client, source: str, headers: t.Mapping[str, str], give_up_at: float) -> t.Any:
    """The answer for a file route, following openQA's redirects within the same server: the client
    follows none (a signed API call must not go elsewhere), but a file route needs no signature."""
    base = urlsplit(client.base_url)
    query: t.List[t.Tuple[str, str]] = []
    for _hop in range(MAX_HOPS + 1):
        response = client.send("GET", source, query, headers=headers, stream=True, give_up_at=give_up_at)
        if not 300 <= response.status_code < 400:
            return response
        location = urlsplit(urljoin(client.url(source), response.headers.get("Location") or ""))
        response.close()
        if (location.scheme, location.netloc) != (base.scheme, base.netloc) or \
                not location.path.startswith(base.path):
            raise ServerError("GET %s: the server sends it on to another host (%s://%s); not followed"
                              % (source, location.scheme, location.netloc))
        source, query = location.path[len(base.path):], parse_qsl(location.query, keep_blank_values=True)
    raise ServerError("GET %s: more than %d redirects" % (source, MAX_HOPS))


def _require_ok(client: Client, response: t.Any, source: str) -> None:
    if response.status_code == 404:
        raise NotFoundError("GET %s: not found" % source)
    if not response.ok:
        client.decode(response, "GET", source)


def _transfer_errors() -> tuple:
    # imported when a download runs, not when the module loads: openqa-ctl test --help needs no requests
    try:
        import requests
    except ImportError:  # the client reports the missing library before any download
        return ()
    return (requests.exceptions.RequestException,)


def _too_large() -> t.Type[AnswerTooLarge]:
    from ansible_collections.openqa.client.plugins.module_utils.client import AnswerTooLarge

    return AnswerTooLarge


def _total(response: t.Any) -> t.Optional[int]:
    if response.status_code in (206, 416):
        match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
        return int(match.group(1)) if match else None
    length = response.headers.get("Content-Length")
    return int(length) if length and length.isdigit() else None


def _progress_line(name: str, done: int, total: t.Optional[int]) -> str:
    if total:
        return "downloading %s: %.1f of %.1f MB (%d%%)" % (name, done / 1e6, total / 1e6, done * 100 // total)
    return "downloading %s: %.1f MB" % (name, done / 1e6)
