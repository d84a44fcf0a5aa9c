# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to this collection: no API promise, it may change in any release.
"""The event stream: openQA's AMQP events (aio-pika, imported only here and only with an amqp_url), the settle
timers that turn ``remaining == 0`` into a confirmed build.done, and the REST poll that finds what no event
announced. ``openqa-ctl events`` and the rulebook source ``openqa.client.openqa_events`` both run ``EventStream``.

REST reads are the collection's signed client (blocking), run one at a time in a worker thread.
"""

from __future__ import annotations

import asyncio
import functools
import json
import signal
import threading
import typing as t

from ansible_collections.openqa.client.plugins.module_utils.config import display_url, url_secrets
from ansible_collections.openqa.client.plugins.module_utils.envelope import (
    InvalidInputError,
    NotFoundError,
    OpenQAError,
    Result,
    Status,
)
from ansible_collections.openqa.client.plugins.module_utils._events import (
    REMEMBERED_DETAILS,
    Filters,
    Ledger,
    Memory,
    check_params,
    confirm_build,
    event_type,
    job_details,
    wrap,
)
from ansible_collections.openqa.client.plugins.module_utils._event_poll import Poller, job_done_from_listing

if t.TYPE_CHECKING:
    from ansible_collections.openqa.client.plugins.module_utils.client import Client

Emit = t.Callable[[dict], t.Awaitable[None]]
MAX_RECONNECT_DELAY = 60.0


class _Enough(Exception):
    """The stream emitted its ``count`` events."""


