"""Benchmark of the openqa_workers inventory plugin with 1,000 workers (issue 14).

Inserts 1,000 worker instances (250 machines x 4 instances, prefix bench-inv-) into the test
server's database with SQL, lists them (a) in-process with the plugin's listing code, counting
requests, and (b) with `ansible-inventory --list` as a user runs it, measuring wall time and the
peak RSS of the child; then deletes them again, also on failure, so other tests see the fixture.
Prints a Markdown section; `--json PATH` also writes the raw numbers (scripts/bench's section
``inventory`` runs it so for benchmarks/results.md).

    OPENQA_TEST_STATE=tests/output/openqa-server.json .venv/py312/bin/python benchmarks/inventory_workers.py
    OPENQA_TEST_STATE=tests/output/openqa-server-master.json ...    (openQA master, its own database)
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import typing as t
from pathlib import Path

from ansible_collections.openqa.client.plugins.module_utils import _inventory
from ansible_collections.openqa.client.plugins.module_utils.client import OpenQAClient

ROOT = Path(__file__).resolve().parents[1]
PREFIX = "bench-inv-"
MACHINES, INSTANCES = 250, 4
RUNS = 5

INSERT = """
INSERT INTO workers (host, instance, t_seen, t_created, t_updated)
  SELECT '{p}' || lpad(((g - 1) / {n})::text, 4, '0'), ((g - 1) % {n}) + 1, now(), now(), now()
  FROM generate_series(1, {total}) AS g;
INSERT INTO worker_properties (key, value, worker_id, t_created, t_updated)
  SELECT p.key, p.value, w.id, now(), now() FROM workers w,
    (VALUES ('WORKER_CLASS', 'qemu_x86_64,bench_inv'), ('CPU_ARCH', 'x86_64'), ('MEM_MAX', '8192'),
            ('WEBSOCKET_API_VERSION', '1')) AS p(key, value)
  WHERE w.host LIKE '{p}%';
