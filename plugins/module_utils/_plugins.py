# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to this collection: no API promise, it may change in any release.
"""What the inventory and lookup plugins share with the modules: a client from connection options.

The plugins take the modules' connection options (same names, same defaults, same client.conf
lookup), so they resolve them through the same code instead of a copy.
"""

from __future__ import annotations

import typing as t

from ansible_collections.openqa.client.plugins.module_utils.client import HAS_REQUESTS, OpenQAClient
from ansible_collections.openqa.client.plugins.module_utils.config import Connection, resolve_connection
from ansible_collections.openqa.client.plugins.module_utils.envelope import InvalidInputError
from ansible_collections.openqa.client.plugins.module_utils._runner import CONNECTION_NAMES, connection_values


def connect(
    raw: t.Mapping[str, t.Any],
    check_mode: bool = False,
    environ: t.Optional[t.Mapping[str, str]] = None,
) -> t.Tuple[OpenQAClient, Connection]:
    """A client for the connection options in ``raw`` (other keys are ignored); raises OpenQAError."""
    if not HAS_REQUESTS:
        raise InvalidInputError("the Python library 'requests' is missing: pip install requests")
    options = connection_values({name: raw.get(name) for name in CONNECTION_NAMES})
    connection = resolve_connection(options, environ=environ)
    client = OpenQAClient(
        connection.url, connection.api_key, connection.api_secret,
        read_timeout=options["request_timeout"], retries=options["retries"], deadline=options["deadline"],
        verify=options["ca_path"] or options["validate_certs"], check_mode=check_mode)
    return client, connection
