# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``worker`` entry point: an openQA worker (a machine slot that runs jobs).

openQA has no server-side worker filters (``GET workers`` only pages), so ``search`` reads one
listing and filters here. Status words are the server's (Schema/Result/Workers.pm ``status``):
dead (not seen within worker_timeout), broken (reported an error), running (has a job), idle.
"""

from __future__ import annotations

import typing as t

from ansible_collections.openqa.client.plugins.module_utils.envelope import (
    InvalidInputError,
    NotFoundError,
    Result,
)
from ansible_collections.openqa.client.plugins.module_utils._spec import Action, Entry, Option

if t.TYPE_CHECKING:
    from ansible_collections.openqa.client.plugins.module_utils.client import Client

STATUSES = ("idle", "running", "dead", "broken")
# Fields the server adds only while a job runs; asking for them on an idle worker answers null.
TRANSIENT_FIELDS = ("jobid", "currentstep")
# Properties that hold a comma-separated list, where a filter matches any one member.
LIST_PROPERTIES = frozenset({"WORKER_CLASS"})

PropertyFilter = t.Tuple[str, str]


def get_worker(client: Client, worker_id: int) -> dict:
    try:
        return client.get("workers/%d" % worker_id)["worker"]
    except NotFoundError:
        raise NotFoundError("unknown worker: there is no worker %d on %s" % (worker_id, client.base_url)) from None


def property_filters(pairs: t.Optional[t.Sequence[t.Tuple[str, str]]]) -> t.List[PropertyFilter]:
    """The property option's pairs (parsed by _spec.parse_key_values) -> (upper-case key, value)."""
    return [(key.upper(), value.strip()) for key, value in pairs or ()]


def _property_matches(properties: t.Mapping[str, t.Any], key: str, wanted: str) -> bool:
    actual = {k.upper(): v for k, v in properties.items()}.get(key)
    if actual is None:
        return wanted == ""
    if key in LIST_PROPERTIES:
        return wanted in [member.strip() for member in str(actual).split(",")]
    return str(actual) == wanted


def worker_matches(worker: t.Mapping[str, t.Any], params: t.Mapping[str, t.Any],
                   properties: t.Sequence[PropertyFilter]) -> bool:
    if params["worker_host"] is not None and str(worker.get("host", "")).lower() != params["worker_host"].lower():
        return False
    if params["instance"] is not None and worker.get("instance") != params["instance"]:
        return False
    # the server sends alive and connected as 0/1
    if params["alive"] is not None and bool(worker.get("alive")) != params["alive"]:
        return False
    if params["connected"] is not None and bool(worker.get("connected")) != params["connected"]:
        return False
    if params["status"] is not None and worker.get("status") != params["status"]:
        return False
    worker_properties = worker.get("properties") or {}
    return all(_property_matches(worker_properties, key, value) for key, value in properties)


def search(client: Client, params: dict) -> Result:
    if "://" in (params["worker_host"] or ""):
        # worker info --host URL means the server; here --host is the worker filter, so a URL is a mistake
        raise InvalidInputError("the worker host filter %r is a URL, not a worker machine's name; the openQA "
                                "server is given as --from" % params["worker_host"])
    properties = property_filters(params["property"])
    workers = client.get("workers")["workers"]
    return Result(returns=[w for w in workers if worker_matches(w, params, properties)])


def _field_index(worker: t.Mapping[str, t.Any]) -> t.Dict[str, t.Tuple[str, t.Any]]:
    """lower-case name -> (server spelling, value); top-level fields win over same-named properties."""
    index = {name: (name, None) for name in TRANSIENT_FIELDS}
    for name, value in (worker.get("properties") or {}).items():
        index[name.lower()] = (name, value)
    for name, value in worker.items():
        index[name.lower()] = (name, value)
    return index


def select_fields(worker: t.Mapping[str, t.Any], fields: t.Sequence[str]) -> dict:
    """The asked fields, keyed by the server's spelling (``host``, ``WORKER_CLASS``)."""
    index = _field_index(worker)
    unknown = [field for field in fields if field.lower() not in index]
    if unknown:
        valid = sorted(spelling for spelling, _value in index.values())
        raise InvalidInputError("unknown worker field %s: valid ones are %s" % (", ".join(unknown), ", ".join(valid)))
    return dict(index[field.lower()] for field in fields)


def info(client: Client, params: dict) -> Result:
    worker = get_worker(client, params["id"])
    if params["display"]:
        return Result(returns=select_fields(worker, params["display"]))
    return Result(returns=worker)


def status(client: Client, params: dict) -> Result:
    worker = get_worker(client, params["id"])
    job_id = worker.get("jobid") if worker.get("status") == "running" else None
    # jobid: the server's spelling, as worker info returns it
    return Result(returns={"status": worker.get("status"), "jobid": job_id})


ENTRY = Entry(
    name="worker",
    help="an openQA worker (a machine slot that runs jobs)",
    options=(
        Option("id", "Worker id.", type="int"),
        Option("worker_host", "Only workers on this host (the worker machine's name, case-insensitive). On the "
               "command line it is also --host, as the proposal writes it; the server is then --from. In a task "
               "it is worker_host, since host is the server there."),
        Option("instance", "Only workers with this instance number.", type="int"),
        Option("alive", "Only workers that are (true) or are not (false) alive: seen within the server's "
               "worker timeout.", type="bool"),
        Option("connected", "Only workers that are (true) or are not (false) connected.", type="bool"),
        Option("status", "Only workers with this status.", choices=STATUSES),
        Option("property", "Only workers whose property KEY has value VAL; repeat for several (all must match). "
               "WORKER_CLASS matches when VAL is one of its comma-separated classes.", type="keyvalue",
               example="WORKER_CLASS=qemu_x86_64"),
        Option("display", "Return only these fields (case-insensitive; properties such as WORKER_CLASS too); "
               "repeat for several.", multiple=True),
    ),
    actions=(
        Action("search", search, "workers matching all given filters (from one listing)",
               options=("worker_host", "instance", "alive", "connected", "status", "property"),
               host_flag="worker_host"),
        Action("info", info, "a worker's details, or only the --display fields",
               options=("id", "display"), required=("id",)),
        Action("status", status, "a worker's status (idle, running, dead, broken) and its job when running",
               options=("id",), required=("id",)),
    ),
)
