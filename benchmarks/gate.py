# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Section ``gate`` of benchmarks/run.py: the release gate three ways at a 50 ms round trip.

(a) ansible-playbook playbooks/schedule_and_gate.yml, (b) benchmarks/gate-ctl.sh (the same steps with
openqa-ctl), (c) benchmarks/gate-openqa-cli.sh (the best script of the steps with Debian's openqa-cli 4.6: one bulk
restart). Each runs against the test server through tests/faultproxy.py in latency mode, which counts the
requests. The worker stand-in sits in the proxy: when openQA answers a POST that created jobs (POST isos,
a restart), it finishes them (one SQL UPDATE) before the answer goes back, so every job is final the
moment a tool can first see it and every wait needs exactly one listing. Its time is measured and
taken off the wall time. Attempt 1 of every ``failed_every``-th test fails, its restart passes.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
import typing as t
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GROUP = "openqa.client gate benchmark"
DISTRI, VERSION, ARCH, MACHINE = "gatebench", "1", "x86_64", "64bit"


def _faultproxy() -> t.Any:
    spec = importlib.util.spec_from_file_location("faultproxy", ROOT / "tests" / "faultproxy.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def ensure_products(server: t.Any, sizes: t.Sequence[int], log: t.Callable[[str], None]) -> int:
    """One job group, and per size a product (FLAVOR gateN) whose N job templates POST isos schedules."""
    groups = [g for g in server.request("GET", "job_groups") if g["name"] == GROUP]
    group_id = groups[0]["id"] if groups else server.request("POST", "job_groups", {"name": GROUP})["id"]
    suites = {s["name"] for s in server.request("GET", "test_suites")["TestSuites"]}
    products = {(p["distri"], p["version"], p["flavor"], p["arch"])
                for p in server.request("GET", "products")["Products"]}
    templates = {(jt["test_suite"]["name"], jt["product"]["flavor"])
                 for jt in server.request("GET", "job_templates")["JobTemplates"]
                 if jt.get("group_name") == GROUP}
    for size in sizes:
        flavor = "gate%d" % size
        if (DISTRI, VERSION, flavor, ARCH) not in products:
            server.request("POST", "products", {"distri": DISTRI, "version": VERSION, "flavor": flavor, "arch": ARCH})
        missing = [n for n in range(1, size + 1) if ("gate_%03d" % n, flavor) not in templates]
        if missing:
            log("gate: creating %d job templates for %s" % (len(missing), flavor))
        for n in missing:
            suite = "gate_%03d" % n
            if suite not in suites:
                server.request("POST", "test_suites", {"name": suite})
                suites.add(suite)
            server.request("POST", "job_templates", {
                "group_name": GROUP, "machine_name": MACHINE, "test_suite_name": suite, "arch": ARCH,
                "distri": DISTRI, "flavor": flavor, "version": VERSION, "prio": 50})
    return int(group_id)


class StandIn:
    """Finishes the jobs a POST created, inside the proxy, before the POST's answer reaches the tool.

    With one SQL statement (``tests/openqa-server sql``) rather than a set_done per job: through the API
    200 jobs take a minute on this shared server, longer than a client waits for an answer. The jobs from
    POST isos get the plan's results (every ``failed_every``-th test fails), restarted ones pass.
    """

    def __init__(self, server: t.Any, failed_every: int) -> None:
        self.server = server
        self.failed_every = failed_every
        self.seconds = 0.0
        self.finished = 0
        self._lock = threading.Lock()

    def on_answer(self, method: str, path: str, status: int, body: bytes) -> None:
        if method != "POST" or status != 200 or not re.search(r"/api/v1/(isos|jobs/(\d+/)?restart)\b", path):
            return
        # openQA gzips bigger answers for clients that accept it (requests does)
        answer = json.loads(gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body)
        if "/isos" in path:
            ids = [int(i) for i in answer.get("ids") or []]
            result = ("CASE WHEN substring(test from '[0-9]+$')::int %% %d = 0 THEN 'failed' ELSE 'passed' END"
                      % self.failed_every)
        else:
            ids = [int(new) for entry in answer.get("result") or [] for new in entry.values()]
            result = "'passed'"
        if not ids:
            return
        start = time.monotonic()
        with self._lock:
            self.server.sql("UPDATE jobs SET state = 'done', result = %s, t_started = now(), t_finished = now() "
                            "WHERE id IN (%s)" % (result, ",".join(str(i) for i in ids)))
            self.finished += len(ids)
            self.seconds += time.monotonic() - start


def kind(method: str, path: str) -> str:
    """``GET jobs``, ``POST jobs/N/restart``: the request without query and ids."""
    path = path.split("?", 1)[0]
    path = path[len("/api/v1/"):] if path.startswith("/api/v1/") else path
    return "%s %s" % (method, re.sub(r"/\d+(?=/|$)", "/N", path))


def bench_gate(args: t.Any, server: t.Any, run_id: str, log: t.Callable[[str], None]) -> dict:
    faultproxy = _faultproxy()
    group_id = ensure_products(server, args.gate_sizes, log)
    admin = server.state["keys"]["admin"]
    bindir = Path(args.ansible).parent
    purelib = subprocess.run([str(bindir / "python"), "-c",
                              "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENQA_", "PYTHON", "ANSIBLE_"))}
    base_env.update({"OPENQA_API_KEY": admin["key"], "OPENQA_API_SECRET": admin["secret"], "GROUPID": str(group_id),
                     "ANSIBLE_COLLECTIONS_PATH": purelib, "ANSIBLE_LOCALHOST_WARNING": "false",
                     "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false", "ANSIBLE_NOCOLOR": "1", "NO_COLOR": "1",
                     "OPENQA_CTL": args.ctl, "PATH": "%s:%s" % (bindir, os.environ.get("PATH", "/usr/bin:/bin"))})
    out: dict = {"latency": args.gate_latency, "interval": args.gate_interval, "failed_every": args.gate_failed_every,
                 "group_id": group_id, "runs": args.gate_runs, "sizes": {}}
    for size in args.gate_sizes:
        runs: t.Dict[str, t.List[dict]] = {way: [] for way in WAYS}
        # interleaved rounds: a slow moment of this shared machine falls on every way alike
        for round_no in range(args.gate_runs):
            for way in WAYS:
                build = "gate-%s-%d-%s-r%d" % (run_id, size, way.replace("-", ""), round_no)
                runs[way].append(_run_way(args, server, faultproxy, dict(base_env), way, size, build, log))
        out["sizes"][str(size)] = {way: _summary(way_runs) for way, way_runs in runs.items()}
    return out


