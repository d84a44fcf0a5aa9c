# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to this collection: no API promise, it may change in any release.
"""openQA's events as the collection hands them on: their shape, filters, and when a build is done.

One declaration (``ENTRY``) serves ``openqa-ctl events`` and the ansible-rulebook source
``openqa.client.openqa_events``; docs/events.md describes the events. The transport (AMQP, the poll) and the
timing live in _event_stream.py; everything here is synchronous and needs neither aio-pika nor asyncio.

``build.done`` is never taken from openQA's word alone: a ``job.done`` with ``remaining`` 0 only triggers a
confirmation over REST (openQA counts ``remaining`` per BUILD over the whole instance, two web UI processes may
both report 0, master creates automatic retries later). The confirmation re-checks every filter client-side and
emits once per (group, build, final set of jobs).
"""

from __future__ import annotations

import collections
import hashlib
import json
import typing as t
import uuid
from urllib.parse import urlencode

from ansible_collections.openqa.client.plugins.module_utils.envelope import InvalidInputError, Result
from ansible_collections.openqa.client.plugins.module_utils._job_reads import OK_RESULTS, PENDING_STATES
from ansible_collections.openqa.client.plugins.module_utils._spec import Action, Entry, Option

if t.TYPE_CHECKING:
    from ansible_collections.openqa.client.plugins.module_utils.client import Client

BUILD_DONE = "build.done"
JOB_TYPES = ("job.create", "job.delete", "job.cancel", "job.restart", "job.update_result", "job.done")
COMMENT_TYPES = ("comment.create", "comment.update", "comment.delete")
EVENT_TYPES = JOB_TYPES + COMMENT_TYPES + (BUILD_DONE,)
# what the poll can see: openQA keeps no history of the other events
POLL_TYPES = ("job.done", BUILD_DONE)
FILTERS = ("group", "build", "distri", "version", "flavor", "arch")
# the event's key for each filter (job events: openQA's payload keys, then the ones added here)
_JOB_KEYS = {"build": "BUILD", "distri": "DISTRI", "version": "VERSION", "flavor": "FLAVOR", "arch": "ARCH"}
# a random but fixed namespace: every consumer derives the same uuid from the same content
_UUID_NAMESPACE = uuid.UUID("0b6a5d0e-5e43-4b7e-9d0c-6f0e1e7a9c21")
# bounded memories, so a source that runs for months stays flat (see the benchmark)
REMEMBERED_BUILDS = 10000
REMEMBERED_DETAILS = 1000


