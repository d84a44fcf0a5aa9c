# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ansible-rulebook event source openqa.client.openqa_events: openQA's events (AMQP, or the REST poll).

All the work is the collection's module_utils (_event_stream.py), reached through the import shim below.
"""

DOCUMENTATION = r"""
---
short_description: openQA's job, comment and build.done events, from RabbitMQ or by polling
description:
  - Emits openQA's events (C(job.create), C(job.done), C(job.restart), C(job.cancel), C(comment.create), ...)
    as published by openQA's AMQP plugin, and C(build.done) when every job of a build in a job group is final.
  - C(build.done) is confirmed over REST before it is emitted, once per (group, build, final set of jobs);
    a build restarted after its C(build.done) gets a new one when it finishes again.
  - Without O(amqp_url) the source polls the REST API and emits C(job.done) and C(build.done) only.
  - Every event has a C(meta.uuid) derived from its content, so C(ansible-rulebook --persistence-id) drops a
    repeat across restarts. The event shape is described in docs/events.md of the collection.
  - Needs C(aio-pika) for O(amqp_url) (C(pip install 'openqa-ansible-client[events]')).
options:
  host:
    description: openQA URL or host name, normalised as the modules do (a bare name means https); used for
      the REST reads. Default C(OPENQA_HOST) or http://localhost.
    type: str
  api_key:
    description: API key (optional, reads are public). Default C(OPENQA_API_KEY) when this is the server
      C(OPENQA_HOST) names (or O(host) is not given), then client.conf; a credential goes only to its instance.
    type: str
  api_secret:
    description: API secret. Default C(OPENQA_API_SECRET), then client.conf.
    type: str
  amqp_url:
    description: AMQP URL of the broker openQA publishes to, e.g. amqps://opensuse:opensuse@rabbit.opensuse.org.
      Absent, the source polls. Its password never appears in any output.
    type: str
  exchange:
    description: The topic exchange openQA publishes to; it must exist (declared passively).
    type: str
    default: pubsub
  topic_prefix:
    description: openQA's C([amqp] topic_prefix) (C(opensuse) on openqa.opensuse.org).
    type: str
    default: suse
  queue:
    description: A named durable queue, for at-least-once delivery while the source is down. Default an
      exclusive temporary queue (the only kind a read-only user of a public bus may create).
    type: str
  types:
    description: Event types to emit, e.g. [build.done]. Default all.
    type: list
    elements: str
  group:
    description: Only this job group (name, or id as digits).
    type: str
  build:
    description: Only this BUILD.
    type: str
  distri:
    description: Only this DISTRI.
    type: str
  version:
    description: Only this VERSION.
    type: str
  flavor:
    description: Only this FLAVOR; a build.done then counts only these jobs.
    type: str
  arch:
    description: Only this ARCH; a build.done then counts only these jobs.
    type: str
  poll_interval:
    description: Seconds between REST polls; with O(amqp_url) the interval of the reconciliation poll.
    type: str
    default: 30s
  settle:
    description: Seconds to wait after openQA reports a build's last job done before confirming it over REST.
    type: str
    default: 5s
  count:
    description: End the source (and so ansible-rulebook) after this many events.
    type: int
  timeout:
    description: End the source after this long.
    type: str
"""

EXAMPLES = r"""
- name: Gate builds the moment openQA finishes them
  hosts: localhost
  sources:
    - openqa.client.openqa_events:
        host: https://openqa.example.com
        amqp_url: amqp://guest:guest@rabbit.example.com:5672/
        topic_prefix: suse
        group: "1"
        types: [build.done]
  rules:
    - name: A build finished
      condition: event.openqa.type == "build.done"
      action:
        run_playbook:
          name: gate.yml
"""

import os
import sys
import typing as t

STREAM_MODULE = "ansible_collections.openqa.client.plugins.module_utils._event_stream"


def _stream_module() -> t.Any:
    """Import shim: ansible-rulebook runs this file with runpy.run_path, so the collection is not a package it
    imported. This file lives in <dir>/ansible_collections/openqa/client/extensions/eda/plugins/event_source/,
    both when pip installed the collection (<dir> is site-packages) and when ansible-galaxy did (<dir> is a
    collections path): putting <dir> first on sys.path makes the module_utils beside this file the ones
    imported. Anywhere else (a source checkout) the collection must be importable already."""
    here = os.path.dirname(os.path.realpath(__file__))
    collection = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(here))))
    parts = collection.split(os.sep)
    if parts[-3:] == ["ansible_collections", "openqa", "client"]:
        top = os.sep.join(parts[:-3]) or os.sep
        if top not in sys.path:
            sys.path.insert(0, top)
    import importlib

    try:
        return importlib.import_module(STREAM_MODULE)
    except ImportError as error:
        raise ImportError("openqa.client.openqa_events cannot import the collection's module_utils (%s): install "
                          "the collection with ansible-galaxy or pip install 'openqa-ansible-client[events]'"
                          % error) from None


async def main(queue: t.Any, args: t.Dict[str, t.Any]) -> None:
    import logging

    logger = logging.getLogger("openqa.client.openqa_events")
    await _stream_module().run_source(queue, args, logger.warning, logger.info)


if __name__ == "__main__":
    # a quick look without ansible-rulebook: python openqa_events.py HOST [AMQP_URL]
    import asyncio
    import json

    class _PrintQueue:
        async def put(self, event: t.Any) -> None:
            print(json.dumps(event, sort_keys=True), flush=True)

    asyncio.run(main(_PrintQueue(), {"host": sys.argv[1], "amqp_url": (sys.argv[2:] or [None])[0]}))
