# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``worker`` entry point: an openQA worker (a machine slot that runs jobs)."""

from __future__ import annotations

from ansible_collections.openqa.client.plugins.module_utils.spec import Entry

ENTRY = Entry(name="worker", help="an openQA worker (a machine slot that runs jobs)", options=(), actions=())
