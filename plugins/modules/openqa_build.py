#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: openqa_build
short_description: Search, inspect, restart, schedule and wait for openQA builds
version_added: 0.1.0
description:
  - Actions on an openQA build. openQA has no build object; a build is the jobs that share a BUILD value,
    narrowed by O(group) or O(groupid), O(distri) and O(version).
  - V(info), V(restart) and V(wait) read the build with one request per 10,000 jobs (restarted ones included)
    and use the latest job of every scenario; V(restart) then restarts in one bulk request.
  - When the same BUILD value is found in several groups or products and nothing narrows it, V(info),
    V(restart) and V(wait) fail with status 3 and list the candidates in RV(returns). Give O(group) or
    O(groupid) (and O(distri) or O(version) when needed), so that a gate never judges another group's jobs.
  - The same actions are available on the command line as C(openqa-ctl build ACTION).
options:
  action:
    description:
      - V(search) returns the build names of a group that contain O(name), newest first.
      - V(info) returns the latest jobs of the build grouped by test name.
      - V(restart) restarts the build's finished jobs that match O(name), O(arch) and O(filter), following the
        dependency rules of C(openqa.client.openqa_test) V(restart). Jobs still scheduled or running are left
        alone. An unknown build is not an error (message V(no build found)), nothing left to restart is
        not a change.
      - V(new) schedules the build as C(POST isos) does, from O(vars). It is idempotent. When jobs of the same
        DISTRI, VERSION, FLAVOR, ARCH and BUILD (in the group, and of TEST and MACHINE when given) exist and are
        not cancelled nor obsoleted, nothing is posted and their ids are returned. O(force) schedules anyway.
        A POST that fails in transit is never repeated; the server is read back to find what it scheduled.
      - V(wait) waits until the build's latest jobs (those matching the filters) are final, following restarts.
        With O(max_attempts) it restarts the jobs that end not ok (one request, from the listing it polls) and
        waits for the restarts too, so that "retry each failure once" is one task. C(changed) is V(true) when it
        restarted, and the message says which job was restarted as which. It returns the build as V(info) does,
        from its last poll, so that a gate needs no read of its own.
    type: str
    required: true
    choices: [search, info, restart, new, wait]
  id:
    description:
      - The BUILD value, for example V(20261127). Required by V(info), V(restart) and V(wait).
    type: str
  group:
    description:
      - The job group, by name or by id (a value of digits only is an id).
      - A name matches exactly, case included, as openQA's job listing and C(POST isos) match it; every action
        answers status 2 C(unknown group) for a group that does not exist, naming the near matches (a case
        difference, a typo). A build absent from a group that exists is C(no build found) (V(restart)) or
        C(unknown build) (V(info), V(wait)).
      - With V(new), only this group's job templates are scheduled (C(_GROUP_ID) or C(_GROUP) of C(POST isos)).
      - Mutually exclusive with O(groupid).
    type: str
  groupid:
    description:
      - The job group id. V(0) means jobs without a group.
    type: int
  distri:
    description:
      - Narrow the build to this DISTRI.
    type: str
  version:
    description:
      - Narrow the build to this VERSION.
    type: str
  name:
    description:
      - With V(search), text the build name must contain.
      - With V(info), V(restart) and V(wait), text the test name must contain. Both are case-insensitive.
    type: str
  arch:
    description:
      - With V(info), V(restart) and V(wait), only jobs of this ARCH.
    type: str
  bugs:
    description:
      - With V(info), add C(bug) to each job that is not ok and has a bug reference in its comments (the newest
        one), as the proposal's example shows. This costs one more request per such job.
    type: bool
    default: false
  filter:
    description:
      - With V(info), V(restart) and V(wait), conditions C(KEY=VALUE) on the jobs, as a list of strings or a dict.
        All must hold. A value may list alternatives separated by commas (V(name=raid0,raid1)).
      - Keys are C(name) (text in the test name), C(status), C(arch), C(machine) and C(flavor).
      - C(status) takes a status word (V(passed), V(failed), V(softfailed), V(incomplete), V(skipped),
        V(scheduled), V(running), ...), V(failure) (any final result that is not ok) or V(ok) (passed, softfailed).
      - An unknown key or status word is invalid input (status 4).
    type: raw
  vars:
    description:
      - With V(new), the C(POST isos) settings C(KEY=VALUE), as a list of strings or a dict. DISTRI, VERSION,
        FLAVOR, ARCH and BUILD identify the build; ISO, TEST, MACHINE, C(_OBSOLETE) and any other setting
        are passed on.
      - In a list a key may repeat, and it is then sent once per item, as C(openqa-cli) sends it (openQA stores
        a list). For the build's identity the last one counts.
      - V(async=1) schedules asynchronously; with O(wait) the scheduled product is polled until openQA has
        created its jobs, then they are waited for.
      - Several pairs may also come as one string separated by spaces, split like a shell does (quotes keep spaces
        inside a value), e.g. V(DISTRI=opensuse VERSION=Tumbleweed DESC="two words"). A value holding a comma
        followed by C(KEY=) is invalid input; give such pairs separately.
    type: raw
    aliases: [var]
  param_file:
    description:
      - With V(new), C(KEY=PATH) items; each sends C(KEY) with the content of the file C(PATH) on the controlled
        node, as C(openqa-cli --param-file) (e.g. V(SCENARIO_DEFINITIONS_YAML=scenarios.yaml)).
      - An unreadable file is invalid input (status 4) and nothing is scheduled.
    type: list
    elements: str
  force:
    description:
      - With V(new), schedule even when the build is already scheduled; jobs a person cancelled
        (C(user_cancelled)) count as scheduled, so without O(force) a cancelled build is not scheduled again.
      - With V(restart) (and V(wait) with O(max_attempts)), restart despite missing assets or directly chained
        parents, and restart jobs a person cancelled (and those openQA cancelled with them); without O(force)
        they are left alone and the message names them.
    type: bool
    default: false
  skip_parents:
    description:
      - With V(restart) (and V(wait) with O(max_attempts)), do not restart failed chained parents.
    type: bool
    default: false
  skip_children:
    description:
      - With V(restart) (and V(wait) with O(max_attempts)), do not restart children.
    type: bool
    default: false
  skip_ok_result_children:
    description:
      - With V(restart) (and V(wait) with O(max_attempts)), do not restart passed or softfailed children.
    type: bool
    default: false
  max_attempts:
    description:
      - With V(restart), leave a job alone when its clone chain already holds this many runs (the job and the
        jobs it was restarted from). V(2) retries each failure once, however often the play runs.
      - The message names the jobs left alone; when nothing else is to do, C(changed) is V(false).
      - With V(wait), as soon as a job is final and not ok (and the jobs of its cluster are final), restart
        it by the same rule and wait for it as well, without waiting for the slowest job; without it a wait
        never restarts. In check mode it says what it would restart, with
        status 10 (cannot know yet).
    type: int
  limit:
    description:
      - With V(search), how many of the group's newest builds to look through.
    type: int
    default: 500
  wait:
    description:
      - With V(new), wait until the build's jobs are final, as V(wait) does.
      - With V(async=1) in O(vars), first poll the scheduled product until openQA has created the jobs; O(timeout)
        covers both, and status 8 says when openQA did not create them in time.
    type: bool
    default: false
  timeout:
    description:
      - With the V(wait) action, and with V(new) when O(wait=true), give up after this long (V(90), V(15m),
        V(2h)); status 8.
    type: str
    default: 1h
  interval:
    description:
      - With the V(wait) action, and with V(new) when O(wait=true), the time between two polls (one request each).
    type: str
    default: 30s