class EventStream:
    def __init__(self, client: Client, params: t.Mapping[str, t.Any], emit: Emit,
                 warn: t.Callable[[str], None], ready: t.Callable[[str], None] = lambda message: None) -> None:
        check_params(params)
        self.client = client
        self.params = params
        self.emit_to = emit
        self.warn_to = warn
        self.filters = Filters(params)
        self.ledger = Ledger()
        self.poller = Poller(client, self.filters)
        self.details = Memory(REMEMBERED_DETAILS)  # (group_id, BUILD) -> what job events leave out
        self.settling: t.Dict[tuple, asyncio.Task] = {}
        self.background: t.Set[asyncio.Task] = set()
        self.emitted = 0
        self.rest_lock = asyncio.Lock()
        self.amqp_url = params.get("amqp_url")
        # told once the first poll ran and the queue is bound: what happens from then on is seen
        self.ready_to = ready
        self.unready = {"poll", "amqp"} if self.amqp_url else {"poll"}
        # set by the first of its tasks to fail, or when count events were emitted (created in a running loop)
        self.outcome: asyncio.Future = asyncio.get_running_loop().create_future()

    # ------------------------------------------------------------ running
    async def run(self) -> int:
        """Runs until ``count`` events were emitted (or forever); returns how many were. The first failure of
        any of its tasks (an exchange that does not exist, a sink that cannot write) ends it."""
        self._spawn(self._poll_loop())
        if self.amqp_url:
            self._spawn(self._consume())
        try:
            await self.outcome
        finally:
            tasks = list(self.background)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)  # lets the AMQP connection close
        return self.emitted

    def _spawn(self, coroutine: t.Coroutine) -> asyncio.Task:
        task = asyncio.create_task(coroutine)
        self.background.add(task)
        task.add_done_callback(self._task_ended)
        return task

    def _task_ended(self, task: asyncio.Task) -> None:
        self.background.discard(task)
        if task.cancelled() or self.outcome.done():
            return
        error = task.exception()
        if isinstance(error, _Enough):
            self.outcome.set_result(None)
        elif error is not None:
            self.outcome.set_exception(error)

    def _ready(self, part: str) -> None:
        if part in self.unready:
            self.unready.discard(part)
            if not self.unready:
                how = "the %s exchange on %s" % (self.params["exchange"], display_url(self.amqp_url)) \
                    if self.amqp_url else "a REST poll every %gs" % self.params["poll_interval"]
                self.ready_to("watching %s through %s" % (self.client.base_url, how))

    def warn(self, message: str) -> None:
        """A warning with the AMQP password masked, whatever text a library put into it."""
        for secret in url_secrets(self.amqp_url or ""):
            message = message.replace(secret, "***")
        self.warn_to(message)

    async def _rest(self, function: t.Callable[..., t.Any], *args: t.Any) -> t.Any:
        """One blocking REST read at a time, in a daemon thread: a stream that is stopped (SIGTERM, --timeout)
        ends at once instead of waiting for a slow answer, as asyncio's own executor would."""
        async with self.rest_lock:
            loop = asyncio.get_running_loop()
            answer = loop.create_future()

            def settle(outcome: t.Callable[[], None]) -> None:
                if not answer.done():
                    outcome()

            def work() -> None:
                try:
                    result = function(*args)
                except Exception as error:  # pylint: disable=broad-except  # handed to the awaiting task
                    hand_over = functools.partial(settle, functools.partial(answer.set_exception, error))
                else:
                    hand_over = functools.partial(settle, functools.partial(answer.set_result, result))
                try:
                    loop.call_soon_threadsafe(hand_over)
                except RuntimeError:
                    pass  # the loop is closed: nobody waits for this answer any more

            threading.Thread(target=work, name="openqa-events-rest", daemon=True).start()
            return await answer

    async def _emit(self, event: t.Optional[dict]) -> None:
        if event is None or event["openqa"]["type"] not in self.filters.types:
            return
        if not self.ledger.first_time(event):
            return
        await self.emit_to(event)
        self.emitted += 1
        if self.params.get("count") and self.emitted >= self.params["count"]:
            raise _Enough()

    # ------------------------------------------------------------ build.done
    def _schedule(self, group_id: t.Any, build: t.Any) -> None:
        """A trigger (remaining 0, a cancel): confirm over REST once ``settle`` has passed."""
        key = (group_id, str(build))
        if build is None or key in self.settling:
            return
        self.settling[key] = self._spawn(self._confirm_later(key))

    async def _confirm_later(self, key: tuple) -> None:
        try:
            await asyncio.sleep(self.params["settle"])
        finally:
            self.settling.pop(key, None)
        await self._confirm(key)

    async def _confirm(self, key: tuple) -> None:
        try:
            final, event = await self._rest(confirm_build, self.client, self.filters, *key)
        except OpenQAError as error:
            self.warn("cannot confirm build %s of group %s over REST (%s); the poll tries again"
                      % (key[1], key[0], error.message))
            self.ledger.opened(*key)
            return
        if not final:
            self.ledger.opened(*key)  # a restart or a retry is still pending: its job.done triggers again
            return
        self.ledger.settled(*key)
        await self._emit(event)

    async def _recheck_open_builds(self) -> None:
        """After a (re)connect: events sent while the broker was away are lost, REST knows the builds' state."""
        for key in list(self.ledger.open_builds):
            await self._confirm(key)

    # ------------------------------------------------------------ the poll
    async def _poll_loop(self) -> None:
        while True:
            try:
                finished, builds = await self._rest(self.poller.poll)
            except OpenQAError as error:
                self.warn("polling %s failed (%s); trying again in %g s"
                          % (self.client.base_url, error.message, self.params["poll_interval"]))
            else:
                if not self.amqp_url:  # with AMQP its own job.done events are the ones emitted
                    for job in finished:
                        await self._emit(job_done_from_listing(self.client.base_url, job))
                for key in sorted(builds, key=str):
                    await self._confirm(key)
                self._ready("poll")
            await asyncio.sleep(self.params["poll_interval"])

    # ------------------------------------------------------------ AMQP
    async def _consume(self) -> None:
        try:
            import aio_pika  # only here: the CLI and the modules start without it
        except ImportError:
            raise InvalidInputError("amqp_url needs the Python package aio-pika, which is not installed: "
                                    "pip install 'openqa-client[events]' (or aio-pika), or leave amqp_url out "
                                    "to poll openQA's REST API") from None

        shown = display_url(self.amqp_url or "")
        delay = 1.0
        while True:
            try:
                connection = await aio_pika.connect_robust(
                    self.amqp_url, client_properties={"connection_name": "openqa.client events"})
            except (OSError, asyncio.TimeoutError, aio_pika.exceptions.AMQPError) as error:
                self.warn("cannot connect to %s (%s); retrying in %g s, the REST poll goes on"
                          % (shown, error or type(error).__name__, delay))
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RECONNECT_DELAY)
                continue
            try:
                await self._consume_on(connection, aio_pika)
            finally:
                await connection.close()

    async def _consume_on(self, connection: t.Any, aio_pika: t.Any) -> None:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=100)
        name = self.params["exchange"]
        try:
            exchange = await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, passive=True)
        except aio_pika.exceptions.ChannelNotFoundEntity:
            raise NotFoundError("exchange %r does not exist on %s: openQA does not create it (and its events are "
                                "dropped by the broker until it exists); declare it as a durable topic exchange, "
                                "or give the exchange openQA's [amqp] exchange names"
                                % (name, display_url(self.amqp_url or ""))) from None
        if self.params.get("queue"):
            queue = await channel.declare_queue(self.params["queue"], durable=True)
        else:
            queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        prefix = self.params["topic_prefix"]
        await queue.bind(exchange, routing_key=(prefix + "." if prefix else "") + "openqa.#")
        connection.reconnect_callbacks.add(self._on_reconnect)
        self._spawn(self._recheck_open_builds())
        self._ready("amqp")
        async with queue.iterator() as messages:
            async for message in messages:
                # acknowledged only once handed on: a named queue delivers it again after a crash or a stop
                # (the broker takes back what is unacknowledged when the channel closes)
                try:
                    await self._on_message(message.routing_key or "", message.body)
                except _Enough:
                    await message.ack()  # the last event asked for was handed on
                    raise
                await message.ack()

    def _on_reconnect(self, *_args: t.Any) -> None:
        self.warn("reconnected to %s; re-checking open builds over REST" % display_url(self.amqp_url or ""))
        self._spawn(self._recheck_open_builds())

    async def _on_message(self, routing_key: str, body: bytes) -> None:
        kind = event_type(routing_key, self.params["topic_prefix"])
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        if kind is None or not isinstance(payload, dict):
            self.warn("ignored a message on %s that is not an openQA event" % routing_key[:100])
            return
        if kind.startswith("job."):
            await self._on_job_event(kind, payload)
        else:
            await self._emit(await self._comment_event(kind, payload))

    async def _on_job_event(self, kind: str, payload: dict) -> None:
        group_id, build = payload.get("group_id"), payload.get("BUILD")
        if kind in ("job.done", "job.cancel", "job.delete") and payload.get("remaining") in (0, "0", None):
            # remaining counts the BUILD in every group: each open group of it may be done now
            self.ledger.opened(group_id, build)
            for key in [key for key in self.ledger.open_builds if key[1] == str(build)]:
                self._schedule(*key)
        elif kind in ("job.create", "job.restart", "job.done"):
            self.ledger.opened(group_id, build)
        if kind not in self.filters.types:
            return
        # a deleted job cannot be read: its build's details are known only if an earlier event brought them
        details = self.details.get((group_id, build), {}) if kind == "job.delete" \
            else await self._details(group_id, build, payload.get("id"))
        event = dict(details, **payload)
        if self.filters.job_matches(event):
            identity = [int(payload["id"]), payload.get("result")] if kind == "job.done" else payload
            await self._emit(wrap(self.client.base_url, kind, event, identity))

    async def _details(self, group_id: t.Any, build: t.Any, job_id: t.Any) -> dict:
        """DISTRI, VERSION and the group name, read once per build (job events do not carry them)."""
        key = (group_id, build)
        if key not in self.details:
            job = await self._read_job(job_id)
            if job is None:
                return {"DISTRI": None, "VERSION": None, "group": None}
            self.details.remember(key, job_details(job))
        return self.details[key]

    async def _read_job(self, job_id: t.Any) -> t.Optional[dict]:
        from ansible_collections.openqa.client.plugins.module_utils._job_reads import get_job

        try:
            return await self._rest(get_job, self.client, int(job_id))
        except (OpenQAError, TypeError, ValueError) as error:
            self.warn("cannot read job %s for its details (%s)" % (job_id, getattr(error, "message", error)))
            return None

    async def _comment_event(self, kind: str, payload: dict) -> t.Optional[dict]:
        """A comment passes the filters through its job (read once per comment when filters need it); a group's
        own comment passes only a group filter given as an id."""
        wanted = self.filters.wanted
        if set(wanted) == {"group"} and wanted["group"].isdigit():
            matches = self.filters.group_matches(payload.get("group_id"), None)
        elif wanted:
            job = await self._read_job(payload["job_id"]) if payload.get("job_id") is not None else None
            matches = job is not None and self.filters.job_matches(job)
        else:
            matches = True
        return wrap(self.client.base_url, kind, payload, payload) if matches else None


