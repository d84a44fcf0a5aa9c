"""Rules (plugins/module_utils/_label.py) and verdicts and skips (plugins/module_utils/_investigate.py)."""

from __future__ import annotations

import re

import pytest

from ansible_collections.openqa.client.plugins.module_utils._investigate import _LINE, _skip_reason, verdict
from ansible_collections.openqa.client.plugins.module_utils._label import first_match, load_rules
from ansible_collections.openqa.client.plugins.module_utils.envelope import InvalidInputError, RefusedError

LOG = "reason text\n[info] start\nCloning git URL x to use as test distribution\n[debug] needledir not found\n"


def test_the_first_matching_rule_wins_and_dot_crosses_lines_only_with_s_flag() -> None:
    rules = load_rules([{"pattern": "Cloning.*needledir", "label": "one line only"},
                        {"pattern": "(?s)Cloning.*needledir", "label": "across lines"},
                        {"pattern": "needledir", "label": "later"}], allow_force_result=False)
    rule = first_match(rules, None, lambda: LOG)
    assert rule is not None and (rule.number, rule.label) == (2, "across lines")
    assert first_match(rules, None, lambda: "nothing") is None


def test_a_module_rule_matches_the_whole_first_failed_module_without_reading_the_log() -> None:
    rules = load_rules([{"module": "first_boot|zypper_up", "label": "bsc#1: known"},
                        {"module": "boot", "pattern": "died", "label": "bsc#2: boot died"}], allow_force_result=False)

    def unread() -> str:
        raise AssertionError("the log was read")
    assert first_match(rules, "zypper_up", unread).number == 1
    assert first_match(rules, "first_boot_2", unread) is None and first_match(rules, None, unread) is None
    assert first_match(rules, "boot", lambda: "it died").number == 2


def test_force_result_is_a_label_prefix_and_needs_allowing() -> None:
    rule = {"pattern": "x", "label": "poo#1 flaky", "force_result": "softfailed"}
    with pytest.raises(RefusedError, match="allow_force_result"):
        load_rules([rule], allow_force_result=False)
    assert load_rules([rule], allow_force_result=True)[0].text == "label:force_result:softfailed:poo#1 flaky"


def test_rules_from_a_yaml_file(tmp_path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("- pattern: 'a+'\n  label: poo#1 a\n  retry: true\n")
    (rule,) = load_rules(str(path), allow_force_result=False)
    assert rule.pattern is not None and rule.pattern.pattern == "a+"
    assert (rule.label, rule.retry, rule.force_result) == ("poo#1 a", True, None)
    path.write_text("- pattern: [unclosed\n")
    with pytest.raises(InvalidInputError, match="not valid YAML"):
        load_rules(str(path), allow_force_result=False)


@pytest.mark.parametrize("results, expected", [
    ({"retry": "passed"}, "sporadic"),
    ({"retry": "softfailed", "last_good_build": "failed"}, "sporadic"),
    ({"retry": "failed"}, "not sporadic"),
    ({"retry": "failed", "last_good_build": "user_cancelled"}, "cancelled"),
    ({"retry": "failed", "last_good_build": "passed"}, "product regression"),
    ({"retry": "failed", "last_good_tests": "passed"}, "test regression"),
    ({"retry": "failed", "last_good_tests": "failed", "last_good_build": "failed",
      "last_good_tests_and_build": "failed"}, "infrastructure"),
    ({"retry": "failed", "last_good_tests": "failed", "last_good_build": "failed",
      "last_good_tests_and_build": "passed"}, "unclear"),
])
def test_verdicts(results, expected) -> None:
    assert verdict(results) == expected


BASE = {"id": 5, "test": "t", "state": "done", "result": "failed", "group_id": 1, "group": "G",
        "parent_group": "P", "settings": {}}
OPTIONS = {"include_no_group": False}


@pytest.mark.parametrize("changes, words", [
    ({}, None),
    ({"test": "t:investigate:retry"}, "investigation job"),
    ({"settings": {"OPENQA_INVESTIGATE_ORIGIN": "x/t1"}}, "investigation job"),
    ({"result": "passed"}, "not failed (passed)"),
    ({"state": "running", "result": "none"}, "not failed (running)"),
    ({"children": {"Parallel": [6]}}, "parallel cluster"),
    ({"parents": {"Directly chained": [4]}}, "directly chained cluster"),
    ({"parents": {"Chained": [4]}}, None),
    ({"clone_id": 9}, "already restarted as 9"),
    ({"settings": {"NO_INVESTIGATION": "1"}}, "NO_INVESTIGATION"),
    ({"group_id": None, "group": None, "parent_group": None}, "not in a job group"),
])
def test_skip_reasons(changes, words) -> None:
    reason = _skip_reason(dict(BASE, **changes), OPTIONS, None)
    assert (reason is None) if words is None else (words in reason)


def test_exclude_group_matches_parent_slash_group() -> None:
    assert "matches exclude_group" in _skip_reason(BASE, OPTIONS, re.compile("^P / G$"))
    assert _skip_reason(BASE, OPTIONS, re.compile("Development.*/ ")) is None


def test_investigation_comments_of_openqa_investigate_are_read_too() -> None:
    upstream = ("Automatic investigation jobs for job 10:\n\n* *t:investigate:retry*: t#11\n"
                "* *t:investigate:last_good_tests:abc123*: t#12\n* *t:investigate:last_good_build:20261120*: t#13\n"
                "* *t:investigate:last_good_tests_and_build:abc123+20261120*: t#14\n\n💡[*Detailed explanation*](x)")
    assert _LINE.findall(upstream) == [("retry", "11"), ("last_good_tests", "12"), ("last_good_build", "13"),
                                       ("last_good_tests_and_build", "14")]
