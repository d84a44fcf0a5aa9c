"""Folding worker instances into inventory machines (plugins/module_utils/_inventory.py)."""

from __future__ import annotations

from ansible_collections.openqa.client.plugins.module_utils._inventory import machines, worker_classes


def worker(worker_id: int, host: str, instance: int, status: str = "idle", classes: str = "qemu_x86_64",
           arch: str = "x86_64", **extra: object) -> dict:
    return dict({"id": worker_id, "host": host, "instance": instance, "status": status, "alive": 1, "connected": 0,
                 "error": None, "properties": {"WORKER_CLASS": classes, "CPU_ARCH": arch}}, **extra)


def test_instances_of_one_host_become_one_machine_in_instance_order() -> None:
    hosts = machines([worker(3, "b", 2, status="running", classes="qemu_x86_64,tap", jobid=77),
                      worker(1, "b", 1), worker(2, "a", 1, arch="aarch64", classes="qemu_aarch64")])
    assert list(hosts) == ["a", "b"]
    b = hosts["b"]
    assert [item["id"] for item in b["openqa_worker_instances"]] == [1, 3]
    assert b["openqa_worker_classes"] == ["qemu_x86_64", "tap"]
    assert b["openqa_worker_statuses"] == ["idle", "running"]
    assert b["openqa_worker_jobs"] == [77]
    assert b["openqa_worker_instances"][1]["connected"] is False and b["openqa_worker_instances"][1]["job_id"] == 77
    assert hosts["a"]["openqa_worker_arches"] == ["aarch64"]


def test_classes_are_trimmed_and_empty_ones_dropped() -> None:
    assert worker_classes({"properties": {"WORKER_CLASS": " a, ,b ,"}}) == ["a", "b"]
    assert worker_classes({"properties": {}}) == []
    assert worker_classes({}) == []


def test_worker_without_host_is_left_out() -> None:
    assert machines([worker(1, "", 1), worker(2, "  ", 1)]) == {}
