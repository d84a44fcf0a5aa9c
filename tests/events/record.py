"""Record what a real openQA publishes over AMQP, step by step, for the unit tests of build.done.

    python tests/events/record.py STATE_FILE AMQP_URL OUT.json

STATE_FILE is tests/openqa-server's (the server must publish to AMQP_URL's `pubsub` exchange, prefix `suse`).
Each step is one API call; the file holds, per step, the messages that arrived after it and the server's job
listing of the build afterwards (what the REST confirmation would read at that moment). The unit tests
(tests/unit/plugins/module_utils/test_events.py) replay them. Needs aio-pika and requests.
"""

from __future__ import annotations

import asyncio
import json
import sys
import typing as t
import uuid

import aio_pika
import requests

QUIET = 1.5  # seconds without a message: openQA published what this step causes (recording only, not a test)


class Recorder:
    def __init__(self, state: dict, amqp_url: str) -> None:
        self.url = state["url"]
        admin = state["keys"]["admin"]
        self.session = requests.Session()
        self.session.auth = (admin["user"], "%s:%s" % (admin["key"], admin["secret"]))
        self.session.headers["Accept"] = "application/json"
        self.amqp_url = amqp_url
        self.build = "rec-" + uuid.uuid4().hex[:8]
        self.steps: t.List[dict] = []
        self.inbox: asyncio.Queue = asyncio.Queue()

    def api(self, method: str, path: str, **params: t.Any) -> t.Any:
        response = self.session.request(method, self.url + "/api/v1/" + path, data=params or None)
        response.raise_for_status()
        return response.json()

    async def step(self, name: str, method: str, path: str, **params: t.Any) -> t.Any:
        answer = await asyncio.to_thread(self.api, method, path, **params)
        messages = []
        while True:
            try:
                messages.append(await asyncio.wait_for(self.inbox.get(), QUIET))
            except asyncio.TimeoutError:
                break
        listing = await asyncio.to_thread(self.api, "GET", "jobs", build=self.build)
        self.steps.append({"step": name, "messages": messages, "jobs": listing["jobs"]})
        return answer

    async def run(self) -> dict:
        connection = await aio_pika.connect_robust(self.amqp_url)
        async with connection:
            channel = await connection.channel()
            exchange = await channel.declare_exchange("pubsub", aio_pika.ExchangeType.TOPIC, passive=True)
            queue = await channel.declare_queue(exclusive=True)
            await queue.bind(exchange, "suse.openqa.#")
            await queue.consume(self._received)
            await self.scenario()
        return {"build": self.build, "server": self.url, "steps": self.steps}

    async def _received(self, message: t.Any) -> None:
        async with message.process():
            await self.inbox.put({"routing_key": message.routing_key, "body": json.loads(message.body)})

    async def scenario(self) -> None:
        suffix = uuid.uuid4().hex[:6]
        group = await asyncio.to_thread(self.api, "POST", "job_groups", name="rec-gate-" + suffix)
        other = await asyncio.to_thread(self.api, "POST", "job_groups", name="rec-other-" + suffix)
        base = {"DISTRI": "opensuse", "VERSION": "Tumbleweed", "FLAVOR": "DVD", "ARCH": "x86_64",
                "MACHINE": "64bit", "BUILD": self.build}
        jobs = {}
        for test in ("boot", "textmode", "gnome"):
            answer = await self.step("create " + test, "POST", "jobs", TEST=test, _GROUP_ID=group["id"], **base)
            jobs[test] = answer["id"]
        # the same BUILD in another group: openQA's `remaining` counts it too
        answer = await self.step("create other", "POST", "jobs", TEST="other", _GROUP_ID=other["id"], **base)
        jobs["other"] = answer["id"]
        await self.step("done boot passed", "POST", "jobs/%d/set_done" % jobs["boot"], result="passed")
        await self.step("done textmode softfailed", "POST", "jobs/%d/set_done" % jobs["textmode"],
                        result="softfailed")
        await self.step("done gnome failed", "POST", "jobs/%d/set_done" % jobs["gnome"], result="failed")
        await self.step("done other passed", "POST", "jobs/%d/set_done" % jobs["other"], result="passed")
        await self.step("comment gnome", "POST", "jobs/%d/comments" % jobs["gnome"], text="poo#1 recorded")
        answer = await self.step("restart gnome", "POST", "jobs/%d/restart" % jobs["gnome"])
        clone = _clone_id(answer, jobs["gnome"])
        await self.step("done gnome clone passed", "POST", "jobs/%d/set_done" % clone, result="passed")
        answer = await self.step("create late", "POST", "jobs", TEST="late", _GROUP_ID=group["id"], **base)
        await self.step("cancel late", "POST", "jobs/%d/cancel" % answer["id"])


def _clone_id(answer: dict, job_id: int) -> int:
    for result in answer.get("result") or []:
        if str(job_id) in result:
            return int(result[str(job_id)])
    raise SystemExit("restart of %d answered no clone: %s" % (job_id, answer))


def main() -> None:
    state_file, amqp_url, out = sys.argv[1:4]
    with open(state_file) as handle:
        state = json.load(handle)
    recording = asyncio.run(Recorder(state, amqp_url).run())
    recording["version"] = state.get("version", "4.6")
    recording.pop("server")
    with open(out, "w") as handle:
        json.dump(recording, handle, indent=1, sort_keys=True)
        handle.write("\n")
    print("%s: %d steps, %d messages" % (out, len(recording["steps"]),
                                         sum(len(s["messages"]) for s in recording["steps"])))


if __name__ == "__main__":
    main()
