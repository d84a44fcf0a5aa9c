# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: openqa
short_description: Read openQA data in templates through the modules' read-only actions
version_added: 1.0.0
description:
  - Runs one read-only action of an entry (V(test), V(worker), V(group), V(build)) through the same code as the
    modules (M(openqa.client.openqa_test), M(openqa.client.openqa_worker), M(openqa.client.openqa_group),
    M(openqa.client.openqa_build)) and returns what the module returns as C(returns).
  - The action's options are given as keyword arguments, with the modules' names and values
    (O(openqa.client.openqa_build#module:id), O(openqa.client.openqa_build#module:group), ...).
  - Actions that change something (V(test restart), V(test stop), V(test clone), V(test comment),
    V(build restart), V(build new)) are refused; use the modules for them.
  - Options that make a reading action change something are refused too (V(build wait) with
    O(openqa.client.openqa_build#module:max_attempts) restarts failures); a lookup that ran such an action in
    check mode would pass a gate the real action fails.
  - The lookup runs on the controller; the connection options, their defaults and the credentials lookup
    (environment, C(client.conf)) are those of the modules.
  - A failure (unknown job, bad input, unreachable server, ...) raises an error with the message the module would
    give.
  - A lookup never waits, it runs in check mode. V(build wait) or V(test wait) on jobs still pending raises an
    error with status 10 (cannot know yet), never a pass; on final jobs it answers as the module does.
  - C(lookup) gives the action's result; C(query) (or O(ignore:wantlist=true)) gives a list holding that one result.
options:
  _terms:
    description: The entry and the action, for example V(build) and V(info).
    required: true
    type: list
    elements: str
extends_documentation_fragment:
  - openqa.client.connection
requirements:
  - requests
author:
  - openqa.client contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: The results of a build, grouped by test
  ansible.builtin.debug:
    msg: "{{ lookup('openqa.client.openqa', 'build', 'info', id='20261127', group='openSUSE Tumbleweed',
             host='https://openqa.example.com') }}"

- name: Fail early when no qemu_x86_64 worker is idle
  ansible.builtin.assert:
    that: idle | length > 0
  vars:
    idle: "{{ lookup('openqa.client.openqa', 'worker', 'search', status='idle',
                     property=['WORKER_CLASS=qemu_x86_64'], host=openqa_host) }}"

- name: The status word of a job, following restarts
  ansible.builtin.set_fact:
    job_status: "{{ lookup('openqa.client.openqa', 'test', 'status', id=[4711], follow=true, host='o3') }}"

- name: One task per failed job of a build
  ansible.builtin.debug:
    msg: "job {{ item }} failed"
  loop: "{{ lookup('openqa.client.openqa', 'test', 'search', build='20261127', result=['failed'], host='o3') }}"
"""

RETURN = r"""
_raw:
  description:
    - The action's result, as C(returns) of the corresponding module (a job's status word, a list of job ids,
      a build's tests, a worker, ...).
  type: raw
"""

import typing as t

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display

from ansible_collections.openqa.client.plugins.module_utils import _builds, _groups, _jobs, _workers
from ansible_collections.openqa.client.plugins.module_utils.envelope import OpenQAError, Status
from ansible_collections.openqa.client.plugins.module_utils._runner import CONNECTION_NAMES, execute, task_wording

ENTRIES = {entry.name: entry for entry in (_jobs.ENTRY, _workers.ENTRY, _groups.ENTRY, _builds.ENTRY)}
display = Display()


class LookupModule(LookupBase):

    def run(self, terms: t.List[t.Any], variables: t.Optional[dict] = None, **kwargs: t.Any) -> t.List[t.Any]:
        connection = {name: kwargs.pop(name) for name in list(kwargs) if name in CONNECTION_NAMES}
        if "from" in kwargs:
            connection["host"] = kwargs.pop("from")
        self.set_options(var_options=variables, direct=connection)
        if len(terms) != 2:
            raise AnsibleLookupError("openqa lookup: give the entry and the action, e.g. "
                                     "lookup('openqa.client.openqa', 'build', 'info', id='20261127'); got %d terms"
                                     % len(terms))
        entry_name, action_name = (str(term) for term in terms)
        entry = ENTRIES.get(entry_name)
        if entry is None:
            raise AnsibleLookupError("openqa lookup: unknown entry %r: use one of %s"
                                     % (entry_name, ", ".join(ENTRIES)))
        try:
            action = entry.action(action_name)
        except OpenQAError as error:
            raise AnsibleLookupError("openqa lookup: %s" % error) from None
        if action.mutating:
            raise AnsibleLookupError("openqa lookup: '%s %s' changes the server and a lookup only reads: use the "
                                     "openqa.client.openqa_%s module" % (entry.name, action.name, entry.name))
        names = {alias: option.name for option in entry.options for alias in (option.name,) + option.aliases}
        unknown = sorted(set(kwargs) - set(names))
        if unknown:
            raise AnsibleLookupError("openqa lookup: unknown option %s for '%s %s': its options are %s"
                                     % (", ".join(unknown), entry.name, action.name, ", ".join(action.options)))
        raw = {name: self.get_option(name) for name in CONNECTION_NAMES}
        # vaulted values arrive as Ansible's string wrappers; the client wants plain text
        raw = {name: str(value) if isinstance(value, str) else value for name, value in raw.items()}
        raw.update({names[key]: value for key, value in kwargs.items()}, action=action.name)
        changing = [name for name in action.mutating_options
                    if raw.get(name) is not None and not entry.option(name).is_default(raw[name])]
        if changing:
            raise AnsibleLookupError("openqa lookup: '%s %s' with %s changes the server and a lookup only reads: "
                                     "use the openqa.client.openqa_%s module (action=%s)"
                                     % (entry.name, action.name, ", ".join(changing), entry.name, action.name))
        # check mode: even a wrongly declared action could not post anything
        result = execute(entry, raw, check_mode=True)
        result.warnings[:0] = entry.deprecation_warnings(set(kwargs))
        for warning in result.warnings:
            display.warning(task_wording(entry, warning))
        if result.status != Status.OK:
            raise AnsibleLookupError("openqa lookup '%s %s': %s (status %d)"
                                     % (entry.name, action.name, task_wording(entry, result.message),
                                        int(result.status)))
        return [result.returns]
