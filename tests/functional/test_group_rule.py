"""One rule for every action that takes a group (issue 25, major 1), against the real server.

An unknown group is status 2 "unknown group" naming the near matches; a name matches exactly, case
included, as openQA's job listing (group=) and POST isos (_GROUP) match it; a build absent from a
group that exists stays "no build found" (restart) or "unknown build" (info, wait).
"""

from __future__ import annotations

import uuid

import pytest


def _unique(prefix: str = "g") -> str:
    return "%s-%s" % (prefix, uuid.uuid4().hex[:12])


def _group_taking_calls(build: str, group: str) -> list:
    """Every action that takes a group, with that group (check mode for the mutating ones)."""
    product = ["--vars", "DISTRI=opensuse", "--vars", "VERSION=Tumbleweed", "--vars", "FLAVOR=DVD",
               "--vars", "ARCH=x86_64", "--vars", "BUILD=" + build]
    return [
        ["build", "restart", "--id", build, "--group", group],
        ["build", "restart", "--id", build, "--group", group, "--check"],
        ["build", "wait", "--id", build, "--group", group, "--timeout", "1"],
        ["build", "wait", "--id", build, "--group", group, "--check"],
        ["build", "info", "--id", build, "--group", group],
        ["build", "search", "--group", group],
        ["build", "new", "--group", group, "--check", *product],
        ["test", "search", "--group", group],
        ["test", "stop", "--group", group, "--build", build],
    ]


@pytest.mark.parametrize("typo", ["no such group at all", "fixture other", "FIXTURE OTHER", "Fixture  Other"])
def test_an_unknown_group_is_status_2_for_every_action_naming_the_near_matches(server, ctl, typo):
    fixture = server.fixture
    for call in _group_taking_calls(fixture["other_build"], typo):
        run = ctl(*call, *server.cli_creds())
        assert (run.rc, run.status) == (2, 2), (call, run.envelope)
        assert run.message.startswith("unknown group: there is no job group named %r" % typo), (call, run.message)
        assert "case included" in run.message
        if typo != "no such group at all":
            assert "did you mean 'Fixture Other' (id %d)" % fixture["other_group_id"] in run.message, run.message


def test_an_unknown_group_id_is_status_2(server, ctl):
    for option in ("--group", "--groupid"):
        run = ctl("build", "restart", "--id", server.fixture["other_build"], option, "987654", *server.cli_creds())
        assert (run.rc, run.message) == (2, "unknown group: there is no job group 987654 on %s (openqa-ctl group "
                                            "search lists them)" % server.url)


def test_the_module_and_retrigger_playbook_follow_the_same_rule(server, module):
    """retrigger_failed.yml's -e GROUP='rel2 TW Nightly' case: a case difference is no silent no-op."""
    restart = module("build", {"action": "restart", "id": server.fixture["other_build"], "group": "fixture Other",
                               **server.creds()})
    assert restart.rc != 0 and restart.status == 2 and "did you mean 'Fixture Other'" in restart.result["msg"]


def test_a_build_absent_from_an_existing_group_stays_no_build_found(server, ctl):
    group = server.fixture["other_group_name"]
    build = _unique("absent")
    restart = ctl("build", "restart", "--id", build, "--group", group, *server.cli_creds())
    assert (restart.rc, restart.message, restart.returns["found"]) == (0, "no build found", False)
    info = ctl("build", "info", "--id", build, "--group", group)
    assert info.rc == 2 and info.message.startswith("unknown build")
    wait = ctl("build", "wait", "--id", build, "--group", group, "--timeout", "1")
    assert wait.rc == 2 and wait.message.startswith("unknown build")


def test_the_exact_name_still_finds_the_build(server, ctl):
    fixture = server.fixture
    info = ctl("build", "info", "--id", fixture["other_build"], "--group", fixture["other_group_name"])
    assert info.rc == 0 and {e["name"] for e in info.returns} == {"raid0", "textmode"}
