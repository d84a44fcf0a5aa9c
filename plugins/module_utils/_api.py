# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``api`` entry point: one signed raw request, the escape hatch ``openqa-cli api`` is.

Private to this collection: it may change in any release.

It goes through the same client as every verb (signing, retries for reads, deadline, typed
errors), so only what the verbs decide is left out: the caller names method, path and data.
Paths are relative to the API base like openqa-cli's (``jobs/1`` and ``/jobs/1`` are both
``/api/v1/jobs/1``); ``apibase`` reaches the routes outside it.
"""

from __future__ import annotations

import json
import os
import typing as t

from ansible_collections.openqa.client.plugins.module_utils.config import read_regular_file
from ansible_collections.openqa.client.plugins.module_utils.envelope import (
    InvalidInputError,
    Result,
    ServerError,
)
from ansible_collections.openqa.client.plugins.module_utils._spec import Action, Entry, Option, parse_key_values

if t.TYPE_CHECKING:
    from ansible_collections.openqa.client.plugins.module_utils.client import Client

METHODS = ("GET", "POST", "PUT", "DELETE")
MAX_DATA_FILE = 64 * 1024 * 1024


def request_pairs(params: t.Any, name: str = "params") -> list:
    """A dict (list values repeat their key), ``KEY=VALUE`` strings or a list of them -> ordered pairs."""
    if params is None:
        return []
    if isinstance(params, dict):
        pairs = []
        for key, value in params.items():
            for item in value if isinstance(value, (list, tuple)) else [value]:
                if isinstance(item, (dict, list, tuple)):
                    raise InvalidInputError("%s %s has a nested value %r: give strings or numbers (a list "
                                            "repeats the key)" % (name, key, item))
                pairs.append((str(key), "" if item is None else _text(item)))
        return pairs
    return parse_key_values(params, name)


def _text(value: t.Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def file_pairs(items: t.Any, name: str = "param_file") -> list:
    """``KEY=PATH`` -> (KEY, the file's text), as openqa-cli's --param-file reads it; regular files of at most
    MAX_DATA_FILE bytes only (a FIFO would hang, /dev/zero never end)."""
    pairs = []
    for key, path in parse_key_values(items or [], name):
        data = read_regular_file(os.path.expanduser(path), "%s %s" % (name, key), MAX_DATA_FILE)
        try:
            pairs.append((key, data.decode("utf-8")))
        except UnicodeDecodeError:
            raise InvalidInputError("%s %s=%s is not UTF-8 text" % (name, key, path)) from None
    return pairs


def api_path(path: str, apibase: str) -> str:
    """The route to send, refused when it would be sent or signed as another (the client signs the path as it
    goes on the wire, where a query would part from the parameters, a fragment be cut and dot segments resolved)."""
    if "://" in path or path.startswith("//"):
        raise InvalidInputError("path %r is a URL: give the path only (e.g. jobs/1) and the server as host" % path)
    if "?" in path or "#" in path:
        raise InvalidInputError("path %r holds a %s: give the path alone and the parameters as params "
                                "(e.g. jobs limit=5)" % (path, "query" if "?" in path else "'#'"))
    if {".", ".."} & set(path.split("/")):
        raise InvalidInputError("path %r has a '.' or '..' segment, which would be sent as another path: give "
                                "the path it leads to" % path)
    base = "/" + apibase.strip("/") if apibase.strip("/") else ""
    return base + "/" + path.lstrip("/")


def _body(params: dict) -> t.Tuple[t.Optional[bytes], dict]:
    """The request body and its headers from ``body`` or ``data_file``."""
    headers = {"Content-Type": "application/json"} if params["json"] else {}
    if params["data_file"] is not None:
        return read_regular_file(os.path.expanduser(params["data_file"]), "data_file", MAX_DATA_FILE), headers
    body = params["body"]
    if body is None:
        return None, headers
    if isinstance(body, (dict, list)):
        return json.dumps(body).encode("utf-8"), {"Content-Type": "application/json"}
    if isinstance(body, (str, int, float)) and not isinstance(body, bool):
        return str(body).encode("utf-8"), headers
    raise InvalidInputError("body must be a JSON object, a list or a string, got %r" % (body,))


def call(client: Client, params: dict) -> Result:
    method = params["method"]
    path = api_path(params["path"], params["apibase"])
    pairs = request_pairs(params["params"]) + file_pairs(params["param_file"])
    body, headers = _body(params)
    if body is not None and method == "GET":
        raise InvalidInputError("a GET carries no body: drop body/data_file or use -X POST/PUT")
    if client.check_mode and method != "GET":
        return Result(changed=True, message="check mode: %s %s not sent" % (method, path),
                      returns={"method": method, "path": path, "params": [list(p) for p in pairs],
                               "body_bytes": None if body is None else len(body)})
    response = client.send(method, path, pairs, body=body, headers=headers)
    if response.ok and "json" not in response.headers.get("Content-Type", ""):
        text = client.answer_text(response).strip()
        first = text.splitlines()[0] if text else "(empty)"
        raise ServerError("%s %s: the server answered HTTP %d with %s, not JSON: %s"
                          % (method, path, response.status_code,
                             response.headers.get("Content-Type") or "no content type", first[:200]))
    returns = client.decode(response, method, path)
    return Result(returns=returns, changed=method != "GET", message="%s %s: HTTP %d"
                  % (method, path, response.status_code))


ENTRY = Entry(
    name="api",
    help="one signed request to any openQA API route (like openqa-cli api)",
    options=(
        Option("method", "HTTP method.", choices=METHODS, default="GET", short="-X"),
        Option("path", "Route below the API base, e.g. jobs/1 or /jobs/1 (both /api/v1/jobs/1).", positional="?"),
        Option("params", "Parameters KEY=VALUE: the query of a GET, the form of a POST/PUT/DELETE (the query when "
               "a body is given); a key given several times is sent several times. In a task a dict (a list value "
               "repeats the key) or a list of KEY=VALUE.", type="raw", positional="*"),
        Option("param_file", "KEY=PATH: send KEY with the content of the file PATH; repeat for several.",
               multiple=True, commas=False),
        Option("body", "Request body: a dict or list is sent as JSON, a string as it is.", type="raw"),
        Option("data_file", "Send the content of this file as the request body."),
        Option("json", "Label the body application/json (openqa-cli's --json).", type="bool", default=False),
        Option("apibase", "The base the path is relative to; '/' reaches routes outside the API "
               "(e.g. /dashboard_build_results).", default="/api/v1"),
    ),
    actions=(
        Action("call", call, "send one request; returns the server's JSON",
               options=("method", "path", "params", "param_file", "body", "data_file", "json", "apibase"),
               required=("path",), mutating=True, conflicts=(("body", "data_file"),)),
    ),
)
