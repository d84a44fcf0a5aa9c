# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Section ``events`` of benchmarks/run.py: the event source against the test server and its broker.

(1) latency from the last job's ``set_done`` to the real ansible-rulebook's action, AMQP (settle 1 s) and the
REST poll (interval 2 s); (2) REST requests and time to verdict for one build of 200 jobs: ``openqa-ctl events``
(AMQP and poll) beside the polling gate ``openqa-ctl build wait`` on the same build, each through its own
counting proxy; (3) the resident memory of ``openqa-ctl events`` while 40,000 messages go through it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import statistics
import subprocess
import tempfile
import time
import typing as t
from pathlib import Path

SETTLE, POLL = 1.0, 2.0
# the source remembers at most 10,000 builds and 10,000 emitted events: flat once both are full (20,000 here)
MEMORY_CHECKPOINTS = (0, 10000, 20000, 40000)


class _Lines:
    """A process whose output is read line by line."""

    def __init__(self, argv: t.List[str], env: dict) -> None:
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True,
                                     bufsize=1)

    def until(self, text: str) -> float:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if text in line:
                return time.monotonic()
        raise RuntimeError("%s ended before %r (rc %s)" % (self.proc.args[:3], text, self.proc.wait()))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=60)


def _rss_mb(pid: int) -> float:
    for line in Path("/proc/%d/status" % pid).read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _rulebook_latency(args: t.Any, server: t.Any, run_id: str, amqp: t.Optional[dict], env: dict,
                      runs: int) -> t.List[float]:
    source = {"host": server.url, "types": ["build.done"], "settle": SETTLE, "poll_interval": POLL}
    if amqp:  # no reconciliation poll during the runs: it could be the one that sees the build first
        source.update(amqp_url=amqp["url"], topic_prefix=amqp["topic_prefix"], poll_interval=3600)
    rulebook = [{"name": "bench", "hosts": "all", "sources": [{"openqa.client.openqa_events": source}],
                 "rules": [{"name": "done", "condition": 'event.openqa.type == "build.done"',
                            "action": {"print_event": {"pretty": False}}}]}]
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "rulebook.yml").write_text(json.dumps(rulebook))
        (Path(tmp) / "inventory.yml").write_text(json.dumps({"all": {"hosts": {"localhost": {}}}}))
        binary = str(Path(args.ansible).parent / "ansible-rulebook")
        process = _Lines([binary, "-i", tmp + "/inventory.yml", "-r", tmp + "/rulebook.yml", "-v"], env)
        try:
            process.until("openqa.client.openqa_events - INFO - watching ")
            latencies = []
            for number in range(runs):
                build = "bench-%s-ev%s%d" % (run_id, "amqp" if amqp else "poll", number)
                job_id = server.post_job(build, "latency")
                start = time.monotonic()
                server.request("POST", "jobs/%d/set_done" % job_id, {"result": "passed"})
                latencies.append(process.until("'build': '%s'" % build) - start)
            return latencies
        finally:
            process.stop()


def _verdicts(args: t.Any, server: t.Any, proxy_class: t.Any, run_id: str, amqp: dict, env: dict,
              size: int, log: t.Callable[[str], None]) -> dict:
    build = "bench-%s-ev%d" % (run_id, size)
    log("events: %d jobs of build %s" % (size, build))
    jobs = [server.post_job(build, "t%03d" % i) for i in range(size)]
    proxies = {name: proxy_class(server.host, server.port) for name in ("amqp", "poll", "build wait")}
    common = ["--type", "build.done", "--build", build, "--count", "1", "--settle", str(SETTLE)]
    ways = {
        "amqp": [args.ctl, "events", "--host", proxies["amqp"].url, "--amqp-url", amqp["url"],
                 "--topic-prefix", amqp["topic_prefix"], "--poll-interval", "1h"] + common,
        "poll": [args.ctl, "events", "--host", proxies["poll"].url, "--poll-interval", str(POLL)] + common,
        "build wait": [args.ctl, "build", "wait", "--id", build, "--interval", str(POLL), "--timeout", "30m",
                       "--host", proxies["build wait"].url],
    }
    try:
        processes = {name: _Lines(argv, env) for name, argv in ways.items()}
        for name in ("amqp", "poll"):
            processes[name].until("openqa-ctl: watching ")
        marks = {name: proxy.mark() for name, proxy in proxies.items()}
        with concurrent.futures.ThreadPoolExecutor(len(processes)) as pool:  # each verdict timed as it comes
            verdicts = {name: pool.submit(process.until, '"build.done"' if name != "build wait" else '"invocation"')
                        for name, process in processes.items()}
            for job_id in jobs:
                server.request("POST", "jobs/%d/set_done" % job_id, {"result": "passed"})
            last = time.monotonic()
            out = {}
            for name, process in processes.items():
                done = verdicts[name].result(timeout=1800)
                process.proc.wait(timeout=600)
                out[name] = {"seconds": done - last, "requests": len(proxies[name].records),
                             "requests_while_running": len(proxies[name].since(marks[name]))}
        return out
    finally:
        for proxy in proxies.values():
            proxy.close()


async def _publish(url: str, prefix: str, messages: t.Iterable[t.Tuple[str, dict]]) -> None:
    import aio_pika

    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange("pubsub")
        for kind, body in messages:
            await exchange.publish(aio_pika.Message(json.dumps(body).encode()), "%s.openqa.%s" % (prefix, kind))


