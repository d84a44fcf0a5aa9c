"""The release engineer's nightly of issue 25, built on the real server from its own products and templates.

Two arches; a chained parent and child (boot -> desktop); a parallel cluster (server + client, x86_64 only);
a flaky test (fails once, then passes) and a persistent failure; the build name also used in another group.
Everything has a unique name (DISTRI, test suites, groups), so tests never meet another test's data. A
product of VERSION ``*`` with a template of its own sits beside the exact one: openQA schedules from the
exact product only, so a prediction that counts both is wrong.
"""

from __future__ import annotations

import importlib.util
import typing as t
import uuid
from dataclasses import dataclass, field

from conftest import ROOT, Server

_spec = importlib.util.spec_from_file_location("fixture_load", ROOT / "tests" / "fixture" / "load.py")
assert _spec and _spec.loader
fixture_load = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixture_load)

VERSION, FLAVOR = "Nightly", "DVD"
MACHINES = {"x86_64": "64bit", "aarch64": "aarch64"}
# role -> (suite settings, arches); the suite names get the nightly's suffix
ROLES: t.Dict[str, t.Tuple[t.Dict[str, str], t.Tuple[str, ...]]] = {
    "boot": ({}, ("x86_64", "aarch64")),
    "desktop": ({"START_AFTER_TEST": "boot"}, ("x86_64", "aarch64")),
    "server": ({}, ("x86_64",)),
    "client": ({"PARALLEL_WITH": "server"}, ("x86_64",)),
    "flaky": ({}, ("x86_64", "aarch64")),
    "broken": ({}, ("x86_64",)),
}
# what a worker makes of each attempt of a role (the last entry repeats)
PLAN = {"flaky": ["failed", "passed"], "broken": ["failed"]}


@dataclass
class Nightly:
    distri: str
    group: str
    other_group: str
    group_id: int
    other_group_id: int
    suffix: str
    tests: t.Dict[str, str] = field(default_factory=dict)   # role -> test suite name

    def jobs_per_arch(self, arch: str) -> int:
        return sum(1 for _settings, arches in ROLES.values() if arch in arches)

    def role(self, test: str) -> str:
        return test.rsplit("-", 1)[0]

    def plan(self) -> t.Dict[str, t.List[str]]:
        """The worker plan by test name (see WorkerStandIn in test_playbooks)."""
        return {self.tests[role]: results for role, results in PLAN.items()}

    def product_vars(self, arch: str, build: str, flavor: str = FLAVOR) -> t.Dict[str, str]:
        return {"DISTRI": self.distri, "VERSION": VERSION, "FLAVOR": flavor, "ARCH": arch, "BUILD": build}


def create(server: Server) -> Nightly:
    admin = server.keys["admin"]
    api = fixture_load.Api(server.url, admin["user"], admin["key"], admin["secret"])
    suffix = uuid.uuid4().hex[:8]
    nightly = Nightly(distri="trial" + suffix, group="Trial Nightly " + suffix, other_group="Trial Other " + suffix,
                      group_id=0, other_group_id=0, suffix=suffix)
    nightly.tests = {role: "%s-%s" % (role, suffix) for role in ROLES}
    for arch in MACHINES:
        api("POST", "products", {"distri": nightly.distri, "version": VERSION, "flavor": FLAVOR, "arch": arch},
            settings={})
    # openQA takes the VERSION * product only when no product has the exact version
    api("POST", "products", {"distri": nightly.distri, "version": "*", "flavor": FLAVOR, "arch": "x86_64"},
        settings={})
    for role, (settings, _arches) in ROLES.items():
        named = {key: "%s-%s" % (value, suffix) for key, value in settings.items()}
        api("POST", "test_suites", {"name": nightly.tests[role]}, settings=named)
    nightly.group_id = api("POST", "job_groups", {"name": nightly.group})["id"]
    nightly.other_group_id = api("POST", "job_groups", {"name": nightly.other_group})["id"]
    for role, (_settings, arches) in ROLES.items():
        for arch in arches:
            api("POST", "job_templates", {"group_name": nightly.group, "machine_name": MACHINES[arch],
                                          "test_suite_name": nightly.tests[role], "arch": arch,
                                          "distri": nightly.distri, "flavor": FLAVOR, "version": VERSION,
                                          "prio": 50})
    api("POST", "job_templates", {"group_name": nightly.group, "machine_name": MACHINES["x86_64"],
                                  "test_suite_name": nightly.tests["boot"], "arch": "x86_64",
                                  "distri": nightly.distri, "flavor": FLAVOR, "version": "*", "prio": 50})
    return nightly


def same_build_elsewhere(server: Server, nightly: Nightly, build: str) -> int:
    """A job of the same BUILD in the other group (the trial's "build name also in another group")."""
    admin = server.keys["admin"]
    api = fixture_load.Api(server.url, admin["user"], admin["key"], admin["secret"])
    job_id = api("POST", "jobs", dict(nightly.product_vars("x86_64", build), TEST="elsewhere-" + nightly.suffix,
                                      MACHINE="64bit", _GROUP_ID=nightly.other_group_id))["id"]
    api("POST", "jobs/%d/set_done" % job_id, {"result": "failed"})
    return int(job_id)
