#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: openqa_test
short_description: Restart, stop, clone, inspect, search and wait for openQA jobs (tests)
version_added: 0.1.0
description:
  - Actions on openQA jobs, which the openQA client proposal calls tests.
  - The same actions are available on the command line as C(openqa-ctl test ACTION), with the same results.
  - Mutating actions (V(restart), V(stop), V(clone)) read first and change only what needs changing, so a second
    run reports C(changed=false). In check mode they send no POST and return what they would do.
  - On failure the module fails with RV(status) set; the codes are 2 unknown job, 3 ambiguous options, 4 invalid
    input, 5 authentication, 6 server error, 7 a job result is not ok, 8 timeout, 9 refused by the server.
options:
  action:
    description:
      - V(restart) restarts the jobs in O(id) in one request and returns the new ids. openQA also restarts a chained
        parent whose result is not ok, and the children; RV(returns) lists for each job its restarted parents'
        new ids, then its own, then the other restarted jobs (the proposal's V([parent_new, new])).
        A job restarted before is not restarted again (C(changed=false), its clone is returned) unless O(force).
        Jobs that have not run yet (scheduled, assigned) are left alone with a warning, and status 9 when no job
        is left. Missing assets give status 9 naming them; O(force) overrides. Check mode returns the ids
        that would be restarted.
      - V(stop) (alias V(cancel)) cancels the jobs in O(id), or every pending job matching the conditions
        O(build), O(distri), O(version), O(flavor), O(arch), O(test), O(machine), O(group). It returns the ids
        cancelled; jobs already finished or cancelled are left alone (C(changed=false)).
      - V(clone) clones job O(id) like C(openqa-clone-job) does by default. It clones its parents of every type and its
        parallel children (all children with O(clone_children), none with O(skip_deps)), applies O(vars) to the job
        and its children (V(WORKER_CLASS) to all), sets C(CLONED_FROM), keeps the group, and posts the whole cluster
        in one request. It returns the new id and the map of old to new ids. When a clone with exactly these
        settings already exists it is returned instead (C(changed=false)) unless O(force). With O(to) the
        clone is created on another instance; assets are never copied (like C(--skip-download)), so they must
        exist there. Check mode returns the settings it would post, with the values openQA redacts
        (C(_SECRET_*), C(*_PASSWORD), and any the server shows as C([redacted])) shown as C([redacted]).
      - V(status) returns one word for the job's state and result, see RV(returns).
      - V(search) returns the ids of matching jobs, newest first, searching the newest O(limit) jobs plus the
        pending ones. O(since) and O(comments) are applied by the client (one request per job for O(comments)).
      - V(info) returns details of one job, selected with O(attributes).
      - V(wait) waits until every job in O(id) is final, polling all of them in one request every O(interval);
        it returns each job's status word. Status 7 when a result is not passed or softfailed, 8 on timeout.
    type: str
    required: true
    choices: [restart, stop, cancel, clone, status, search, info, wait]
  id:
    description:
      - The job id. V(restart), V(stop) and V(wait) take several; the other actions exactly one.
    type: list
    elements: int
  follow:
    description:
      - With V(status), report on the newest clone when the job was restarted. Defaults to V(false).
      - With V(wait), follow restarts and wait for the newest clone. Defaults to V(true).
    type: bool
  force:
    description:
      - With V(restart), restart despite missing assets or a directly chained parent, and for a job that was
        already restarted, restart its newest clone when that has finished.
      - With V(clone), clone even when an identical clone exists.
      - Defaults to V(false).
    type: bool
  parent:
    description:
      - With V(restart), restart the jobs' parents explicitly, whatever their result; openQA then restarts their
        children, these jobs included. It excludes O(skip_parents) and O(skip_children). Defaults to V(false).
    type: bool
  skip_parents:
    description:
      - With V(restart), do not restart failed chained parents. Defaults to V(false).
    type: bool
  skip_children:
    description:
      - With V(restart), do not restart children. Defaults to V(false).
    type: bool
  skip_ok_result_children:
    description:
      - With V(restart), do not restart passed or softfailed children. Defaults to V(false).
    type: bool
  prio:
    description:
      - With V(restart), the priority of the new jobs.
    type: int
  comment:
    description:
      - With V(restart), a comment posted on each restarted job (one request per job).
    type: str
  vars:
    description:
      - Job settings as C(KEY=VALUE) strings or a dict. V(KEY=) deletes the setting.
      - With V(restart), settings of the new jobs.
      - With V(clone), overrides in the order given; V(KEY+=VALUE) appends to the setting. Setting the same key
        to two values, or both V(_GROUP) and V(_GROUP_ID), is status 3.
    type: raw
  to:
    description:
      - With V(clone), the destination openQA host; the job is read from O(host). Credentials for it come from
        E(OPENQA_API_KEY)/E(OPENQA_API_SECRET), then its C(client.conf) section (O(api_key) is for O(host)).
    type: str
  skip_deps:
    description:
      - With V(clone), clone only the job itself. Defaults to V(false).
    type: bool
  clone_children:
    description:
      - With V(clone), clone chained children too, not only parallel ones (one level). Defaults to V(false).
    type: bool
  reason:
    description:
      - With V(stop), the reason recorded on each cancelled job.
    type: str
  build:
    description:
      - Condition for V(stop) and V(search), the job setting C(BUILD).
    type: str
  distri:
    description:
      - Condition for V(stop) and V(search), the job setting C(DISTRI).
    type: str
  version:
    description:
      - Condition for V(stop) and V(search), the job setting C(VERSION).
    type: str
  flavor:
    description:
      - Condition for V(stop) and V(search), the job setting C(FLAVOR).
    type: str
  arch:
    description:
      - Condition for V(stop) and V(search), the job setting C(ARCH).
    type: str
  test:
    description:
      - Condition for V(stop) and V(search), the job setting C(TEST).
    type: str
  machine:
    description:
      - Condition for V(stop) and V(search), the job setting C(MACHINE).
    type: str
  group:
    description:
      - Condition for V(stop) and V(search), the job group name, or its numeric id.
    type: str
  state:
    description:
      - With V(search), the openQA job states to match.
    type: list
    elements: str
    choices: [scheduled, assigned, setup, running, uploading, done, cancelled]
  result:
    description:
      - With V(search), the openQA job results to match.
    type: list
    elements: str
    choices: [none, passed, softfailed, failed, incomplete, skipped, obsoleted, parallel_failed, parallel_restarted,
              user_cancelled, user_restarted, timeout_exceeded]
  comments:
    description:
      - With V(search), only jobs with a comment containing this text (case-insensitive).
    type: str
  since:
    description:
      - With V(search), only jobs finished within this time (V(12h), V(1d), V(2w)) or still pending.
        openQA has no time filter, so the search pages newest first and stops at the first page that is older.
    type: str
  limit:
    description:
      - With V(search), how many of the newest matching jobs are searched (besides the pending ones).
        Defaults to 500, the proposal's scope; openQA allows at most 10000 per request.
    type: int
  attributes:
    description:
      - With V(info), the attributes to return; all of them when not set. An unknown name is status 4.
      - V(id), V(name), V(test), V(status), V(state), V(result), V(priority), V(group), V(group_id), V(distri),
        V(version), V(flavor), V(arch), V(build), V(machine), V(settings), V(assets), V(parents), V(children),
        V(blocked_by_id), V(clone_id), V(clone_chain) (this job and its restarts), V(t_started), V(t_finished),
        V(comments) (their texts), V(previous_results) (up to 10 earlier jobs of the same scenario, newest first).
    type: list
    elements: str
  wait:
    description:
      - With V(restart) and V(clone), wait for the new jobs as V(wait) does; RV(returns) then also holds
        C(results), and the status is the wait's. Defaults to V(false).
    type: bool
  timeout:
    description:
      - With O(action=wait), or O(wait=true) on V(restart) and V(clone), give up after this long (V(90), V(15m), V(2h)) with status 8. Defaults to 1 hour.
    type: str
  interval:
    description:
      - With O(action=wait), or O(wait=true) on V(restart) and V(clone), the time between two polls. Defaults to 30 seconds.
    type: str
extends_documentation_fragment:
  - openqa.client.connection
  - openqa.client.connection.attributes
attributes:
  check_mode:
    support: full
    description: Read actions never change anything; mutating actions send no POST, PUT or DELETE in check mode.
notes:
  - openQA 4.6 answers a restart with HTTP 200 even when it restarted nothing; the module reads the answer's
    errors and turns them into the statuses above.
author:
  - openqa.client contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Gate on a job's result
  openqa.client.openqa_test:
    host: https://openqa.example.com
    action: status
    id: 4242
  register: job

- name: Fail unless it passed
  ansible.builtin.assert:
    that: job.returns in ['passed', 'softfailed']

- name: Restart a failed job with a new ISO and wait for the result
  openqa.client.openqa_test:
    host: https://openqa.example.com
    action: restart
    id: 4242
    vars:
      ISO: openSUSE-Tumbleweed-DVD-x86_64-Snapshot20261130-Media.iso
    wait: true
    timeout: 2h

- name: Cancel everything still pending of an old build
  openqa.client.openqa_test:
    host: https://openqa.example.com
    action: stop
    distri: opensuse
    build: "20261120"
    reason: superseded by 20261127

- name: Clone a job to a staging instance with another worker class
  openqa.client.openqa_test:
    host: https://openqa.opensuse.org
    action: clone
    id: 4242
    to: https://openqa.staging.example.com
    vars: [WORKER_CLASS=qemu_x86_64_staging, BUILD=]

- name: Failed jobs of the last day
  openqa.client.openqa_test:
    host: o3
    action: search
    result: [failed, incomplete]
    since: 1d
  register: failures

- name: Wait for several jobs, polling them together
  openqa.client.openqa_test:
    host: o3
    action: wait
    id: "{{ failures.returns }}"
    interval: 1m
    timeout: 3h
"""

RETURN = r"""
returns:
  description:
    - What the action returns, as in the proposal's C(returns).
    - For V(restart), the list of new ids, or with O(wait) a dict with C(ids) and C(results).
    - For V(stop), the ids cancelled (empty when nothing was pending).
    - For V(clone), C(id) (the new id of O(id)) and C(ids) (old id to new id for the whole cluster); with O(wait)
      also C(results); in check mode C(settings), the settings per old id that would be posted (secrets as C([redacted])).
    - For V(status), one word. While the job is pending it is V(scheduled) (states scheduled, assigned) or
      V(running) (setup, running, uploading). When it is final it is the openQA result (V(passed), V(softfailed),
      V(failed), V(incomplete), V(skipped), V(obsoleted), V(parallel_failed), V(parallel_restarted),
      V(user_cancelled), V(user_restarted), V(timeout_exceeded)), or the state (V(cancelled), V(done)) when there
      is no result.
    - For V(search), the matching ids, newest first.
    - For V(info), a dict of the selected O(attributes).
    - For V(wait), a dict of job id (as given, even when a restart was followed) to its status word.
  returned: success
  type: raw
  sample: failed
status:
  description: The status code of the proposal's envelope; 0 is ok, see the collection README for the others.
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
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.openqa.client.plugins.module_utils._jobs import ENTRY
from ansible_collections.openqa.client.plugins.module_utils._runner import run_module


def main() -> None:
    run_module(AnsibleModule, ENTRY, supports_check_mode=True)


if __name__ == "__main__":
    main()