extends_documentation_fragment:
  - openqa.client.connection
  - openqa.client.connection.attributes
attributes:
  check_mode:
    support: full
    description:
      - V(restart) maps the ids that would be restarted to null; V(new) says whether it would schedule (C(changed)).
      - Nothing is posted in check mode.
      - V(wait) returns at once in check mode, as what it would wait for may not exist (nothing was scheduled or
        restarted). It reports the current state of the jobs, or an empty RV(returns) when the build has no job yet.
author:
  - openqa.client contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Schedule a build once (a rerun of the play changes nothing)
  openqa.client.openqa_build:
    host: https://openqa.example.com
    action: new
    group: 110
    vars:
      DISTRI: opensuse
      VERSION: Tumbleweed
      FLAVOR: DVD
      ARCH: x86_64
      BUILD: "20261127"
      ISO: openSUSE-Tumbleweed-DVD-x86_64-Snapshot20261127-Media.iso
  register: scheduled

- name: Restart the failed RAID tests of that build
  openqa.client.openqa_build:
    host: https://openqa.example.com
    action: restart
    id: "20261127"
    groupid: 110
    filter:
      - name=raid
      - status=failure
    max_attempts: 2   # rerunning the play does not restart a RAID test a second time

- name: Wait for the build and fail unless every job is ok
  openqa.client.openqa_build:
    host: https://openqa.example.com
    action: wait
    id: "20261127"
    groupid: 110
    timeout: 3h
    interval: 1m

