"""Folding worker instances into inventory machines (plugins/module_utils/_inventory.py)."""

from __future__ import annotations


from ansible_collections.openqa.client.plugins.module_utils._inventory import inventory_name, machines, worker_classes


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


def test_names_meaning_the_controller_never_become_a_host() -> None:
    loopback = ("127.0.0.1", "localhost", "::1", "127.1.2.3", "LOCALHOST", "localhost.localdomain",
                "box.localhost", "0:0:0:0:0:0:0:1")  # ansible.constants.LOCALHOST and more
    for name in loopback:
        assert inventory_name(name) == "openqa_worker_" + name
        assert inventory_name(name, "w_") == "w_" + name or name.endswith(".localhost")
    assert inventory_name("box.localhost", "w_") == "openqa_worker_w_box.localhost"
    assert inventory_name("worker1.example.com") == "worker1.example.com"
    assert inventory_name("local", "x") == "xlocal"
    assert inventory_name("host", "local") == "openqa_worker_localhost"


def test_a_renamed_machine_keeps_its_address_unless_it_is_the_controller() -> None:
    hosts = machines([worker(1, "w1", 1), worker(2, "localhost", 1)], prefix="oq_")
    assert hosts["oq_w1"]["ansible_host"] == "w1" and hosts["oq_w1"]["openqa_worker_host"] == "w1"
    assert "ansible_host" not in hosts["oq_localhost"]
    plain = machines([worker(1, "w1", 1), worker(2, "::1", 1)])
    assert "ansible_host" not in plain["w1"] and "ansible_host" not in plain["openqa_worker_::1"]
