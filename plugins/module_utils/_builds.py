# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``build`` entry point: the jobs that share a BUILD value (the proposal's "build").

openQA has no build object. A build is the BUILD setting of jobs, narrowed by group, distri and
version. info, restart and wait read it with one ``GET jobs?build=..`` per 10,000 jobs and keep the
latest job of every scenario, then filter here: a server-side result filter would return jobs that
a restart has superseded.
new is ``POST isos``, made idempotent by first listing the jobs of the same product and build.
This file declares the entry; the verbs are in _build_jobs (search, info and reading a build),
_build_restarts (restart, wait) and _build_new (new).
"""

from __future__ import annotations


from ansible_collections.openqa.client.plugins.module_utils._spec import Action, Entry, Option
from ansible_collections.openqa.client.plugins.module_utils._build_jobs import (
    FILTER_KEYS,
    info,
    search,
)
from ansible_collections.openqa.client.plugins.module_utils._build_new import new
from ansible_collections.openqa.client.plugins.module_utils._build_restarts import (
    restart,
    wait,
)


IDENTITY = ("id", "group", "groupid", "distri", "version")
SELECTION = ("name", "arch", "filter")

ENTRY = Entry(
    name="build",
    help="a build: the jobs sharing a BUILD value in a group",
    options=(
        Option("id", "The BUILD value (e.g. 20261127)."),
        Option("group", "Job group name (exact, case included, as openQA matches it) or id (all digits); an "
               "unknown group is status 2. new: the group whose job templates are scheduled."),
        Option("groupid", "Job group id; 0 means jobs without a group.", type="int", minimum=0),
        Option("distri", "Narrow to this DISTRI (search, info, restart, wait)."),
        Option("version", "Narrow to this VERSION (search, info, restart, wait)."),
        Option("name", "search: text in the build name; info/restart/wait: text in the test name "
               "(case-insensitive)."),
        Option("arch", "info/restart/wait: only jobs of this ARCH."),
        Option("bugs", "info: add each not-ok job's newest bug reference from its comments (bug), as the "
               "proposal shows; one more request per not-ok job.", type="bool", default=False),
        Option("filter", "info/restart/wait: KEY=VALUE with KEY one of %s; repeat it (AND); a value may "
               "list alternatives with commas. status takes a status word, failure (any result that is not "
               "ok) or ok." % ", ".join(FILTER_KEYS), type="keyvalue"),
        Option("vars", "new: POST isos settings KEY=VALUE (DISTRI, VERSION, FLAVOR, ARCH, BUILD, ISO, ...); "
               "repeat it; a key given several times is sent several times. async=1 schedules asynchronously.",
               type="keyvalue", aliases=("var",)),
        Option("param_file", "new: KEY=PATH, send KEY with the content of the file PATH (e.g. "
               "SCENARIO_DEFINITIONS_YAML=scenarios.yaml); repeat it.", multiple=True, commas=False),
        Option("force", "new: schedule even when the build is already scheduled (jobs a person cancelled count "
               "as scheduled); restart, wait: as test restart (missing assets, directly chained parents), and "
               "restart jobs a person cancelled.", type="bool", default=False),
        Option("skip_parents", "restart: do not restart failed chained parents.", type="bool", default=False),
        Option("skip_children", "restart: do not restart children.", type="bool", default=False),
        Option("skip_ok_result_children", "restart: do not restart passed or softfailed children.",
               type="bool", default=False),
        Option("max_attempts", "restart: leave a job alone when its clone chain already holds this many runs "
               "(the job and those it was restarted from), so that a rerun of a pipeline retries each "
               "failure only so often: 2 restarts a scenario's first failure once. wait: as soon as a job is "
               "final and not ok (and its cluster final), restart it by the same rule (and the restart options) "
               "and wait for it too.",
               type="int", minimum=1),
        Option("limit", "search: how many of the group's newest builds to look through.", type="int",
               default=500),
        Option("wait", "new: wait until the jobs are final, as the wait action does (with async=1, first until "
               "openQA has created them).", type="bool",
               default=False),
        Option("timeout", "wait: give up after this long (90, 15m, 2h).", type="duration", default=3600.0),
        Option("interval", "wait: time between two polls.", type="duration", default=30.0),
    ),
    actions=(
        Action("search", search, "build names of a group matching --name, newest first",
               options=("group", "groupid", "distri", "version", "name", "limit"),
               conflicts=(("group", "groupid"),)),
        Action("info", info, "the latest job of every scenario of the build, grouped by test name",
               options=IDENTITY + SELECTION + ("bugs",), required=("id",), conflicts=(("group", "groupid"),)),
        Action("restart", restart, "restart the build's finished jobs that match the filters in one request",
               options=IDENTITY + SELECTION + ("force", "skip_parents", "skip_children",
                                               "skip_ok_result_children", "max_attempts"),
               required=("id",), mutating=True, conflicts=(("group", "groupid"),)),
        Action("new", new, "schedule a build (POST isos) unless it is already scheduled",
               options=("group", "vars", "param_file", "force", "wait", "timeout", "interval"), required=("vars",),
               mutating=True),
        Action("wait", wait, "wait until the build's latest jobs are final and answer as info does; status 7 "
               "when one is not ok",
               options=IDENTITY + SELECTION + ("timeout", "interval", "max_attempts", "force", "skip_parents",
                                               "skip_children", "skip_ok_result_children"), required=("id",),
               conflicts=(("group", "groupid"),), mutating_options=("max_attempts",)),
    ),
)
