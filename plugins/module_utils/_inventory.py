# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to this collection: no API promise, it may change in any release.
"""Worker machines for the openqa_workers inventory plugin, without anything of Ansible.

openQA lists worker *instances* (one per slot, ``host`` + ``instance``); an inventory host is a
machine, so the instances are folded by their ``host``. The inventory host's name is the worker's host
with the plugin's ``host_prefix``; a name that means the controller (``localhost``) is never used.
"""

from __future__ import annotations

import ipaddress
import typing as t

from ansible_collections.openqa.client.plugins.module_utils.envelope import ServerError

if t.TYPE_CHECKING:
    from ansible_collections.openqa.client.plugins.module_utils.client import Client

# Newer openQA pages workers with limit/offset; 4.6 takes limit (capped at generic_max_limit, 100000 by
# default) and ignores offset. A page of 10000 is one request for any realistic worker farm on either.
PAGE_SIZE = 10000
MAX_LIMIT = 100000
# No openQA lists more workers than 4.6 answers in one listing (MAX_LIMIT): a server still sending full pages
# past that does not page like openQA, and reading on would only fill memory (it took 3 GB in 30 s).
MAX_WORKERS = MAX_LIMIT


def _worker_list(client: Client, query: t.Mapping[str, int]) -> t.List[dict]:
    """One page of ``GET workers``: a list of worker objects with integer ids, or status 6."""
    answer = client.get("workers", query)
    page = answer.get("workers") if isinstance(answer, dict) else None
    if not isinstance(page, list) or not all(isinstance(worker, dict) and isinstance(worker.get("id"), int)
                                             and not isinstance(worker["id"], bool) for worker in page):
        raise ServerError("%s answered workers without a list of workers with integer ids: it does not answer "
                          "like openQA" % client.base_url)
    return page


def list_workers(client: Client, page_size: int = PAGE_SIZE) -> t.List[dict]:
    """Every worker instance, by id, one request per page; status 6 past MAX_WORKERS."""
    workers: t.Dict[int, dict] = {}
    offset = 0
    while True:
        page = _worker_list(client, {"limit": page_size, "offset": offset})
        new = {worker["id"]: worker for worker in page if worker["id"] not in workers}
        if page and not new:
            # a page of ids already seen: the server ignores offset, so ask for all of them at once
            page = _worker_list(client, {"limit": MAX_LIMIT})
            return sorted(page, key=lambda worker: worker["id"])
        workers.update(new)
        if len(page) < page_size:
            return [workers[worker_id] for worker_id in sorted(workers)]
        if len(workers) > MAX_WORKERS:
            raise ServerError("%s answered more than %d workers in %d full pages and still no end: it does not page "
                              "like openQA" % (client.base_url, MAX_WORKERS, offset // page_size + 1))
        offset += len(page)


# A worker registered as localhost runs on its own machine, not on the controller; as an inventory host of that
# name it would replace Ansible's implicit localhost (local connection lost, joined to the openqa groups).
CONTROLLER_PREFIX = "openqa_worker_"


def _means_the_controller(name: str) -> bool:
    """Whether a host name reaches the controller itself: Ansible's localhost names (ansible.constants.LOCALHOST),
    any loopback address, and the names RFC 6761 keeps for loopback."""
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return name.lower().rstrip(".") in ("localhost", "localhost.localdomain") or \
            name.lower().rstrip(".").endswith(".localhost")


def inventory_name(worker_host: str, prefix: str = "") -> str:
    """The inventory host of a worker machine: ``prefix`` + its host; a name meaning the controller gets
    CONTROLLER_PREFIX in front, so it never shadows localhost."""
    name = prefix + worker_host
    return CONTROLLER_PREFIX + name if _means_the_controller(name) else name


def worker_classes(worker: t.Mapping[str, t.Any]) -> t.List[str]:
    text = str((worker.get("properties") or {}).get("WORKER_CLASS") or "")
    return [name.strip() for name in text.split(",") if name.strip()]


def instance_vars(worker: t.Mapping[str, t.Any]) -> dict:
    properties = dict(worker.get("properties") or {})
    return {
        "id": int(worker["id"]),
        "instance": worker.get("instance"),
        "status": worker.get("status"),
        "alive": bool(worker.get("alive")),
        "connected": bool(worker.get("connected")),
        "error": worker.get("error"),
        # the listing carries jobid only while a job runs
        "job_id": worker.get("jobid"),
        "worker_class": worker_classes(worker),
        "arch": properties.get("CPU_ARCH"),
        "properties": properties,
    }


def machines(workers: t.Iterable[t.Mapping[str, t.Any]], prefix: str = "") -> t.Dict[str, dict]:
    """Inventory host name -> the variables of that worker machine: its host, its instances and their union of
    classes etc. A host named otherwise than the machine has ``ansible_host`` set to the machine's name (not
    for a name meaning the controller: connecting there would reach the controller, not the worker)."""
    by_host: t.Dict[str, t.List[dict]] = {}
    for worker in workers:
        host = str(worker.get("host") or "").strip()
        if host:
            by_host.setdefault(host, []).append(instance_vars(worker))
    result = {}
    for host, instances in sorted(by_host.items()):
        instances.sort(key=lambda item: (item["instance"] is None, item["instance"] or 0, item["id"]))
        name = inventory_name(host, prefix)
        connection = {"ansible_host": host} if name != host and not _means_the_controller(host) else {}
        result[name] = {
            **connection,
            "openqa_worker_host": host,
            "openqa_worker_instances": instances,
            "openqa_worker_classes": _union(item["worker_class"] for item in instances),
            "openqa_worker_statuses": _union([item["status"]] for item in instances if item["status"]),
            "openqa_worker_arches": _union([item["arch"]] for item in instances if item["arch"]),
            "openqa_worker_jobs": [item["job_id"] for item in instances if item["job_id"]],
        }
    return result


def _union(lists: t.Iterable[t.Iterable[str]]) -> t.List[str]:
    return list(dict.fromkeys(item for items in lists for item in items))
