# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to this collection: no API promise, it may change in any release.
"""The REST poll behind the event stream: which jobs finished since the last poll and which builds that may
have finished. It is the whole stream without a broker, and the reconciliation beside one: openQA announces
nothing when a job goes incomplete because its worker vanished or it went stale, and drops events while the
broker is away.

openQA keeps no history to ask "what finished since": each poll lists the pending jobs (one request), the
jobs newer than any seen (one request), and reads the jobs that left the pending list (one request per 200).
"""

from __future__ import annotations

import typing as t

from ansible_collections.openqa.client.plugins.module_utils._events import Filters, wrap
from ansible_collections.openqa.client.plugins.module_utils._job_reads import (
    PENDING_STATES,
    id_of,
    jobs_in,
    list_jobs,
    search_pages,
)

if t.TYPE_CHECKING:
    from ansible_collections.openqa.client.plugins.module_utils.client import Client

BuildKey = t.Tuple[t.Any, str]
# what openQA's own job.done carries (AMQP.pm), from a listed job
_EVENT_SETTINGS = ("BUILD", "TEST", "ARCH", "MACHINE", "FLAVOR", "DISTRI", "VERSION", "ISO", "HDD_1")


def build_of(job: t.Mapping[str, t.Any]) -> t.Optional[BuildKey]:
    build = (job.get("settings") or {}).get("BUILD")
    return None if build is None else (job.get("group_id"), str(build))


def job_done_from_listing(host: str, job: t.Mapping[str, t.Any]) -> dict:
    """A ``job.done`` event shaped like openQA's (its keys, plus DISTRI, VERSION and the group name) from a
    listed job; its uuid is the one the same job's AMQP event gets."""
    settings = job.get("settings") or {}
    body = {key: settings[key] for key in _EVENT_SETTINGS if key in settings}
    body.update(id=int(job["id"]), result=job.get("result"), group_id=job.get("group_id"), group=job.get("group"),
                TEST=job.get("test", body.get("TEST")))
    return wrap(host, "job.done", body, [int(job["id"]), job.get("result")])


class Poller:
    def __init__(self, client: Client, filters: Filters) -> None:
        self.client = client
        self.filters = filters
        self.pending: t.Dict[int, t.Optional[BuildKey]] = {}
        self.newest: t.Optional[int] = None

    def poll(self) -> t.Tuple[t.List[dict], t.Set[BuildKey]]:
        """(jobs that finished since the last poll, builds that may be done now: confirm them).

        The first poll only learns where things stand; with a ``build`` filter it also names that build's
        groups that are done already, so a gate started after the build finished still hears of it.
        """
        query = self.filters.query()
        pending = self._listing(dict(query, state=sorted(PENDING_STATES)))
        if self.newest is None:
            newest = jobs_in(self.client.get("jobs", dict(query, limit=1)))
            self.newest = max([id_of(job) for job in newest] + list(pending), default=0)
            self.pending = {job_id: build_of(job) for job_id, job in pending.items()}
            return [], self._done_at_start(pending)
        new = self._listing(dict(query, after=self.newest))
        left = set(self.pending) - set(pending)
        finished = [job for job in list_jobs(self.client, left).values() if job.get("state") not in PENDING_STATES]
        finished += [job for job_id, job in sorted(new.items()) if job_id not in pending
                     and job.get("state") not in PENDING_STATES]
        self.newest = max([self.newest] + list(new) + list(pending))
        self.pending = {job_id: build_of(job) for job_id, job in pending.items()}
        still_open = set(self.pending.values())
        builds = {key for key in map(build_of, finished) if key is not None and key not in still_open}
        return sorted(finished, key=lambda job: int(job["id"])), builds

    def _listing(self, query: t.Dict[str, t.Any]) -> t.Dict[int, dict]:
        return {job_id: job for job_id, job in search_pages(self.client, query).items()
                if self.filters.job_matches(job)}

    def _done_at_start(self, pending: t.Mapping[int, dict]) -> t.Set[BuildKey]:
        if "build" not in self.filters.wanted:
            return set()
        listed = self._listing(self.filters.query())
        groups = {build_of(job) for job in listed.values()} - {build_of(job) for job in pending.values()}
        return {key for key in groups if key is not None}
