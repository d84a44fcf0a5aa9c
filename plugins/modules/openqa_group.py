#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: openqa_group
short_description: Search and inspect openQA job groups and their builds
version_added: 0.1.0
description:
  - Read-only actions on openQA job groups (a group is a bunch of builds, a build a bunch of jobs).
  - The same actions are available on the command line as C(openqa-ctl group ACTION).
  - Build figures are the server's own (the group overview's); they count the newest job per scenario of each
    build and leave out restarted jobs. Servers that have C(job_groups/ID/build_results) answer through it, older
    ones (openQA 4.6) through C(/dashboard_build_results).
options:
  action:
    description:
      - V(search) returns the job groups and parent groups whose name matches O(name), with their builds, read
        in one request from the dashboard's build results; a group hidden from the dashboard
        (C(ignore_on_dashboard), newer openQA) costs one more request for its own.
      - V(info) (alias V(display)) returns one job group with its builds' job counts.
    type: str
    required: true
    choices: [search, info, display]
  id:
    description:
      - The job group id, for V(info). Parent groups are numbered separately and are not accepted here.
    type: int
  name:
    description:
      - With V(search), only groups whose name contains this text, compared case-insensitively.
        Without it, all groups.
      - With O(regex=true), a regular expression (Python syntax) searched in the name, case-insensitively.
    type: str
  regex:
    description:
      - Treat O(name) as a regular expression.
    type: bool
    default: false
  builds_younger:
    description:
      - With V(info), only builds that have a job created within this age, such as V(10d), V(12h) or V(90m)
        (units s, m, h, d, w). Without it, all builds.
    type: str
  kind:
    description:
      - With V(info), what O(id) numbers. Job groups and parent groups are numbered separately, so the same
        number can name one of each; V(search) returns each group's C(kind).
      - A parent group's C(builds) count the jobs of all its job groups.
    type: str
    choices: [job_group, parent_group]
    default: job_group
extends_documentation_fragment:
  - openqa.client.connection
  - openqa.client.connection.attributes
attributes:
  check_mode:
    support: full
    description: All actions only read.
author:
  - openqa.client contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Find the Tumbleweed groups
  openqa.client.openqa_group:
    host: https://openqa.example.com
    action: search
    name: tumbleweed
  register: found

- name: Results of the last ten days of the first one
  openqa.client.openqa_group:
    host: https://openqa.example.com
    action: info
    id: "{{ found.returns.groups[0].id }}"
    kind: "{{ found.returns.groups[0].kind }}"
    builds_younger: 10d
  register: group

- name: Fail unless every job of the newest build is ok (not only "none failed" - cancelled, skipped and
    unfinished jobs are not ok either)
  ansible.builtin.assert:
    that: group.returns.builds[0].passed + group.returns.builds[0].softfailed == group.returns.builds[0].total
"""

RETURN = r"""
returns:
  description:
    - What the action returns, as in the proposal's C(returns).
    - For V(search), a dictionary with one key C(groups), a list of C(id), C(name), C(kind) and C(builds), with C(kind)
      V(job_group) or V(parent_group)
      (their ids are separate sequences) and C(builds) the build names, newest first (a parent's are its
      children's).
    - For V(info), C(id), C(name), C(kind) (as O(kind)), C(parent) (C({"id", "name"}) or null), C(priority) (the
      group's default job priority), C(description) and C(builds), newest first, each with C(build), C(version) and
      the job counts C(passed), C(softfailed), C(failed) (also incomplete and other not-ok results), C(skipped)
      (cancelled, obsoleted, ...), C(unfinished) (scheduled or running) and C(total).
  returned: success
  type: dict
  sample:
    id: 1
    name: openSUSE Tumbleweed
    kind: job_group
    parent: {id: 1, name: openSUSE}
    priority: 50
    description: null
    builds:
      - {build: "20261127", version: Tumbleweed, passed: 1, softfailed: 1, failed: 4, skipped: 1, unfinished: 1,
         total: 8}
status:
  description: The status code of the proposal's envelope; 0 is ok, 2 an unknown group, 4 invalid input.
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
  sample: none (anonymous)
server:
  description:
    - The openQA server the action talked to, as outputs show it (C(user:password@) in O(host) becomes C(***@)),
      for reports that name the server.
  returned: when the connection options were valid
  type: str
  sample: https://openqa.example.com
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.openqa.client.plugins.module_utils._groups import ENTRY
from ansible_collections.openqa.client.plugins.module_utils._runner import run_module


def main() -> None:
    run_module(AnsibleModule, ENTRY, supports_check_mode=True, missing_lib=missing_required_lib)


if __name__ == "__main__":
    main()