def _memory(args: t.Any, server: t.Any, amqp: dict, env: dict, run_id: str) -> dict:
    """Alternately a job.done of a build never seen (remembered as open) and a comment (emitted, its uuid
    remembered): both memories are bounded. RSS of openqa-ctl events at each checkpoint."""
    argv = [args.ctl, "events", "--host", server.url, "--amqp-url", amqp["url"], "--topic-prefix",
            amqp["topic_prefix"], "--type", "comment.create", "--poll-interval", "1h"]
    process = _Lines(argv, env)
    try:
        process.until("openqa-ctl: watching ")
        rss = {0: _rss_mb(process.proc.pid)}
        sent = 0
        for checkpoint in MEMORY_CHECKPOINTS[1:]:
            batch = []
            for number in range(sent, checkpoint):
                if number % 2:
                    batch.append(("comment.create", {"id": number, "job_id": None, "group_id": None,
                                                     "text": "bench %s %d" % (run_id, number)}))
                else:
                    batch.append(("job.done", {"id": number, "BUILD": "mem-%s-%d" % (run_id, number),
                                               "group_id": 999999, "remaining": 1, "result": "passed"}))
            asyncio.run(_publish(amqp["url"], amqp["topic_prefix"], batch))
            process.until('"text": "bench %s %d"' % (run_id, checkpoint - 1))
            rss[checkpoint] = _rss_mb(process.proc.pid)
            sent = checkpoint
        return rss
    finally:
        process.stop()


def bench_events(args: t.Any, server: t.Any, proxy_class: t.Any, run_id: str, log: t.Callable[[str], None]) -> dict:
    amqp = server.state.get("amqp")
    if not amqp:
        raise RuntimeError("the server's state file has no amqp: run tests/openqa-server reset of this tree")
    env = dict(os.environ, PATH="%s%s%s" % (Path(args.ansible).parent, os.pathsep, os.environ.get("PATH", "")))
    env.pop("OPENQA_API_KEY", None)
    env.pop("OPENQA_API_SECRET", None)
    log("events: latency to the rulebook's action, %d builds each way" % args.event_runs)
    latency = {"amqp": _rulebook_latency(args, server, run_id, amqp, env, args.event_runs),
               "poll": _rulebook_latency(args, server, run_id, None, env, args.event_runs)}
    verdicts = _verdicts(args, server, proxy_class, run_id, amqp, env, args.event_build_size, log)
    log("events: memory over %d messages" % MEMORY_CHECKPOINTS[-1])
    memory = _memory(args, server, amqp, env, run_id)
    return {"settle": SETTLE, "poll_interval": POLL, "latency": latency, "size": args.event_build_size,
            "verdicts": verdicts, "memory_mb": memory}


def report(results: dict) -> t.List[str]:
    latency = {way: statistics.median(values) for way, values in results["latency"].items()}
    verdicts, memory = results["verdicts"], {int(k): v for k, v in results["memory_mb"].items()}
    amqp_ok = latency["amqp"] <= results["settle"] + 1
    poll_ok = latency["poll"] <= results["poll_interval"] + 1
    requests_ok = verdicts["amqp"]["requests_while_running"] <= 2
    flat = memory[40000] - memory[20000] <= 0.05 * memory[20000]
    mark = {True: "**met**", False: "**NOT met**"}
    runs = len(results["latency"]["amqp"])
    lines = ["## Events: the rulebook source and `openqa-ctl events`", "",
             "One job per build, `set_done` to the real ansible-rulebook's `print_event` action (median of %d; "
             "settle %gs, poll interval %gs):" % (runs, results["settle"], results["poll_interval"]), "",
             "| way | median | each run | target |", "|---|---|---|---|",
             "| AMQP | %.2f s | %s | <= settle + 1 s: %s |" % (
                 latency["amqp"], ", ".join("%.2f" % v for v in results["latency"]["amqp"]), mark[amqp_ok]),
             "| REST poll | %.2f s | %s | <= interval + 1 s: %s |" % (
                 latency["poll"], ", ".join("%.2f" % v for v in results["latency"]["poll"]), mark[poll_ok]),
             "", "A build of %d jobs finished by %d `set_done` calls; each way watched it through its own counting "
             "proxy (requests while the jobs finished / in all; time from the last `set_done` to the verdict):"
             % (results["size"], results["size"]), "",
             "| way | requests while running | requests in all | time to verdict |", "|---|---|---|---|"]
    for name, numbers in verdicts.items():
        way = "`openqa-ctl events` " + name if name != "build wait" else "`openqa-ctl build wait` (polls)"
        lines.append("| %s | %d | %d | %.2f s |" % (way, numbers["requests_while_running"], numbers["requests"],
                                                    numbers["seconds"]))
    lines += ["", "REST requests per build.done (AMQP, at most 2 for 200 jobs): %s." % mark[requests_ok], "",
              "Resident memory of `openqa-ctl events` (AMQP) after N messages (half job.done of new builds, half "
              "comments it emits): %s; flat (20,000 -> 40,000 within 5%%): %s." % (
                  ", ".join("%d: %.1f MB" % item for item in sorted(memory.items())), mark[flat]), ""]
    return lines