def watch(client: Client, params: dict) -> Result:
    """``openqa-ctl events``: each event to ``params["sink"]``; SIGTERM and SIGINT end it cleanly."""
    sink = params["sink"]

    async def emit(event: dict) -> None:
        sink(event)

    async def main() -> Result:
        stream = EventStream(client, params, emit, params["warn"], params["ready"])
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, task.cancel)  # type: ignore[union-attr]
        try:
            count = await asyncio.wait_for(stream.run(), params["timeout"]) if params.get("timeout") \
                else await stream.run()
        except asyncio.TimeoutError:
            if params.get("count"):
                return Result(status=Status.TIMEOUT, returns={"events": stream.emitted},
                              message="%d of %d events within %gs" % (stream.emitted, params["count"],
                                                                      params["timeout"]))
            count = stream.emitted
        except asyncio.CancelledError:
            return Result(returns={"events": stream.emitted}, message="stopped by a signal after %d events"
                          % stream.emitted)
        return Result(returns={"events": count}, message="%d events" % count)

    return asyncio.run(main())


async def run_source(queue: t.Any, args: t.Mapping[str, t.Any], warn: t.Callable[[str], None],
                     info: t.Callable[[str], None]) -> None:
    """The ansible-rulebook source: ``args`` are the rulebook's (the connection options and ENTRY's).

    Bad arguments fail at start with one line (ValueError: ansible-rulebook shows its message); a failure
    while running (an exchange that does not exist) ends the source with its message."""
    from ansible_collections.openqa.client.plugins.module_utils._events import ENTRY
    from ansible_collections.openqa.client.plugins.module_utils._plugins import connect
    from ansible_collections.openqa.client.plugins.module_utils._runner import CONNECTION_NAMES

    raw = {key: value for key, value in args.items() if key != "eda_feedback_queue" and value is not None}
    try:
        known = set(CONNECTION_NAMES) | {option.name for option in ENTRY.options}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise InvalidInputError("unknown argument %s: valid ones are %s" % (", ".join(unknown),
                                                                                ", ".join(sorted(known))))
        params = ENTRY.prepare(ENTRY.actions[0], {k: v for k, v in raw.items() if k not in CONNECTION_NAMES})
        client, connection = connect(raw)
        stream = EventStream(client, params, queue.put, warn, info)
    except OpenQAError as error:
        raise ValueError("openqa.client.openqa_events: %s" % error.message) from None
    for warning in connection.warnings():
        warn(warning)
    try:
        if params.get("timeout"):
            await asyncio.wait_for(stream.run(), params["timeout"])
        else:
            await stream.run()
    except asyncio.TimeoutError:
        return
    except OpenQAError as error:
        raise RuntimeError("openqa.client.openqa_events: %s" % error.message) from None
