# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``build`` entry point: a build."""

from __future__ import annotations

from ansible_collections.openqa.client.plugins.module_utils.spec import Entry

ENTRY = Entry(name="build", help="a build", options=(), actions=())
