#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: openqa_worker
short_description: Search and inspect openQA workers
version_added: 0.1.0
description:
  - Read-only actions on openQA workers, the machine slots that run jobs.
  - The same actions are available on the command line as C(openqa-ctl worker ACTION).
options:
  action:
    description:
      - V(search) returns the workers matching every given filter, read from one listing (the server has no
        worker filters).
      - V(info) returns one worker, or only the fields named in O(display).
      - V(status) returns the worker's status word and, while it runs a job, that job's id.
    type: str
    required: true
    choices: [search, info, status]
  id:
    description:
      - The worker id, for V(info) and V(status).
    type: int
  worker_host:
    description:
      - With V(search), only workers on this worker host (compared case-insensitively).
      - The proposal calls this filter C(--host); here O(host) is the openQA server, hence the name.
      - A value with C(://) is a URL, not a worker machine's name, and is status 4.
    type: str
  instance:
    description:
      - With V(search), only workers with this instance number.
    type: int
  alive:
    description:
      - With V(search), only workers that are (V(true)) or are not (V(false)) alive, that is seen by the server
        within its worker timeout.
    type: bool
  connected:
    description:
      - With V(search), only workers that are (V(true)) or are not (V(false)) connected.
    type: bool
  status:
    description:
      - With V(search), only workers with this status.
    type: str
    choices: [idle, running, dead, broken]
  property:
    description:
      - With V(search), only workers whose property C(KEY) has the value C(VAL), written C(KEY=VAL). All given
        properties must match. Keys are case-insensitive.
      - C(WORKER_CLASS) holds a comma-separated list; it matches when C(VAL) is one of its classes, so
        C(WORKER_CLASS=qemu_x86_64) finds a worker with C(qemu_x86_64,qemu_i686).
      - C(KEY=) matches workers without that property.
      - A list of C(KEY=VAL) strings, a dict, or one string of pairs separated by spaces (quotes keep spaces in a
        value). An item without C(=) is invalid input (status 4).
    type: raw
  display:
    description:
      - With V(info), return only these fields. Names are case-insensitive and may be properties too
        (V(WORKER_CLASS), V(CPU_ARCH), ...).
      - The returned keys are spelled as the server spells them (V(host), V(instance), V(WORKER_CLASS)).
      - V(jobid) and V(currentstep) are null while the worker runs no job.
      - An unknown field is invalid input (status 4) and the message lists the valid ones.
    type: list
    elements: str
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
- name: Find the alive workers that can run qemu_x86_64 jobs
  openqa.client.openqa_worker:
    host: https://openqa.example.com
    action: search
    alive: true
    property:
      - WORKER_CLASS=qemu_x86_64
  register: workers

- name: Show where they are
  ansible.builtin.debug:
    msg: "{{ workers.returns | map(attribute='host') | list }}"

- name: Read two fields of one worker
  openqa.client.openqa_worker:
    host: https://openqa.example.com
    action: info
    id: 12
    display: [host, WORKER_CLASS]
  register: worker

- name: Wait until the worker is free
  openqa.client.openqa_worker:
    host: https://openqa.example.com
    action: status
    id: 12
  register: worker_status
  until: worker_status.returns.status == 'idle'
  retries: 30
  delay: 60
"""

RETURN = r"""
returns:
  description:
    - What the action returns, as in the proposal's C(returns).
    - For V(search), a list of workers as the server lists them, each with C(id), C(host), C(instance), C(status),
      C(alive), C(connected), C(websocket), C(error) and C(properties) (and C(jobid) while running).
    - For V(info), that worker, or a dictionary of only the O(display) fields.
    - For V(status), a dictionary with C(status), the status word, and C(jobid), the running job or null (the
      key V(info) uses).
      The word is V(idle), V(running), V(dead) (not seen within the server's worker timeout) or V(broken) (the
      worker reported an error). The proposal's example returns a bare word; the dictionary keeps the job id
      next to it.
  returned: success
  type: raw
  sample: {"status": "running", "jobid": 4242}
status:
  description: The status code of the proposal's envelope; 0 is ok, 2 an unknown worker, 4 invalid input.
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

from ansible_collections.openqa.client.plugins.module_utils._runner import run_module
from ansible_collections.openqa.client.plugins.module_utils._workers import ENTRY


def main() -> None:
    run_module(AnsibleModule, ENTRY, supports_check_mode=True, missing_lib=missing_required_lib)


if __name__ == "__main__":
    main()
