# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs one action from raw options: validation, connection, verb, errors -> Result.

The modules and the CLI both come through here, so they behave the same. Nothing here
imports ansible: the modules pass their AnsibleModule class in (see run_module).
"""

from __future__ import annotations

import os
import re
import typing as t

from ansible_collections.openqa.client.plugins.module_utils.config import DEFAULT_MAX_ANSWER_MB, display_url
from ansible_collections.openqa.client.plugins.module_utils.envelope import (
    InvalidInputError,
    OpenQAError,
    Result,
    Status,
)
from ansible_collections.openqa.client.plugins.module_utils._spec import Entry, Option

if t.TYPE_CHECKING:
    from ansible_collections.openqa.client.plugins.module_utils.config import Connection

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

_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9_-]*")


# Options that hold a build id (build's id, test's build condition).
BUILD_OPTIONS = frozenset({"id", "build"})


def task_wording(entry: Entry, message: str) -> str:
    """A message in command-line words ('test status' needs --id) as a task says it (action=status needs id).

    Verbs word their messages for the command line; a module or lookup user never types a flag.
    """
    names = {flag: option.name for option in CONNECTION_OPTIONS + entry.options for flag in option.flags}
    message = re.sub(r"'%s (\w+)'" % re.escape(entry.name), r"action=\1", message)
    return _FLAG.sub(lambda match: names.get(match.group(0), match.group(0)), message)


def connection_values(raw: t.Mapping[str, t.Any]) -> dict:
    values = {}
    for option in CONNECTION_OPTIONS:
        value = raw.get(option.name)
        values[option.name] = option.default if value is None else option.coerce(value)
    return values


def resolve_destination(params: t.Mapping[str, t.Any], from_json_data: t.AbstractSet[str] = frozenset(),
                        environ: t.Optional[t.Mapping[str, str]] = None) -> t.Optional[Connection]:
    """The connection for ``to`` (clone --to) with its own credentials.

    to_api_key/to_api_secret, else what config.resolve_connection finds for that server: the environment's
    credentials only when ``to`` is the server OPENQA_HOST names (--to is a second instance), else its
    client.conf section. api_key never crosses over.
    """
    key, secret = params.get("to_api_key"), params.get("to_api_secret")
    if not params.get("to"):
        if key or secret:
            raise InvalidInputError("to_api_key/to_api_secret are the credentials for --to: give --to as well")
        return None
    if bool(key) != bool(secret):
        raise InvalidInputError("%s is missing: give both to_api_key and to_api_secret for --to"
                                % ("to_api_secret" if key else "to_api_key"))
    from ansible_collections.openqa.client.plugins.module_utils.config import resolve_connection

    json_data = {"api_key"} if {"to_api_key", "to_api_secret"} & set(from_json_data) else set()
    connection = resolve_connection({"host": params["to"], "api_key": key, "api_secret": secret},
                                    frozenset(json_data), environ)
    if key:
        return connection._replace(credential_source="%s (to_api_key/to_api_secret)" % connection.credential_source)
    return connection


def execute(
    entry: Entry,
    raw: t.Mapping[str, t.Any],
    check_mode: bool = False,
    from_json_data: t.AbstractSet[str] = frozenset(),
    environ: t.Optional[t.Mapping[str, str]] = None,
    on_retry: t.Optional[t.Callable[[str], None]] = None,
    on_progress: t.Optional[t.Callable[[str], None]] = None,
    callbacks: t.Optional[t.Mapping[str, t.Callable]] = None,
    sole_server: bool = False,
) -> Result:
    """Validate, connect and run; every expected failure becomes a Result with its status.

    ``callbacks`` go into the params of a verb that streams (events: ``sink`` gets each event, ``warn`` each
    warning), so the verb itself never prints. ``sole_server``: the caller is a single-server command
    (openqa-ctl), see config.resolve_connection."""
    connection = destination = None
    try:
        action = entry.action(raw.get("action"))
        params = entry.prepare(action, {k: v for k, v in raw.items() if k not in CONNECTION_NAMES})
        options = connection_values(raw)
        # imported only for valid input: openqa-ctl's help, completion and input errors answer without them
        from ansible_collections.openqa.client.plugins.module_utils.config import resolve_connection

        connection = resolve_connection(options, from_json_data, environ, sole_server=sole_server)
        destination = resolve_destination(params, from_json_data, environ)
        if destination:
            params["to"] = destination  # the verb gets the resolved connection, credentials included
        params.update(callbacks or {})
        from ansible_collections.openqa.client.plugins.module_utils.client import HAS_REQUESTS, OpenQAClient

        if not HAS_REQUESTS:
            raise InvalidInputError("the Python library 'requests' is missing: pip install requests")
        client = OpenQAClient(
            connection.url, connection.api_key, connection.api_secret,
            read_timeout=options["request_timeout"], retries=options["retries"],
            deadline=options["deadline"], max_answer_mb=options["max_answer_mb"],
            verify=options["ca_path"] or options["validate_certs"],
            check_mode=check_mode, on_retry=on_retry, on_progress=on_progress, unsigned_refusal=connection.withheld)
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
    result.warnings[:0] = float_build_warnings(raw)
    if connection:
        result.warnings[:0] = connection.warnings()
        result.credential_source = connection.credential_source
        result.server = display_url(connection.url)
    if connection and destination:
        result.warnings[:0] = destination.warnings()
        result.credential_source += "; destination %s: %s" % (
            display_url(destination.url), destination.credential_source)
    return result


def float_build_warnings(raw: t.Mapping[str, t.Any]) -> t.List[str]:
    """A build id written unquoted in YAML or JSON arrives as a float that has lost its trailing zeros
    (BUILD: 20261120.10 is 20261120.1): the value is used as it arrived, with a word about it."""
    found = [(name, value) for name, value in raw.items() if name in BUILD_OPTIONS and isinstance(value, float)]
    for name, value in raw.items():
        if isinstance(value, dict):
            found += [("%s %s" % (name, key), item) for key, item in value.items()
                      if str(key).upper() == "BUILD" and isinstance(item, float)]
    return ["%s arrived as a number (%r), not as text: YAML and JSON drop a number's trailing zeros "
            "(20261120.10 becomes 20261120.1); quote it if the build id has any" % (name, value)
            for name, value in found]


def argument_spec(entry: Entry) -> dict:
    spec = {option.name: option.argument_spec() for option in CONNECTION_OPTIONS + entry.options}
    if len(entry.actions) > 1:  # a single-action entry (api) has no action option
        choices = [a.name for a in entry.actions] + [alias for a in entry.actions for alias in a.aliases]
        spec["action"] = {"type": "str", "required": True, "choices": choices}
    return spec


def _short_name_warning(module: t.Any, credential_source: str) -> str:
    """A short name found through ANSIBLE_LIBRARY runs as a plain library module, outside the openqa action
    group, so module_defaults for group/openqa.client.openqa (a host, a restricted api_key) silently do not
    apply. The module cannot tell it from a short name resolved by ``collections: [openqa.client]`` (Ansible
    passes the name as written either way), so it says so whenever defaults would have mattered: no host at
    all, or credentials taken from the environment or client.conf instead of options."""
    name = str(getattr(module, "_name", "") or "")
    if not name or "." in name:
        return ""
    signs = []
    if not module.params.get("host") and not os.environ.get("OPENQA_HOST"):
        signs.append("no host and no OPENQA_HOST, so it talks to http://localhost")
    if credential_source.startswith(("environment", "client.conf")):
        signs.append("credentials from %s, not from options" % credential_source)
    if not signs:
        return ""
    return ("%s ran by its short name with %s: module_defaults for group/openqa.client.openqa do not apply to a "
            "short name found through ANSIBLE_LIBRARY (an api_key or host set there is ignored); use "
            "openqa.client.%s in plays, or give host and credentials in the task" % (name, " and ".join(signs), name))


def run_module(module_class: t.Any, entry: Entry, supports_check_mode: bool,
               missing_lib: t.Callable[[str], str]) -> None:
    """The whole body of a module: build the AnsibleModule, run the action, exit or fail.

    ``missing_lib`` is Ansible's missing_required_lib (module_utils never imports ansible).
    """
    module = module_class(argument_spec=argument_spec(entry), supports_check_mode=supports_check_mode)
    from ansible_collections.openqa.client.plugins.module_utils.config import url_secrets

    module.no_log_values.update(url_secrets(module.params.get("host") or ""))
    raw = dict(module.params, action=entry.actions[0].name) if len(entry.actions) == 1 else module.params
    from ansible_collections.openqa.client.plugins.module_utils.client import HAS_REQUESTS

    if not HAS_REQUESTS:
        module.fail_json(msg=missing_lib("requests"), status=int(Status.INVALID_INPUT), changed=False)
    try:
        result = execute(entry, raw, check_mode=module.check_mode, on_retry=module.warn)
    except Exception as error:  # pylint: disable=broad-except
        # the last resort, as the CLI has one: an answer with the traceback, never a bare crash
        import traceback

        module.fail_json(msg="internal error (%s: %s); please report it" % (type(error).__name__, error),
                         status=int(Status.SERVER_ERROR), changed=False, exception=traceback.format_exc())
    short_name = _short_name_warning(module, result.credential_source)
    for warning in result.warnings + ([short_name] if short_name else []):
        module.warn(task_wording(entry, warning))
    output = {
        "changed": result.changed,
        "msg": task_wording(entry, result.message),
        "status": int(result.status),
        "returns": result.returns,
        "credential_source": result.credential_source,
        "server": result.server,
    }
    if result.status != Status.OK:
        module.fail_json(**output)
    module.exit_json(**output)