WAYS = ("playbook", "openqa-ctl", "openqa-cli")


def _run_way(args: t.Any, server: t.Any, faultproxy: t.Any, env: dict, way: str, size: int, build: str,
             log: t.Callable[[str], None]) -> dict:
    """One gate run of one way through a fresh latency proxy with its own stand-in."""
    bindir = Path(args.ansible).parent
    flavor = "gate%d" % size
    env.update(BUILD=build, GROUP=GROUP, DISTRI=DISTRI, VERSION=VERSION, FLAVOR=flavor, ARCH=ARCH,
               INTERVAL=str(args.gate_interval), TIMEOUT="600")
    cmd = {
        "playbook": [str(bindir / "ansible-playbook"), str(ROOT / "playbooks" / "schedule_and_gate.yml"),
                     "-e", "BUILD=%s" % build, "-e", "GROUP='%s'" % GROUP, "-e", "DISTRI=%s" % DISTRI,
                     "-e", "VERSION=%s" % VERSION, "-e", "FLAVOR=%s" % flavor, "-e", "ARCH=%s" % ARCH,
                     "-e", "INTERVAL=%s" % args.gate_interval, "-e", "TIMEOUT=600"],
        "openqa-ctl": ["bash", str(ROOT / "benchmarks" / "gate-ctl.sh")],
        "openqa-cli": ["bash", str(ROOT / "benchmarks" / "gate-openqa-cli.sh")],
    }[way]
    standin = StandIn(server, args.gate_failed_every)
    log("gate: %s, %d jobs, build %s" % (way, size, build))
    with faultproxy.FaultProxy(server.url, lifetime=1800, latency=args.gate_latency,
                               on_answer=standin.on_answer) as proxy:
        env["OPENQA_HOST"] = proxy.url
        start = time.monotonic()
        proc = subprocess.run(cmd, env=env, cwd=str(ROOT), capture_output=True, text=True, timeout=1800, check=False)
        wall = time.monotonic() - start
        records = proxy.requests()
    kinds: t.Dict[str, int] = {}
    for record in records:
        kinds[kind(record.method, record.path)] = kinds.get(kind(record.method, record.path), 0) + 1
    if proc.returncode != 0:
        log("gate: %s exited %d: %s" % (way, proc.returncode, (proc.stdout + proc.stderr)[-1500:]))
    return {"rc": proc.returncode, "wall": wall, "standin": standin.seconds, "own": wall - standin.seconds,
            "requests": len(records), "kinds": kinds, "jobs_finished": standin.finished,
            "output": (proc.stdout + proc.stderr)[-2000:]}


