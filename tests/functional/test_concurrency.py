"""Two pipelines scheduling the same build at once (two ``openqa-ctl build new`` processes).

openQA has no conditional POST isos (no unique key on a scheduled product, no If-None-Match),
so ``build new`` checks, then posts: two runs whose checks both come before either POST both
schedule. What IS guaranteed, and asserted here: each run schedules at most once, every run
ends ok with the jobs it made or found, and any later run changes nothing. The second test
forces the overlap with the fault proxy (the checks are delayed until both have been made),
so the limit documented in docs/reliability.md is shown, not assumed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import typing as t
import uuid

from conftest import api_get
from faultproxy_fixture import Fault

PRODUCT = ["DISTRI=opensuse", "VERSION=Tumbleweed", "FLAVOR=DVD", "ARCH=x86_64"]


def build_new(url: str, server: t.Any, build: str) -> subprocess.Popen:
    argv = [sys.executable, "-m", "ansible_collections.openqa.client.cli.openqa_ctl", "build", "new",
            "--host", url, *server.cli_creds("operator")]
    for item in PRODUCT + ["BUILD=%s" % build]:
        argv += ["--vars", item]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen) -> dict:
    out, err = process.communicate(timeout=120)
    assert "Traceback" not in err, err
    return json.loads(out)


def jobs_by_test(api: t.Any, build: str) -> t.Dict[str, int]:
    counts: t.Dict[str, int] = {}
    for job in api_get(api, "jobs", build=build)["jobs"]:
        counts[job["test"]] = counts.get(job["test"], 0) + 1
    return counts


def assert_guarantees(server: t.Any, api: t.Any, url: str, build: str, envelopes: t.List[dict]) -> int:
    """Returns how many runs scheduled (1 when the runs did not overlap, 2 when they did)."""
    assert all(e["invocation"]["status"] == 0 for e in envelopes), envelopes
    scheduled = sum(1 for e in envelopes if e["invocation"]["changed"])
    counts = jobs_by_test(api, build)
    assert scheduled >= 1 and counts and set(counts.values()) == {scheduled}, (counts, envelopes)
    later = finish(build_new(url, server, build))
    assert later["invocation"]["changed"] is False and jobs_by_test(api, build) == counts
    return scheduled


def test_two_pipelines_at_once_schedule_at_most_once_each(server, api):
    build = "race-%s" % uuid.uuid4().hex[:10]
    runs = [build_new(server.url, server, build) for _index in range(2)]
    assert_guarantees(server, api, server.url, build, [finish(run) for run in runs])


def test_overlapping_checks_are_the_documented_limit(server, api, proxy):
    build = "race-forced-%s" % uuid.uuid4().hex[:10]
    # Both checks answered only after 1 s: both runs have read "not scheduled" before either posts.
    proxy.add(Fault("delay", delay=1.0, method="GET", path=r"build=%s" % build, times=2))
    runs = [build_new(proxy.url, server, build) for _index in range(2)]
    assert assert_guarantees(server, api, proxy.url, build, [finish(run) for run in runs]) == 2
