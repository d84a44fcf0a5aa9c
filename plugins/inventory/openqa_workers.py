# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: openqa_workers
short_description: openQA worker machines as inventory hosts
version_added: 1.0.0
description:
  - Reads the workers of an openQA server (one request per page of C(GET /api/v1/workers)) and adds one inventory
    host per worker machine, named after the workers' C(host) with O(host_prefix) in front. The machine's worker
    instances are in its host variables.
  - A worker machine named like a host of another inventory source becomes that same host (Ansible merges hosts
    by name) and joins the openqa groups; O(host_prefix) keeps them apart.
  - "A worker registered as V(localhost) (or V(127.0.0.1), V(::1), any loopback name) runs on its own machine, not
    on the controller: its host is named V(openqa_worker_localhost) (after O(host_prefix)), never V(localhost),
    so Ansible's implicit localhost keeps its local connection and stays out of the openqa groups. Such a host has
    no C(ansible_host); set one with O(compose) to reach it."
  - A server that still sends full pages past 100000 workers (more than openQA lists) does not page like openQA;
    the inventory then fails with that error rather than reading on.
  - "Groups: V(openqa_workers) (every machine), V(openqa_class_<class>) for each C(WORKER_CLASS) of any of the
    machine's instances, V(openqa_status_<status>) for each instance status (V(idle), V(running), V(dead),
    V(broken)) and V(openqa_arch_<arch>) for each C(CPU_ARCH)."
  - "Host variables: V(openqa_worker_host) (the machine's name as openQA knows it), V(ansible_host) (the same, when
    the inventory host is named otherwise), V(openqa_worker_instances) (a list of V(id), V(instance), V(status),
    V(alive), V(connected), V(error), V(job_id) (the current job, null when idle), V(worker_class) (a list),
    V(arch) and V(properties) per instance), V(openqa_worker_classes), V(openqa_worker_statuses),
    V(openqa_worker_arches), V(openqa_worker_jobs) and V(openqa_server) (the server's URL)."
  - The connection options, their defaults and the credentials lookup (environment, C(client.conf)) are those of the
    modules. The credentials are never put into the inventory.
  - The inventory file's name must end in C(openqa_workers.yml) or C(openqa_workers.yaml).
  - "An option this plugin does not know (a typo such as V(hots)) is an error naming the option, never left to its
    default: without O(host) the plugin would read the workers of V(http://localhost)."
  - "Errors (an unknown option, an unreachable server, refused credentials) are errors of this plugin, and Ansible
    reports them, but only as warnings: it goes on with the other inventory sources, or with the implicit
    V(localhost) alone, and the play exits 0. To make them fatal, set C(ANSIBLE_INVENTORY_UNPARSED_FAILED=true)
    (C(ansible.cfg): C([inventory] unparsed_is_failed = true); fatal when no source parses) or
    C(ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED=true) (C([inventory] any_unparsed_is_failed = true); fatal when
    any source fails)."
options:
  plugin:
    description: The name of this plugin; it marks the file as this plugin's source.
    type: str
    required: true
    choices: [openqa.client.openqa_workers]
  host_prefix:
    description:
      - Put in front of each worker machine's name to make its inventory host name, for example V(openqa_), so
        that worker machines never merge with hosts of the same name from other inventory sources. C(ansible_host)
        is then the machine's name, so connections still reach it.
    type: str
    default: ""
extends_documentation_fragment:
  - openqa.client.connection
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
requirements:
  - requests
author:
  - openqa.client contributors (!UNKNOWN)
"""

EXAMPLES = r"""
# workers.openqa_workers.yml: every worker machine of the server, grouped by class, status and arch.
# ansible-inventory -i workers.openqa_workers.yml --graph
plugin: openqa.client.openqa_workers
host: https://openqa.example.com

# Credentials are optional (the worker list is public); when given, they come from the same places as the
# modules': these options, OPENQA_API_KEY/OPENQA_API_SECRET, then client.conf. Here: an extra group for
# machines with a broken instance, a variable per host and groups keyed by the machines' first class.
---
plugin: openqa.client.openqa_workers
host: o3
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/openqa_workers
cache_timeout: 300
groups:
  openqa_needs_attention: "'broken' in openqa_worker_statuses or 'dead' in openqa_worker_statuses"
compose:
  openqa_busy: openqa_worker_jobs | length
keyed_groups:
  - key: openqa_worker_classes[0]
    prefix: first_class
strict: true
"""

import difflib
import typing as t

from ansible import constants as C
from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.openqa.client.plugins.module_utils.envelope import OpenQAError
from ansible_collections.openqa.client.plugins.module_utils._inventory import list_workers, machines
from ansible_collections.openqa.client.plugins.module_utils._plugins import connect
from ansible_collections.openqa.client.plugins.module_utils._runner import CONNECTION_NAMES

# Ansible only warns about a source that fails to parse: every error says how to make it fatal.
FATAL_HINT = ("(Ansible goes on without this source: ANSIBLE_INVENTORY_UNPARSED_FAILED=true, or "
              "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED=true, makes this fatal)")
GROUP_PREFIXES = (("openqa_worker_classes", "openqa_class_"), ("openqa_worker_statuses", "openqa_status_"),
                  ("openqa_worker_arches", "openqa_arch_"))


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):

    NAME = "openqa.client.openqa_workers"

    def verify_file(self, path: str) -> bool:
        return super().verify_file(path) and path.endswith(("openqa_workers.yml", "openqa_workers.yaml"))

    def parse(self, inventory: t.Any, loader: t.Any, path: str, cache: bool = True) -> None:
        super().parse(inventory, loader, path, cache)
        self._refuse_unknown_options(path, self._read_config_data(path))
        raw = {name: self.get_option(name) for name in CONNECTION_NAMES}
        # vaulted values arrive as Ansible's string wrappers; the client wants plain text
        raw = {name: str(value) if isinstance(value, str) else value for name, value in raw.items()}
        try:
            client, connection = connect(raw)
        except OpenQAError as error:
            raise _failure(path, str(error)) from None
        for warning in connection.warnings():  # plain http, credentials that belong to another server
            self.display.warning("openqa_workers %s: %s" % (path, warning))
        # the cache key covers the server: one file may point at another server after an edit
        cache_key = self.get_cache_key(path + "#" + connection.url)
        use_cache = self.get_option("cache") and cache
        update_cache = self.get_option("cache") and not cache
        workers = None
        if use_cache:
            try:
                workers = self._cache[cache_key]
            except KeyError:
                update_cache = True
        if workers is None:
            try:
                workers = list_workers(client)
            except OpenQAError as error:
                raise _failure(path, str(error)) from None
        if update_cache:
            self._cache[cache_key] = workers
        self._populate(machines(workers, self.get_option("host_prefix") or ""), connection.url)

    def _refuse_unknown_options(self, path: str, config: t.Mapping[str, t.Any]) -> None:
        """Ansible leaves an unknown key unread: a typo (`hots:`) would silently mean the default."""
        known = set()
        for name, definition in C.config.get_configuration_definitions("inventory", self._load_name).items():
            known.update([name, *(definition.get("aliases") or [])])
        unknown = sorted(set(config) - known)
        if unknown:
            hints = ["%r (did you mean %r?)" % (name, close[0]) if close else repr(name)
                     for name in unknown for close in [difflib.get_close_matches(name, sorted(known), n=1)]]
            raise _failure(path, "unknown option %s; the options are in `ansible-doc -t inventory %s`"
                           % (", ".join(hints), self.NAME))

    def _populate(self, hosts: t.Mapping[str, dict], url: str) -> None:
        strict = self.get_option("strict")
        self.inventory.add_group("openqa_workers")
        for name, variables in hosts.items():
            self.inventory.add_host(name, group="openqa_workers")
            variables = dict(variables, openqa_server=url)
            for key, value in variables.items():
                self.inventory.set_variable(name, key, value)
            for key, prefix in GROUP_PREFIXES:
                for value in variables[key]:
                    group = self.inventory.add_group(self._sanitize_group_name(prefix + str(value)))
                    self.inventory.add_child(group, name)
            self._set_composite_vars(self.get_option("compose"), variables, name, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), variables, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), variables, name, strict=strict)


def _failure(path: str, message: str) -> AnsibleParserError:
    return AnsibleParserError("openqa_workers %s: %s %s" % (path, message, FATAL_HINT))