"""
DELETE = """
DELETE FROM worker_properties WHERE worker_id IN (SELECT id FROM workers WHERE host LIKE '{p}%');
DELETE FROM workers WHERE host LIKE '{p}%';
"""


def sql(statement: str, version: str) -> str:
    """SQL on the database of the server the state file describes (4.6 and master have their own)."""
    return subprocess.run([str(ROOT / "tests" / "openqa-server"), "--version", version, "sql", statement],
                          check=True, capture_output=True, text=True).stdout.strip()


def run_inventory(source: Path, check: int = 0, runs: int = RUNS) -> t.Tuple[t.List[float], t.List[float], float]:
    """Wall and CPU seconds of each `ansible-inventory --list` run, and the peak RSS of any run in MB."""
    walls, cpus = [], []
    for _run in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(["ansible-inventory", "-i", str(source), "--list"], capture_output=True, text=True,
                              check=True, env=dict(os.environ, ANSIBLE_INVENTORY_UNPARSED_FAILED="1"))
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if check:
            assert len(json.loads(proc.stdout)["openqa_class_bench_inv"]["hosts"]) == check
    # ru_maxrss of children is the largest of any one child, in KiB on Linux
    return walls, cpus, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def row(name: str, values: t.List[float], unit: str, target: str = "") -> str:
    scale, fmt = (1000, "%.0f") if unit == "ms" else (1, "%.2f")
    low, mid, high = (fmt % (scale * v) for v in (min(values), statistics.median(values), max(values)))
    return "| %s | %s %s | %s-%s %s | %s |" % (name, mid, unit, low, high, unit, target)


def measure(state: dict) -> dict:
    """Seeds the workers, lists them both ways, removes them; the raw numbers."""
    url, version = state["url"], state.get("version", "4.6")
    total = MACHINES * INSTANCES
    sql(DELETE.format(p=PREFIX), version)
    sql(INSERT.format(p=PREFIX, n=INSTANCES, total=total), version)
    try:
        server, folding = [], []
        for _run in range(RUNS):
            client = OpenQAClient(url)
            start = time.perf_counter()
            workers = _inventory.list_workers(client)
            middle = time.perf_counter()
            hosts = _inventory.machines(workers)
            server.append(middle - start)
            folding.append(time.perf_counter() - middle)
        ours = [name for name in hosts if name.startswith(PREFIX)]
        assert len(ours) == MACHINES and all(len(hosts[n]["openqa_worker_instances"]) == INSTANCES for n in ours)
        requests = client.request_count
        with tempfile.TemporaryDirectory() as tmp:
            source = Path(tmp) / "bench.openqa_workers.yml"
            source.write_text("plugin: openqa.client.openqa_workers\nhost: %s\n" % url)
            empty = Path(tmp) / "empty.yml"
            empty.write_text("all: {}\n")
            floor, _cpu, _rss = run_inventory(empty)
            walls, cpus, peak_mb = run_inventory(source, check=MACHINES)
            # Cacheable: the first run lists and fills the cache, later runs within cache_timeout read it
            cached_source = Path(tmp) / "cached.openqa_workers.yml"
            cached_source.write_text(source.read_text() + "cache: true\ncache_plugin: ansible.builtin.jsonfile\n"
                                     "cache_connection: %s\ncache_timeout: 3600\n" % (Path(tmp) / "cache"))
            run_inventory(cached_source, check=MACHINES, runs=1)
            cached, _cpu, _rss = run_inventory(cached_source, check=MACHINES)
    finally:
        sql(DELETE.format(p=PREFIX), version)
    return {"url": url, "version": version, "workers": total, "requests": requests,
            "server": server, "folding": folding, "walls": walls, "cpus": cpus, "floor": floor, "peak_mb": peak_mb,
            "cached": cached,
            "when": time.strftime("%Y-%m-%d %H:%M", time.gmtime()), "load": os.getloadavg()[0],
            "python": "%d.%d" % sys.version_info[:2], "cpus_count": os.cpu_count() or 0}


def markdown(numbers: dict, heading: str = "##") -> t.List[str]:
    lines = ["%s Inventory plugin: %d workers (%d machines x %d instances) seeded with SQL, %d runs each" % (
             heading, numbers["workers"], MACHINES, INSTANCES, RUNS), "",
             "Generated by `benchmarks/inventory_workers.py` on %s UTC against %s (openQA %s); Python %s, %d CPUs "
             "(load average %.1f)." % (numbers["when"], numbers["url"], numbers["version"], numbers["python"],
                                       numbers["cpus_count"], numbers["load"]), "",
             "| measure | median | min-max | target |", "|---|---:|---:|---|",
             "| requests per listing (`GET workers?limit=10000&offset=0`) | %d | | one per page |"
             % numbers["requests"],
             row("the server's answer to that request (openQA builds each worker's info)", numbers["server"], "ms"),
             row("folding 1,000 instances into 250 machines (plugin code)", numbers["folding"], "ms"),
             row("`ansible-inventory --list`, wall time (process start to exit)", numbers["walls"], "s", "< 2 s"),
             row("`ansible-inventory --list`, CPU time of the process (user + system)", numbers["cpus"], "s"),
             row("floor: `ansible-inventory --list` of an empty YAML inventory, wall time", numbers["floor"], "s"),
             row("`ansible-inventory --list` with `cache: true` (jsonfile), a run within cache_timeout",
                 numbers["cached"], "s", "< 2 s"),
             "| `ansible-inventory --list`, peak RSS | %.0f MB | | < 100 MB |" % numbers["peak_mb"], "",
             "The workers are removed again afterwards (DELETE by the `%s` prefix)." % PREFIX]
    return lines


def main() -> int:
    state = json.loads(Path(os.environ.get("OPENQA_TEST_STATE", ROOT / "tests/output/openqa-server.json"))
                       .read_text())
    numbers = measure(state)
    if len(sys.argv) > 2 and sys.argv[1] == "--json":
        Path(sys.argv[2]).write_text(json.dumps(numbers))
    print("\n".join(markdown(numbers)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
