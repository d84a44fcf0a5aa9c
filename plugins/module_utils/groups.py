# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``group`` entry point: a job group (a bunch of builds)."""

from __future__ import annotations

from ansible_collections.openqa.client.plugins.module_utils.spec import Entry

ENTRY = Entry(name="group", help="a job group (a bunch of builds)", options=(), actions=())
