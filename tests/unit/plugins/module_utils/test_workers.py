"""Client-side worker filtering and field selection (the server has no worker filters)."""

from __future__ import annotations

import pytest

from ansible_collections.openqa.client.plugins.module_utils.envelope import InvalidInputError
from ansible_collections.openqa.client.plugins.module_utils._workers import (
    ENTRY,
    property_filters,
    select_fields,
    worker_matches,
)

WORKER = {"alive": 1, "connected": 1, "error": None, "host": "Box", "id": 7, "instance": 2, "status": "idle",
          "websocket": 0, "properties": {"CPU_ARCH": "x86_64", "WORKER_CLASS": "qemu_x86_64, qemu_i686"}}


def matches(**given) -> bool:
    params = ENTRY.prepare(ENTRY.action("search"), given)
    return worker_matches(WORKER, params, property_filters(params["property"]))


@pytest.mark.parametrize("given, expected", [
    ({}, True),
    ({"worker_host": "box"}, True),
    ({"worker_host": "bo"}, False),
    ({"instance": 2}, True),
    ({"instance": 1}, False),
    ({"alive": "yes"}, True),
    ({"alive": "no"}, False),
    ({"connected": False}, False),
    ({"status": "idle"}, True),
    ({"status": "dead"}, False),
    ({"property": ["WORKER_CLASS=qemu_i686"]}, True),
    ({"property": ["worker_class=qemu_x86_64", "CPU_ARCH=x86_64"]}, True),
    ({"property": ["WORKER_CLASS=qemu"]}, False),
    ({"property": ["CPU_ARCH=x86"]}, False),
    ({"property": ["MEM_MAX="]}, True),
    ({"property": ["MEM_MAX=1"]}, False),
])
def test_filters(given, expected):
    assert matches(**given) is expected


@pytest.mark.parametrize("bad", ["WORKER_CLASS", "=x", [" =x"], "WORKER_CLASS=a,CPU_ARCH=b"])
def test_malformed_property_is_invalid_input(bad):
    with pytest.raises(InvalidInputError, match="not KEY=VALUE: write it like WORKER_CLASS=|two settings"):
        ENTRY.prepare(ENTRY.action("search"), {"property": bad})


def test_several_properties_in_one_string_are_split_shell_style():
    assert matches(property="WORKER_CLASS=qemu_i686 CPU_ARCH=x86_64") is True
    assert matches(property="WORKER_CLASS=qemu_i686 CPU_ARCH=arm") is False


def test_display_is_case_insensitive_and_keeps_server_spelling():
    assert select_fields(WORKER, ["HOST", "worker_class", "Instance"]) == {
        "host": "Box", "WORKER_CLASS": "qemu_x86_64, qemu_i686", "instance": 2}


def test_transient_fields_are_null_when_absent():
    assert select_fields(WORKER, ["jobid", "currentstep"]) == {"jobid": None, "currentstep": None}
    assert select_fields(dict(WORKER, jobid=9), ["JOBID"]) == {"jobid": 9}


def test_unknown_field_lists_valid_ones():
    with pytest.raises(InvalidInputError) as error:
        select_fields(WORKER, ["host", "colour"])
    assert "colour" in error.value.message and "CPU_ARCH" in error.value.message and "host" in error.value.message
