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
      - V(restart) restarts the jobs in O(id) in one request and returns the new ids and the map of old to new ids.
        openQA also restarts a chained parent whose result is not ok, and the children; C(ids) lists for each job
        its restarted parents' new ids, then its own, then the other restarted jobs (the proposal's
        V([parent_new, new])).
        A job restarted before is not restarted again (C(changed=false), its clone is returned) unless O(force).
        Jobs that have not run yet (scheduled, assigned) are left alone with a warning, and status 9 when no job
        is left. Missing assets give status 9 naming them; O(force) overrides. Check mode returns no new
        ids and maps the ids that would be restarted to null.
      - V(stop) (alias V(cancel)) cancels the jobs in O(id), or every pending job matching the conditions
        O(build), O(distri), O(version), O(flavor), O(arch), O(test), O(machine), O(group). It returns the ids
        cancelled; jobs already finished or cancelled are left alone (C(changed=false)).
      - V(clone) clones job O(id) like C(openqa-clone-job) does by default. It clones its parents of every type and its
        parallel children (all children with O(clone_children), none with O(skip_deps)), applies O(vars) to the job
        and its children (V(WORKER_CLASS) to all), sets C(CLONED_FROM), keeps the group, and posts the whole cluster
        in one request. It returns the new id and the map of old to new ids. When a clone with exactly these
        settings already exists it is returned instead (C(changed=false)) unless O(force). With O(to) the
        clone is created on another instance; assets are never copied (like C(--skip-download)), so they must
        exist there. Check mode maps the ids that would be cloned to null and returns the settings it would post,
        with the values openQA redacts (C(_SECRET_*), C(*_PASSWORD), and any the server shows as C([redacted]))
        shown as C([redacted]).
      - V(status) returns one word for the job's state and result, see RV(returns).
      - V(search) returns the ids of matching jobs, newest first, searching the newest O(limit) jobs plus the
        pending ones. O(since) and O(comments) are applied by the client (one request per job for O(comments)).
      - V(info) returns details of one job, selected with O(attributes).
      - V(wait) waits until every job in O(id) is final, polling all of them in one request every O(interval);
        it returns each job's status word. Status 7 when a result is not passed or softfailed, 8 on timeout.
      - V(download) stores the files of the job O(id) in O(dest), laid out like C(openqa-cli archive) in
        C(testresults/) (logs, C(details-MODULE.json), screenshots, text results), C(testresults/ulogs/) and one
        directory per asset type. Files stream to disk and a broken or interrupted transfer is resumed; files already
        complete are not fetched again (V(changed=false)). A file name from the server that is not a plain name
        below O(dest), or two names that land on one path, are refused before anything is written (status 6).
        Files are written to a fresh C(NAME.part), never through a link, and renamed into place. Each file is
        bounded like an API answer, logs and screenshots by O(max_answer_mb) (a larger one is skipped with a
        warning), assets by O(asset_size_limit), and the file with all its requests by O(deadline).
      - V(comment) adds the comment O(text) to each job in O(id) that has no comment with exactly this text
        (C(changed=false) when all have it), or with O(remove) deletes the comments with this text. openQA
        versions with the bulk comments route get one request for all jobs, older ones one per job. Check mode
        returns the jobs that would change. Deleting comments needs an admin's API key on openQA 4.6.
      - V(label) labels each failed job in O(id) by the first of O(rules) whose C(pattern) (a regular expression)
        is found in the job's reason followed by its C(autoinst-log.txt) (and whose C(module), if any, matches its
        first failed module), as auto-review
        (C(openqa-label-known-issues)) does. The log is fetched as V(download) fetches files (streamed, the
        client's deadline; also in check mode, into a scratch directory removed afterwards) and only read when it
        is at most O(log_size_limit). Every job is matched before anything is posted. The rule's C(label) is added
        as V(comment) adds it, in one request for all its jobs where openQA has bulk comments (C(changed=false)
        when the job has it); C(retry) restarts the jobs once, in one request (a job already
        restarted, or whose scenario ran twice, is left alone); C(force_result) prefixes the comment with openQA's
        C(label:force_result:RESULT:) and is refused (status 9, nothing done) unless O(allow_force_result).
        A failed job no rule matches is reported V(unknown); passed and softfailed jobs V(not failed), pending and
        cancelled ones V(not run).
      - V(investigate) clones each failed or incomplete job in O(id) up to four ways, as C(openqa-investigate)
        does, named C(TEST:investigate:KIND), V(retry) (the job again), V(last_good_tests) (CASEDIR pinned to the
        C(TEST_GIT_HASH) of the scenario's last good job, only when it differs), V(last_good_build) (the last good
        job, only when its build differs) and V(last_good_tests_and_build) (only when both differ). The clones
        leave the group (C(_GROUP_ID=0)) and the build (C(BUILD=)), drop every C(PUBLISH_*) setting, carry
        C(OPENQA_INVESTIGATE_ORIGIN) and get the origin's priority plus O(prio_add). One comment on the origin
        lists them; a rerun finds it and returns the same ids (C(changed=false)). Jobs in a parallel or directly
        chained cluster, investigation jobs, restarted jobs, jobs with C(NO_INVESTIGATION=1), jobs without a
        group (unless O(include_no_group)) and groups matching O(exclude_group) are skipped, each with the
        reason. With O(conclude), a finished investigation's verdict is returned and posted once as a comment.
        Check mode returns the clones it would make (ids null) and the comment.
    type: str
    required: true
    choices: [restart, stop, cancel, clone, status, search, info, wait, download, comment, label, investigate]
  id:
    description:
      - The job id. V(restart), V(stop) and V(wait) take several; the other actions exactly one.
    type: list
    elements: int
  follow:
    description:
      - With V(status), report on the newest clone when the job was restarted. When not set, V(false).
      - With V(wait), follow restarts and wait for the newest clone. When not set, V(true).
    type: bool
  force:
    description:
      - With V(restart), restart despite missing assets or a directly chained parent, and for a job that was
        already restarted, restart its newest clone when that has finished.
      - With V(clone), clone even when an identical clone exists.
    type: bool
    default: false
  parent:
    description:
      - With V(restart), restart the jobs' parents explicitly, whatever their result; openQA then restarts their
        children, these jobs included. It excludes O(skip_parents) and O(skip_children).
    type: bool
    default: false
  skip_parents:
    description:
      - With V(restart), do not restart failed chained parents.
    type: bool
    default: false
  skip_children:
    description:
      - With V(restart), do not restart children.
    type: bool
    default: false
  skip_ok_result_children:
    description:
      - With V(restart), do not restart passed or softfailed children.
    type: bool
    default: false
  prio:
    description:
      - With V(restart), the priority of the new jobs.
    type: int
  comment:
    description:
      - With V(restart), a comment posted on each restarted job (one request per job).
    type: str
  max_attempts:
    description:
      - With V(restart), leave a job alone when its clone chain already holds this many runs (the job and the
        jobs it was restarted from). V(2) retries a failure once. The message names the jobs left alone.
    type: int
  vars:
    description:
      - Job settings as C(KEY=VALUE) strings or a dict. V(KEY=) deletes the setting.
      - With V(restart), settings of the new jobs.
      - With V(clone), overrides in the order given; V(KEY+=VALUE) appends to the setting. Setting the same key
        to two values, or both V(_GROUP) and V(_GROUP_ID), is status 3.
      - With V(clone), V(KEY:TESTNAME=VALUE) (and V(KEY:TESTNAME+=VALUE)) applies only to the job of the cluster
        whose TEST is TESTNAME, parents included, as C(openqa-clone-job) does.
      - With V(clone), an override reaches the job and its children; V(WORKER_CLASS), V(_GROUP) and V(_GROUP_ID)
        reach the parents too, and with O(parental_inheritance) every override does.
      - Several pairs may also come as one string separated by spaces, split like a shell does (quotes keep spaces
        inside a value), e.g. V(DISTRI=opensuse VERSION=Tumbleweed DESC="two words"). A value holding a comma
        followed by C(KEY=) is invalid input; give such pairs separately.
    type: raw
  to:
    description:
      - With V(clone), the destination openQA host; the job is read from O(host). Its credentials are
        O(to_api_key)/O(to_api_secret), else E(OPENQA_API_KEY)/E(OPENQA_API_SECRET) only when E(OPENQA_HOST) names
        the destination, else its section in C(client.conf); O(api_key) is only ever used for O(host). Without any,
        the clone fails with status 5 before any request to it.
      - RV(credential_source) then names the source of both ends.
    type: str
  to_api_key:
    description:
      - With V(clone) and O(to), the API key for the destination.
    type: str
  to_api_secret:
    description:
      - With V(clone) and O(to), the API secret belonging to O(to_api_key). It is never logged nor returned.
    type: str
  skip_deps:
    description:
      - With V(clone), clone only the job itself.
    type: bool
    default: false
  clone_children:
    description:
      - With V(clone), clone chained children too, not only parallel ones (O(max_depth) levels).
    type: bool
    default: false
  skip_chained_deps:
    description:
      - With V(clone), clone no chained parents or children, only parallel ones, as C(openqa-clone-job
        --skip-chained-deps).
    type: bool
    default: false
  max_depth:
    description:
      - With V(clone), how many levels of children are cloned; V(0) clones all. V(1) is the job's own children,
        as C(openqa-clone-job --max-depth).
    type: int
    default: 1
  parental_inheritance:
    description:
      - With V(clone), every override of O(vars) reaches the parents too.
    type: bool
    default: false
  repeat:
    description:
      - With V(clone), make this many clones of the cluster, TEST suffixed V(-1) to V(-N) (zero-padded to the width
        of N) as C(openqa-clone-job --repeat). Each is posted only when no identical clone exists.
    type: int
    default: 1
  ignore_missing_assets:
    description:
      - With V(clone), clone even when assets the clones need (ISO, HDD_N, ASSET_N, ...) are missing on the target.
        Without it, a missing asset is status 9 and nothing is cloned; assets a cloned parent publishes are not
        needed beforehand.
    type: bool
    default: false
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
      - A name matches exactly, case included, as openQA matches it; a group that does not exist is status 2
        C(unknown group), naming the near matches.
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
        The default is the proposal's scope; openQA allows at most 10000 per request.
    type: int
    default: 500
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
        C(results), and the status is the wait's.
    type: bool
    default: false
  timeout:
    description:
      - With O(action=wait), or O(wait=true) on V(restart) and V(clone), give up after this long (V(90), V(15m),
        V(2h)) with status 8.
    type: str
    default: 1h
  dest:
    description:
      - With V(download), the directory for the files on the controlled node; created when missing.
    type: str
  what:
    description:
      - With V(download), which files to fetch, any of V(logs) (the job's log files and uploaded logs),
        V(results) (module details, screenshots, text results) and V(assets) (the job's ISO, HDD and other
        assets; C(repo) assets are left out).
      - The default is V(logs) and V(results).
    type: list
    elements: str
    choices: [logs, results, assets]
  asset_size_limit:
    description:
      - With V(download), assets larger than this (V(200M), V(1G), in bytes without a unit) are skipped with a
        warning. The default is V(200M), as C(openqa-cli archive).
    type: str
  interval:
    description:
      - With O(action=wait), or O(wait=true) on V(restart) and V(clone), the time between two polls.
    type: str
    default: 30s
  text:
    description:
      - "With O(action=comment), the comment's text, for example V(bsc#1234: known issue). A bug reference in it
        shows in M(openqa.client.openqa_build) V(info) with O(openqa.client.openqa_build#module:bugs)."
      - openQA stores a bug tracker URL as its bug reference (V(https://progress.opensuse.org/issues/5) as
        V(poo#5)); a comment counts as present when its text is O(text) as openQA stores it.
    type: str
  remove:
    description:
      - With O(action=comment), delete the job's comments whose text is exactly O(text) instead of adding one.
      - openQA does not delete a comment with a C(label:force_result:) label; removing one is refused (status 9)
        and nothing is removed.
    type: bool
    default: false
  rules:
    description:
      - With V(label), the rules, as a list or the name of a YAML or JSON file holding one. Each rule is a dict
        with C(pattern) (a Python regular expression; V(.) matches a newline only with V((?s)), as C(grep -Pz)),
        C(module) (a regular expression the name of the job's first failed test module must match as a whole;
        a rule needs C(pattern), C(module) or both, and the log is fetched only when a C(pattern) is tried),
        C(label) (the comment text, for example V(poo#1234 download fails)), C(retry) (bool, default false) and
        C(force_result) (an openQA result or null).
    type: raw
  allow_force_result:
    description:
      - With V(label), allow rules with C(force_result); without it such rules are refused (status 9) before
        any job is read, as auto-review disables them by default. The job's result is read back; a warning says
        when openQA did not apply the label.
    type: bool
    default: false
  log_size_limit:
    description:
      - With V(label), the largest C(autoinst-log.txt) matched against (V(200M), V(1G)); a larger log is not read
        and the job is matched against its reason only, with a warning. The default is V(200M), as for
        O(asset_size_limit).
    type: str
  prio_add:
    description:
      - With V(investigate), the investigation jobs get the origin's priority plus this.
    type: int
    default: 100
  exclude_group:
    description:
      - With V(investigate), skip jobs whose C(PARENT GROUP / GROUP) matches this regular expression (the
        C(exclude_group_regex) of C(openqa-investigate), whose default is V(Development.*/ )).
    type: str
  include_no_group:
    description:
      - With V(investigate), also investigate jobs outside any job group.
    type: bool
    default: false
  conclude:
    description:
      - With V(investigate), once every investigation job is final, return the verdict (V(sporadic) when the retry
        passed, V(product regression) when the last good build passed, V(test regression) when the last good tests
        passed, V(infrastructure) when all failed, V(not sporadic) when the only job, the retry, failed,
        V(unclear) or V(cancelled))
        and post it once as a comment on the origin; V(pending) while they run.
    type: bool
    default: false
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
- name: Keep a failed job's logs and results as pipeline artifacts
  openqa.client.openqa_test:
    host: https://openqa.example.com
    action: download
    id: 4242
    dest: "{{ playbook_dir }}/artifacts/4242"

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

- name: Label failed jobs with a known bug (nothing is posted on jobs that already have the label)
  openqa.client.openqa_test:
    host: o3
    action: comment
    id: "{{ failures.returns }}"
    text: "bsc#1234: known issue"

- name: Label known failures by rules (auto-review), restarting the flaky ones once
  openqa.client.openqa_test:
    action: label
    id: "{{ failures.returns }}"
    rules:
      - pattern: "(?s)Download of .* failed.*404"
        label: "poo#1234 asset download fails"
        retry: true

- name: Investigate a failure (openqa-investigate), then later read its verdict
  openqa.client.openqa_test:
    action: investigate
    id: 4242
    conclude: true
"""

RETURN = r"""
returns:
  description:
    - What the action returns, as in the proposal's C(returns). Each action has one shape; O(wait) and check
      mode only add keys to it or set new ids to null, they never change its type.
    - When a step after a change fails (a comment after V(restart), the next job of V(stop), a poll of O(wait)),
      the module fails with C(changed=true) and RV(returns) still says what was done.
    - For V(restart) and V(clone), a dict, see its keys below.
    - For V(stop), the list of ids cancelled (empty when nothing was pending).
    - For V(clone), with O(repeat) also C(repeats), one result of this shape per clone. In check mode also
      C(settings), the settings per old id that would be posted (secrets as C([redacted])), C(command), the
      equivalent C(openqa-clone-job)
      command line, and C(export_command), the request as C(openqa-clone-job --export-command) prints it. When
      assets are missing (status 9), C(missing_assets) lists them as C(type/name).
    - For V(status), one word. While the job is pending it is V(scheduled) (states scheduled, assigned) or
      V(running) (setup, running, uploading). When it is final it is the openQA result (V(passed), V(softfailed),
      V(failed), V(incomplete), V(skipped), V(obsoleted), V(parallel_failed), V(parallel_restarted),
      V(user_cancelled), V(user_restarted), V(timeout_exceeded)), or the state (V(cancelled), V(done)) when there
      is no result.
    - For V(search), the list of matching ids, newest first.
    - For V(info), a dict of the selected O(attributes).
    - For V(wait), a dict of job id (as given, even when a restart was followed) to its status word.
    - For V(download), C(dest), C(files) (each C(path) below O(dest), C(bytes) and C(outcome) V(downloaded),
      V(resumed), V(written) or V(unchanged)) and C(skipped) (C(path), C(reason)).
    - For V(comment), the ids of the jobs that were (in check mode would be) commented on, or with O(remove)
      uncommented; empty when nothing changed.
    - For V(label), a list with one dict per job, in the order of O(id), with C(id), C(status) (its status word),
      C(outcome) (V(labelled), V(unknown), V(not failed) or V(not run)), C(rule) (the number of the matching rule,
      from 1), C(label) (the comment text), C(commented) (whether it was, in check mode would be, posted now) and
      C(restarted) (the new id of a retried job, null in check mode or without C(retry)).
    - For V(investigate), a list with one dict per job with C(id), C(skipped) (why it was not investigated, or null),
      C(existing) (an earlier run's investigation was found), C(last_good) (the last good job's id) and
      C(last_good_source) (V(investigation_ajax) or V(jobs API)), C(jobs) (kind to investigation job id, null in
      check mode), C(not_cloned) (kind to why not), C(comment) (the origin's investigation comment), C(verdict)
      and C(verdict_text) (with O(conclude), else null).
  returned: success, with status 7 (a job not ok) or 8 (timeout) after a wait, which a gate reads, and on a
    failure after a change
  type: raw
  sample: {"ids": [4243], "clones": {"4242": 4243}}
  contains:
    id:
      description: The new id of O(id); null in check mode.
      returned: when O(action=clone)
      type: int
    ids:
      description:
        - The new job ids; empty in check mode.
        - For V(restart), for each job asked for the new ids of its restarted parents and then its own, then the
          other jobs openQA restarted with them (the proposal's V([parent_new, new])). For V(clone), sorted.
        - A second run on jobs already restarted returns the same ids (their existing clones and those of the
          relatives restarted with them), with C(changed=false).
      returned: when O(action=restart) or O(action=clone)
      type: list
      elements: int
    clones:
      description:
        - Old job id (as a string) to its new id, for every job restarted or cloned; the new id is null in
          check mode. A job restarted or cloned before maps to that existing clone (C(changed=false)).
      returned: when O(action=restart) or O(action=clone)
      type: dict
    settings:
      description: Old job id (as a string) to the settings that would be posted for its clone.
      returned: when O(action=clone) in check mode
      type: dict
    results:
      description: New job id (as a string) to its final status word, as V(wait) returns it.
      returned: when O(action=restart) or O(action=clone) with O(wait=true), not in check mode
      type: dict
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
server:
  description:
    - The openQA server the action talked to, as outputs show it (C(user:password@) in O(host) becomes C(***@)),
      for reports that name the server.
  returned: when the connection options were valid
  type: str
  sample: https://openqa.example.com
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.openqa.client.plugins.module_utils._jobs import ENTRY
from ansible_collections.openqa.client.plugins.module_utils._runner import run_module


def main() -> None:
    run_module(AnsibleModule, ENTRY, supports_check_mode=True, missing_lib=missing_required_lib)


if __name__ == "__main__":
    main()
