"""build.done from openQA's events: replays of what openQA 4.6 and master really published (recorded by
tests/events/record.py into events/openqa-*.json, with each step's job listing as the REST answer)."""

from __future__ import annotations

import asyncio
import json
import typing as t
from pathlib import Path

import pytest

from ansible_collections.openqa.client.plugins.module_utils._events import (
    ENTRY,
    EVENT_TYPES,
    Filters,
    Memory,
    check_params,
    event_type,
    event_uuid,
)
from ansible_collections.openqa.client.plugins.module_utils._event_poll import Poller
from ansible_collections.openqa.client.plugins.module_utils._event_stream import EventStream
from ansible_collections.openqa.client.plugins.module_utils.envelope import InvalidInputError, NotFoundError

RECORDINGS = sorted((Path(__file__).parent / "events").glob("openqa-*.json"))
HOST = "http://openqa.test"


def _load(path: Path) -> dict:
    return json.loads(path.read_text())


class RecordedServer:
    """Answers the REST reads the stream makes from the job listing recorded after a step."""

    base_url = HOST
    check_mode = False

    def __init__(self) -> None:
        self.jobs: t.List[dict] = []
        self.request_count = 0

    def progress(self, message: str) -> None:
        pass

    def get(self, path: str, params: t.Any = None) -> t.Any:
        self.request_count += 1
        params = dict(params or {})
        if path.startswith("jobs/"):
            job = next((j for j in self.jobs if j["id"] == int(path[5:])), None)
            if job is None:
                raise NotFoundError("no job")
            return {"job": job}
        assert path == "jobs", path
        jobs = sorted(self.jobs, key=lambda job: -job["id"])
        for key, value in params.items():
            if value is None or key == "limit":
                continue
            values = {str(v) for v in value} if isinstance(value, (list, tuple)) else {str(value)}
            if key == "after":
                jobs = [j for j in jobs if j["id"] > int(value)]
            elif key == "before":
                jobs = [j for j in jobs if j["id"] < int(value)]
            elif key == "groupid":
                jobs = [j for j in jobs if str(j.get("group_id")) in values]
            elif key in ("state", "result", "ids"):
                jobs = [j for j in jobs if str(j.get(key if key != "ids" else "id")) in values]
            else:
                jobs = [j for j in jobs if str(j["settings"].get(key.upper())) in values]
        return {"jobs": jobs[:int(params.get("limit") or len(jobs) or 1)]}


def _params(**given: t.Any) -> dict:
    raw = dict({"settle": 0, "amqp_url": "amqp://guest:secretpw@127.0.0.1:5672/"}, **given)
    params = ENTRY.prepare(ENTRY.actions[0], {k: v for k, v in raw.items() if v is not None})
    return params


async def _replay(recording: dict, params: dict, before_confirm: t.Optional[t.Callable] = None
                  ) -> t.Tuple[t.List[dict], RecordedServer]:
    """Feed each step's messages; then the settle time passes (each trigger is confirmed)."""
    server = RecordedServer()
    events: t.List[dict] = []

    async def emit(event: dict) -> None:
        events.append(event)

    stream = EventStream(server, params, emit, warn=lambda message: None)  # type: ignore[arg-type]
    for index, step in enumerate(recording["steps"]):
        server.jobs = step["jobs"]
        for message in step["messages"]:
            await stream._on_message(message["routing_key"], json.dumps(message["body"]).encode())
        if before_confirm:
            before_confirm(server, index, step)
        while stream.background:  # the settle timers and the confirmations they started
            await asyncio.gather(*list(stream.background))
    return events, server


def _builds(events: t.List[dict]) -> t.List[dict]:
    return [e["openqa"] for e in events if e["openqa"]["type"] == "build.done"]


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.stem)
def test_build_done_from_recorded_events(path: Path) -> None:
    """remaining counts the BUILD in every group: the last job of the *other* group reports 0 and both groups'
    builds are confirmed; the restarted job's clone and a late cancelled job each make a new build.done."""
    recording = _load(path)
    events, server = asyncio.run(_replay(recording, _params(types=["build.done"])))
    # the first two are confirmed after the same job.done, in no particular order
    builds = sorted(_builds(events)[:2], key=lambda b: b["group"], reverse=True) + _builds(events)[2:]
    assert [(b["group"].split("-")[1], b["jobs"], b["ok"], b["results"]) for b in builds] == [
        ("other", 1, True, {"passed": 1}),
        ("gate", 3, False, {"failed": 1, "passed": 1, "softfailed": 1}),
        ("gate", 3, True, {"passed": 2, "softfailed": 1}),
        ("gate", 4, False, {"passed": 2, "softfailed": 1, "user_cancelled": 1}),
    ]
    assert [f["test"] for f in builds[1]["failed"]] == ["gnome"]
    assert all(b["build"] == recording["build"] and b["distri"] == "opensuse" for b in builds)
    assert "groupid=%d" % builds[1]["group_id"] in builds[1]["url"]
    assert len({e["meta"]["uuid"] for e in events}) == 4


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.stem)
def test_job_events_carry_distri_version_group_read_once_per_build(path: Path) -> None:
    recording = _load(path)
    events, server = asyncio.run(_replay(recording, _params(types=["job.done", "job.restart", "comment.create"])))
    done = [e["openqa"] for e in events if e["openqa"]["type"] == "job.done"]
    assert len(done) == 5
    assert all(e["DISTRI"] == "opensuse" and e["VERSION"] == "Tumbleweed" and e["group"] for e in done)
    restart = [e["openqa"] for e in events if e["openqa"]["type"] == "job.restart"]
    assert restart and restart[0]["id"] == str(restart[0]["id"])  # openQA's payload as it is
    assert [e["openqa"]["type"] for e in events].count("comment.create") == 1
    # one job read per build (two groups), plus the four confirmations
    assert server.request_count == 2 + 4


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.stem)
def test_restart_before_settle_ends_means_no_build_done_yet(path: Path) -> None:
    """master creates automatic retries after the job.done that said remaining 0: the confirmation sees the
    retry scheduled and emits nothing until it finishes."""
    recording = _load(path)
    restarted = next(s["jobs"] for s in recording["steps"] if s["step"] == "restart gnome")

    def retry_appears(server: RecordedServer, index: int, step: dict) -> None:
        if step["step"] == "done other passed":
            server.jobs = restarted

    events = asyncio.run(_replay(recording, _params(types=["build.done"]), retry_appears))[0]
    assert sorted((b["group"].split("-")[1], b["ok"]) for b in _builds(events)) == [
        ("gate", False), ("gate", True), ("other", True)]