- name: Failures of the build on x86_64
  openqa.client.openqa_build:
    host: https://openqa.example.com
    action: info
    id: "20261127"
    groupid: 110
    arch: x86_64
    filter: status=failed
  register: failures
"""

RETURN = r"""
returns:
  description:
    - What the action returns, as in the proposal's C(returns). Each action has one shape; O(wait) and check
      mode only add keys to it, they never change its type.
    - 'V(search) returns C({"ids": [build names]}), newest first.'
    - 'V(info) returns a list of C({"name": test, "tests": [{"arch", "machine", "id", "status"}]}), sorted by test
      name, the jobs of each test by arch, machine and flavor; C(flavor) is there too when the build spans several;
      a job whose final result is not ok also has C(failure), the first failed module (V(null) when none failed),
      and with O(bugs) C(bug), the newest bug reference in its comments, when there is one.'
    - V(restart) and V(new) return a dict, see its keys below.
    - V(wait) returns what V(info) returns (same shape and order), as its last poll saw the jobs; a job it
      restarted (O(max_attempts)) is there as its restart, the message says which job was restarted as which.
    - When a poll fails after V(wait) restarted jobs, the module fails with C(changed=true) and the build as
      known then (status V(scheduled) for the restarts).
    - 'With status 3, C({"candidates": [{"group", "groupid", "distri", "version"}]}).'
    - When a poll of O(wait) fails after V(new) scheduled jobs, the module fails with C(changed=true) and the ids.
  returned: success, with status 3 or 9, with status 7 (a job not ok) or 8 (timeout) after a wait, which a gate
    reads, and on a failure after a change
  type: raw
  sample: {"ids": [1403568, 1403730], "scheduled_product_id": 412}
  contains:
    ids:
      description:
        - For V(search), the build names. For V(restart), the new job ids (empty in check mode and when nothing
          was restarted). For V(new), the ids of the build's scheduled jobs (empty in check mode).
      returned: when O(action=search), O(action=restart) or O(action=new)
      type: list
    clones:
      description: Old job id (as a string) to its new id for every job restarted; null new ids in check mode.
      returned: when O(action=restart)
      type: dict
    found:
      description:
        - Whether the build exists. An unknown build is status 0 with C(found=false) (the proposal's
          "no build found"), so a playbook can tell it from "nothing to restart".
      returned: when O(action=restart)
      type: bool
    scheduled_product_id:
      description: openQA's scheduled product; null when the build was already scheduled, in check mode, or the
        answer was lost.
      returned: when O(action=new)
      type: int
    failed:
      description: The failed job entries of openQA's answer (status 9).
      returned: when O(action=new) and openQA failed some jobs
      type: list
    results:
      description: Job id (as a string) to its final status word.
      returned: when O(action=new) with O(wait=true), not in check mode
      type: dict
status:
  description:
    - The status code of the proposal's envelope; 0 is ok, see the collection README for the others.
    - 2 unknown build or group, 3 ambiguous build, 4 invalid input (also openQA's missing parameters and
      "no products found"), 7 a job is not ok after V(wait), 8 timeout, 9 openQA refused or failed jobs.
  returned: always
  type: int
  sample: 0
msg:
  description: The envelope's message, V(ok) or what went wrong and how to fix it.
  returned: always
  type: str
  sample: ok
credential_source:
  description: Where the API credentials came from (options, environment, client.conf section) or V(none (anonymous)).
  returned: when the connection options were valid
  type: str
  sample: client.conf [127.0.0.1] in /etc/openqa/client.conf
server:
  description:
    - The openQA server the action talked to, as outputs show it (C(user:password@) in O(host) becomes C(***@)),
      for reports that name the server.
  returned: when the connection options were valid
  type: str
  sample: https://openqa.example.com
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.openqa.client.plugins.module_utils._builds import ENTRY
from ansible_collections.openqa.client.plugins.module_utils._runner import run_module


def main() -> None:
    run_module(AnsibleModule, ENTRY, supports_check_mode=True, missing_lib=missing_required_lib)


if __name__ == "__main__":
    main()
