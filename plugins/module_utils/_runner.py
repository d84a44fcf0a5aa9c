# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs one action from raw options: validation, connection, verb, errors -> Result.

The modules and the CLI both come through here, so they behave the same. Nothing here
imports ansible: the modules pass their AnsibleModule class in (see run_module).
"""

from __future__ import annotations

import typing as t

from ansible_collections.openqa.client.plugins.module_utils.client import (
    DEFAULT_MAX_ANSWER_MB,
    HAS_REQUESTS,
    OpenQAClient,
)
from ansible_collections.openqa.client.plugins.module_utils.config import resolve_connection, url_secrets
from ansible_collections.openqa.client.plugins.module_utils.envelope import (
    OpenQAError,
    Result,
    Status,
)
from ansible_collections.openqa.client.plugins.module_utils._spec import Entry, Option

CONNECTION_OPTIONS = (
    Option("host", "openQA URL or host name; a bare name means https except for localhost. "
           "Shortcuts o3, osd, odn. Default: OPENQA_HOST or http://localhost.", aliases=("from",)),
    Option("api_key", "API key. Default: OPENQA_API_KEY, then client.conf.", no_log=False),
    Option("api_secret", "API secret. Default: OPENQA_API_SECRET, then client.conf.", no_log=True),
    Option("validate_certs", "Verify the server's TLS certificate.", type="bool", default=True),
    Option("ca_path", "CA bundle file or directory to verify the server's certificate with."),
    Option("request_timeout", "Seconds (or 1m, ...) to wait for one answer.", type="duration", default=30.0),
    Option("retries", "How often to retry a read that failed for a transient reason.", type="int",
           default=5, minimum=0),
    Option("deadline", "Overall time budget for one request including its retries.", type="duration",
           default=120.0),
    Option("max_answer_mb", "Largest answer (decoded) accepted from the server, in MB.", type="int",
           default=DEFAULT_MAX_ANSWER_MB, minimum=1),
)
CONNECTION_NAMES = tuple(option.name for option in CONNECTION_OPTIONS)


def connection_values(raw: t.Mapping[str, t.Any]) -> dict:
    values = {}
    for option in CONNECTION_OPTIONS:
        value = raw.get(option.name)
        values[option.name] = option.default if value is None else option.coerce(value)
    return values


def execute(
    entry: Entry,
    raw: t.Mapping[str, t.Any],
    check_mode: bool = False,
    from_json_data: t.AbstractSet[str] = frozenset(),
    environ: t.Optional[t.Mapping[str, str]] = None,
    on_retry: t.Optional[t.Callable[[str], None]] = None,
    on_progress: t.Optional[t.Callable[[str], None]] = None,
) -> Result:
    """Validate, connect and run; every expected failure becomes a Result with its status."""
    if not HAS_REQUESTS:
        return Result(status=Status.INVALID_INPUT,
                      message="the Python library 'requests' is missing: pip install requests")
    connection = None
    try:
        action = entry.action(raw.get("action"))
        params = entry.prepare(action, {k: v for k, v in raw.items() if k not in CONNECTION_NAMES})
        options = connection_values(raw)
        connection = resolve_connection(options, from_json_data, environ)
        client = OpenQAClient(
            connection.url, connection.api_key, connection.api_secret,
            read_timeout=options["request_timeout"], retries=options["retries"],
            deadline=options["deadline"], max_answer_mb=options["max_answer_mb"],
            verify=options["ca_path"] or options["validate_certs"],
            check_mode=check_mode, on_retry=on_retry, on_progress=on_progress)
        try:
            result = action.run(client, params)
        except (KeyError, TypeError, AttributeError, ValueError, IndexError, RecursionError) as error:
            # an answer of a shape no verb check caught (a list for an object, null for a job): an envelope,
            # never a module crash
            result = Result(status=Status.SERVER_ERROR, message="%s answered in a shape this client cannot read "
                            "(%s: %s): is it an openQA server?"
                            % (client.base_url, type(error).__name__, str(error)[:200]))
    except OpenQAError as error:
        result = Result.from_error(error)
    if connection:
        result.warnings[:0] = connection.warnings()
        result.credential_source = connection.credential_source
    return result


def argument_spec(entry: Entry) -> dict:
    spec = {option.name: option.argument_spec() for option in CONNECTION_OPTIONS + entry.options}
    choices = [a.name for a in entry.actions] + [alias for a in entry.actions for alias in a.aliases]
    spec["action"] = {"type": "str", "required": True, "choices": choices}
    return spec


def run_module(module_class: t.Any, entry: Entry, supports_check_mode: bool) -> None:
    """The whole body of a module: build the AnsibleModule, run the action, exit or fail."""
    module = module_class(argument_spec=argument_spec(entry), supports_check_mode=supports_check_mode)
    module.no_log_values.update(url_secrets(module.params.get("host") or ""))
    result = execute(entry, module.params, check_mode=module.check_mode, on_retry=module.warn)
    for warning in result.warnings:
        module.warn(warning)
    output = {
        "changed": result.changed,
        "msg": result.message,
        "status": int(result.status),
        "returns": result.returns,
        "credential_source": result.credential_source,
    }
    if result.status != Status.OK:
        module.fail_json(**output)
    module.exit_json(**output)