def test_duplicate_zero_from_two_web_ui_processes_emits_once() -> None:
    recording = _load(RECORDINGS[0])
    steps = recording["steps"]
    last = next(s for s in steps if s["step"] == "done other passed")
    twice = dict(recording, steps=steps[:steps.index(last) + 1] + [dict(last)])
    events = asyncio.run(_replay(twice, _params(types=["build.done"])))[0]
    assert len(_builds(events)) == 2


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.stem)
def test_filters_are_rechecked_client_side(path: Path) -> None:
    recording = _load(path)
    events = asyncio.run(_replay(recording, _params(arch="aarch64")))[0]
    assert events == []
    events = asyncio.run(_replay(recording, _params(group="rec-other-x")))[0]
    assert events == []
    gate = next(s["jobs"][0]["group"] for s in recording["steps"] if s["jobs"])
    events = asyncio.run(_replay(recording, _params(group=gate, types=["build.done", "job.done"])))[0]
    assert {e["openqa"]["group"] for e in events} == {gate}
    assert len(_builds(events)) == 3


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.stem)
def test_poll_finds_what_the_events_say(path: Path) -> None:
    """The REST poll alone, after every step: the same job.done ids and the same build.done groups."""
    recording = _load(path)
    server = RecordedServer()
    poller = Poller(server, Filters({}))  # type: ignore[arg-type]
    finished: t.List[int] = []
    builds: t.List[tuple] = []
    for step in recording["steps"]:
        server.jobs = step["jobs"]
        jobs, keys = poller.poll()
        finished += [job["id"] for job in jobs]
        builds += sorted(keys, key=str)
    expected = [m["body"]["id"] for s in recording["steps"] for m in s["messages"]
                if m["routing_key"].endswith("job.done")]
    assert finished[:len(expected)] == expected and set(finished) - set(expected) == {max(finished)}
    assert [group for group, _build in builds] == [1, 2, 1, 1]


def test_event_type_and_uuid() -> None:
    assert event_type("suse.openqa.job.done", "suse") == "job.done"
    assert event_type("opensuse.openqa.job.done", "suse") is None
    assert event_type("suse.openqa.build.done", "suse") is None  # only this client says build.done
    assert event_uuid(HOST, [1, "a"]) == event_uuid(HOST, [1, "a"]) != event_uuid(HOST, [1, "b"])


def test_memory_stays_bounded() -> None:
    memory = Memory(3)
    for number in range(10):
        memory.remember(number)
    assert list(memory) == [7, 8, 9]


@pytest.mark.parametrize("given,message", [
    ({"amqp_url": "http://x"}, "amqp_url must start with amqp://"),
    ({"queue": "q"}, "queue needs amqp_url"),
    ({"types": ["job.create"]}, "without amqp_url only job.done and build.done"),
])
def test_bad_arguments(given: dict, message: str) -> None:
    params = ENTRY.prepare(ENTRY.actions[0], given)
    with pytest.raises(InvalidInputError, match=message):
        check_params(params)


def test_unknown_type_is_refused_by_the_declaration() -> None:
    with pytest.raises(InvalidInputError, match="is not one of"):
        ENTRY.prepare(ENTRY.actions[0], {"types": ["build.finished"]})
    assert "build.done" in EVENT_TYPES


class _Queue:
    def __init__(self) -> None:
        self.events: t.List[dict] = []

    async def put(self, event: dict) -> None:
        self.events.append(event)


@pytest.mark.parametrize("args,message", [
    ({"host": "http://openqa.test", "amqp_ur": "amqp://x"}, "unknown argument amqp_ur: valid ones are "),
    ({"host": "http://openqa.test", "settle": "soon"}, "settle 'soon' is not a duration"),
    ({"host": "ftp://openqa.test"}, "is not an http(s) URL"),
    ({"host": "http://openqa.test", "amqp_url": "amqp://guest:hidden@x/", "queue": ""}, "queue is empty"),
])
def test_source_refuses_bad_arguments_at_start_with_one_line(args: dict, message: str) -> None:
    from ansible_collections.openqa.client.plugins.module_utils._event_stream import run_source

    with pytest.raises(ValueError) as raised:
        asyncio.run(run_source(_Queue(), args, warn=print, info=print))
    text = str(raised.value)
    assert text.startswith("openqa.client.openqa_events: ") and message in text and "\n" not in text
    assert "hidden" not in text


def test_warnings_mask_the_amqp_password() -> None:
    warnings: t.List[str] = []

    async def make() -> EventStream:
        return EventStream(RecordedServer(), _params(), emit=_Queue().put,  # type: ignore[arg-type]
                           warn=warnings.append)

    stream = asyncio.run(make())
    stream.warn("cannot connect to amqp://guest:secretpw@127.0.0.1:5672/ (secretpw refused)")
    assert warnings == ["cannot connect to amqp://***@127.0.0.1:5672/ (*** refused)"]