def _amqp_scheme(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else ""


def _watch(client: Client, params: dict) -> Result:
    """The verb: the stream, each event handed to ``params["sink"]`` (openqa-ctl prints it)."""
    # asyncio and the transports are imported only when a stream runs, not when help lists the entries
    from ansible_collections.openqa.client.plugins.module_utils._event_stream import watch

    return watch(client, params)


ENTRY = Entry(
    "events",
    "Stream openQA's job, comment and build.done events, one JSON object per line: from RabbitMQ (--amqp-url) "
    "or by polling the REST API.",
    options=(
        Option("amqp_url", "AMQP URL of the broker openQA publishes to (amqp://user:password@host:5672/); "
               "absent: poll the REST API instead.", no_log=True),
        Option("exchange", "The topic exchange openQA publishes to.", default="pubsub"),
        Option("topic_prefix", "openQA's topic_prefix ([amqp] topic_prefix in openqa.ini).", default="suse"),
        Option("queue", "A named durable queue (at-least-once delivery across restarts of the consumer); "
               "default an exclusive temporary queue."),
        Option("types", "Event types to emit (default all).", multiple=True, choices=EVENT_TYPES, aliases=("type",)),
        Option("group", "Only this job group (name, or id as digits)."),
        Option("build", "Only this BUILD."),
        Option("distri", "Only this DISTRI."),
        Option("version", "Only this VERSION."),
        Option("flavor", "Only this FLAVOR (a build.done then counts only these jobs)."),
        Option("arch", "Only this ARCH (a build.done then counts only these jobs)."),
        Option("poll_interval", "Seconds between REST polls (with --amqp-url: the reconciliation poll).",
               type="duration", default=30.0),
        Option("settle", "Seconds to wait after openQA reports a build's last job done before confirming it "
               "over REST.", type="duration", default=5.0),
        Option("count", "Stop after this many events (status 0).", type="int"),
        Option("timeout", "Stop after this long (status 8 when --count was not reached).", type="duration"),
    ),
    actions=(Action("events", _watch, "Stream events.",
                    options=("amqp_url", "exchange", "topic_prefix", "queue", "types") + FILTERS
                    + ("poll_interval", "settle", "count", "timeout")),),
)


def check_params(params: t.Mapping[str, t.Any]) -> None:
    """What the declaration cannot say: a usable AMQP URL, a queue only with AMQP, types the poll can see."""
    url = params.get("amqp_url")
    if url is not None and _amqp_scheme(url) not in ("amqp", "amqps"):
        raise InvalidInputError("amqp_url must start with amqp:// or amqps:// (e.g. amqp://guest:guest@127.0.0.1:5672/)")
    if url is None and params.get("queue"):
        raise InvalidInputError("queue needs amqp_url: without a broker the source polls openQA's REST API")
    if url is None and params.get("types") and not set(params["types"]) & set(POLL_TYPES):
        raise InvalidInputError("without amqp_url only %s are seen (openQA keeps no history of the others): "
                                "give amqp_url or ask for those types" % " and ".join(POLL_TYPES))
    if params["poll_interval"] <= 0:
        raise InvalidInputError("poll_interval must be more than 0 seconds")


def event_uuid(host: str, content: t.Any) -> str:
    """The same content on the same server always gets the same uuid (ansible-rulebook --persistence-id)."""
    text = json.dumps([host, content], sort_keys=True, separators=(",", ":"), default=str)
    return str(uuid.uuid5(_UUID_NAMESPACE, hashlib.sha256(text.encode("utf-8")).hexdigest()))


def event_type(routing_key: str, prefix: str) -> t.Optional[str]:
    """``suse.openqa.job.done`` -> ``job.done``; None for a topic that is not openQA's under this prefix."""
    head = (prefix + "." if prefix else "") + "openqa."
    if not routing_key.startswith(head):
        return None
    kind = routing_key[len(head):]
    return kind if kind in EVENT_TYPES and kind != BUILD_DONE else None


def wrap(host: str, kind: str, body: t.Mapping[str, t.Any], identity: t.Any) -> dict:
    """The event as the rulebook sees it: ``event.openqa.type`` and the rest; ``meta.uuid`` from ``identity``."""
    return {"openqa": dict(body, type=kind, host=host), "meta": {"uuid": event_uuid(host, [kind, identity])}}


class Memory(collections.OrderedDict):
    """A dict that forgets its oldest entries beyond ``size``."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def remember(self, key: t.Any, value: t.Any = True) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


class Filters:
    """The filters of a stream, checked on every event client-side (openQA's topics carry no build or group)."""

    def __init__(self, params: t.Mapping[str, t.Any]) -> None:
        self.wanted = {name: str(params[name]) for name in FILTERS if params.get(name) is not None}
        self.types = frozenset(params.get("types") or EVENT_TYPES)

    def group_matches(self, group_id: t.Any, group_name: t.Any) -> bool:
        wanted = self.wanted.get("group")
        if wanted is None:
            return True
        return wanted == str(group_id) if wanted.isascii() and wanted.isdigit() else wanted == group_name

    def job_matches(self, job: t.Mapping[str, t.Any]) -> bool:
        """A job as listed by REST (settings in ``settings``) or as an event (flat keys)."""
        settings: t.Mapping[str, t.Any] = job["settings"] if isinstance(job.get("settings"), dict) else job
        for name, key in _JOB_KEYS.items():
            if name in self.wanted and str(settings.get(key)) != self.wanted[name]:
                return False
        return self.group_matches(job.get("group_id"), job.get("group"))

    def query(self) -> t.Dict[str, t.Any]:
        """The REST listing's filters (the listing is re-checked with job_matches)."""
        from ansible_collections.openqa.client.plugins.module_utils._job_reads import group_filter

        query = {name: value for name, value in self.wanted.items() if name != "group"}
        if "group" in self.wanted:
            query.update([group_filter(self.wanted["group"])])
        return query


def job_details(job: t.Mapping[str, t.Any]) -> dict:
    """What openQA's job events leave out, from a job read over REST."""
    settings = job.get("settings") or {}
    return {"DISTRI": settings.get("DISTRI"), "VERSION": settings.get("VERSION"), "group": job.get("group")}


def build_done(host: str, group_id: t.Any, build: str, jobs: t.Sequence[dict]) -> dict:
    """The build.done event of a build whose jobs (the latest of each scenario) are all final."""
    jobs = sorted(jobs, key=lambda job: int(job["id"]))
    first = jobs[0].get("settings") or {}
    results: t.Dict[str, int] = {}
    for job in jobs:
        results[str(job.get("result"))] = results.get(str(job.get("result")), 0) + 1
    failed = [{"id": int(job["id"]), "test": job.get("test"), "arch": (job.get("settings") or {}).get("ARCH"),
               "machine": (job.get("settings") or {}).get("MACHINE"), "result": job.get("result")}
              for job in jobs if job.get("result") not in OK_RESULTS]
    overview = [("build", build)] + ([("groupid", group_id)] if group_id is not None else []) + \
        [(key.lower(), first[key]) for key in ("DISTRI", "VERSION") if first.get(key)]
    body = {"build": build, "distri": first.get("DISTRI"), "version": first.get("VERSION"), "group_id": group_id,
            "group": jobs[0].get("group"), "jobs": len(jobs), "results": results, "failed": failed,
            "ok": not failed, "url": "%s/tests/overview?%s" % (host, urlencode(overview))}
    identity = [group_id, build, [[int(job["id"]), job.get("result")] for job in jobs]]
    return wrap(host, BUILD_DONE, body, identity)


def confirm_build(client: Client, filters: Filters, group_id: t.Any, build: str) -> t.Tuple[bool, t.Optional[dict]]:
    """One REST request: (whether the build is final, its build.done when final and some job passes the filters).

    The latest job of each scenario counts (a restart replaces the job it restarted); a build with a job
    scheduled or running in that group is not done, whatever ``remaining`` said.
    """
    from ansible_collections.openqa.client.plugins.module_utils._build_jobs import latest_jobs

    # the BUILD in every group, in one listing: naming the group would cost a check of the group first
    jobs = [job for job in latest_jobs(client, {"id": build})
            if job.get("group_id") == group_id and filters.job_matches(job)]
    if any(job.get("state") in PENDING_STATES for job in jobs):
        return False, None
    return True, build_done(client.base_url, group_id, build, jobs) if jobs else None


class Ledger:
    """Which build.done events were emitted (bounded), and which builds may still finish (to re-check after
    a reconnect)."""

    def __init__(self) -> None:
        self.emitted = Memory(REMEMBERED_BUILDS)
        self.open_builds = Memory(REMEMBERED_BUILDS)

    def opened(self, group_id: t.Any, build: t.Any) -> None:
        if build is not None:
            self.open_builds.remember((group_id, str(build)))

    def first_time(self, event: dict) -> bool:
        """True once per event content: the same (group, build, final jobs) again is no news."""
        key = event["meta"]["uuid"]
        if key in self.emitted:
            return False
        self.emitted.remember(key)
        return True

    def settled(self, group_id: t.Any, build: str) -> None:
        self.open_builds.pop((group_id, build), None)