def _summary(runs: t.List[dict]) -> dict:
    """Medians of the times; the worst exit code; requests and their kinds as the most costly run made them."""
    costliest = max(runs, key=lambda run: run["requests"])
    return {"rc": max(run["rc"] for run in runs), "runs": len(runs),
            "own": statistics.median(run["own"] for run in runs), "own_all": [run["own"] for run in runs],
            "wall": statistics.median(run["wall"] for run in runs),
            "standin": statistics.median(run["standin"] for run in runs),
            "requests": costliest["requests"], "requests_all": [run["requests"] for run in runs],
            "kinds": costliest["kinds"], "jobs_finished": costliest["jobs_finished"], "output": runs[-1]["output"]}


FLOOR_TEXT = ("1 POST isos + 1 listing per poll (here 1 per wait: every job is final when first seen) + "
              "1 restart POST = 4")


def report(gate: dict) -> t.List[str]:
    lines = ["## 5. Release gate at %.0f ms round trip: three ways, %s jobs" % (gate["latency"] * 2000,
             " and ".join(gate["sizes"])), "",
             "Through tests/faultproxy.py in latency mode (%.0f ms per request and per 64 KiB of answer; one "
             "connection per request, so keep-alive gains nothing here). Worker stand-in: finishes the jobs a "
             "POST created before its answer returns (attempt 1 of every %dth test fails, the restart passes); "
             "its time is taken off (\"own s\": the median of %d interleaved runs per way; requests: the most any run "
             "made). Poll interval %s s. Floor: %s."
             % (gate["latency"] * 1000, gate["failed_every"], gate.get("runs", 1), gate["interval"], FLOOR_TEXT), "",
             "| jobs | way | exit | requests | vs floor | own s | own s, each run | wall s | stand-in s | "
             "requests by kind |",
             "|---:|---|---:|---:|---:|---:|---|---:|---:|---|"]
    for size, rows in gate["sizes"].items():
        for way, row in rows.items():
            kinds = ", ".join("%s %d" % item for item in sorted(row["kinds"].items()))
            each = ", ".join("%.1f" % own for own in row.get("own_all", [row["own"]]))
            lines.append("| %s | %s | %d | %d | %.2fx | %.1f | %s | %.1f | %.1f | %s |" % (
                size, way, row["rc"], row["requests"], row["requests"] / 4.0, row["own"], each, row["wall"],
                row["standin"], kinds))
    lines += ["", "The openqa-cli script is the best one can write with it: the floor, with one bulk POST "
              "jobs/restart for every failure. Above the floor, openqa.client's ways (build new, then build wait "
              "--max-attempts 2) make three requests more, each for a guarantee the floor leaves out: a group "
              "lookup in build new before POST isos (an unknown group fails before anything is recorded on the "
              "server; openQA would log an empty scheduled product), one in build wait (an unknown group is "
              "status 2, not \"no build\") and the listing that keeps `build new` idempotent (a rerun must not "
              "schedule twice; openqa-cli's does). The failures are restarted from the listing the wait polls, "
              "in one POST, and waited for in the same polls; the wait answers with the build as `build info` "
              "shows it (test names, machines, first failed modules) from its last poll, so the summary costs "
              "no request.", ""]
    return lines
