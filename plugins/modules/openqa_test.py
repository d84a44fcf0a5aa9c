#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: openqa_test
short_description: Inspect and act on openQA jobs (tests)
version_added: 0.1.0
description:
  - Actions on one openQA job, which the openQA client proposal calls a test.
  - The same actions are available on the command line as C(openqa-ctl test ACTION).
options:
  action:
    description:
      - V(status) returns one word for the job's state and result, see RV(returns).
    type: str
    required: true
    choices: [status]
  id:
    description:
      - The job id. Actions that act on several jobs take a list.
    type: list
    elements: int
  follow:
    description:
      - With V(status), report on the newest clone when the job was restarted. Defaults to V(false).
    type: bool
extends_documentation_fragment:
  - openqa.client.connection
attributes:
  check_mode:
    support: full
    description: Read actions never change anything; mutating actions send no POST, PUT or DELETE in check mode.
  diff_mode:
    support: none
    description: No diff is produced.
  action_group:
    support: full
    membership: [openqa.client.openqa]
    description: Use C(group/openqa.client.openqa) in C(module_defaults) to set the connection options once.
author:
  - openqa.client contributors
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
"""

RETURN = r"""
returns:
  description:
    - What the action returns, as in the proposal's C(returns).
    - For V(status), one word. While the job is pending it is V(scheduled) (states scheduled, assigned) or
      V(running) (setup, running, uploading). When it is final it is the openQA result (V(passed), V(softfailed),
      V(failed), V(incomplete), V(skipped), V(obsoleted), V(parallel_failed), V(parallel_restarted),
      V(user_cancelled), V(user_restarted), V(timeout_exceeded)), or the state (V(cancelled)) when there is no result.
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

from ansible_collections.openqa.client.plugins.module_utils.jobs import ENTRY
from ansible_collections.openqa.client.plugins.module_utils.runner import run_module


def main() -> None:
    run_module(AnsibleModule, ENTRY)


if __name__ == "__main__":
    main()
