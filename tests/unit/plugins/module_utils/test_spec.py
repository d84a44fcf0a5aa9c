"""Option coercion: the one validation path for flags, --json-data and task arguments."""

from __future__ import annotations

import pytest

from ansible_collections.openqa.client.plugins.module_utils.envelope import AmbiguousError, InvalidInputError
from ansible_collections.openqa.client.plugins.module_utils._spec import (
    Action,
    Deprecation,
    Entry,
    Option,
    parse_duration,
    parse_key_values,
)


@pytest.mark.parametrize("text, seconds", [("90", 90), ("90s", 90), ("15m", 900), ("12h", 43200), ("1d", 86400),
                                           ("2w", 1209600), ("1.5h", 5400), (30, 30)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "1y", "-1d", "abc", "1 d d", True])
def test_bad_durations(bad):
    with pytest.raises(InvalidInputError, match="not a duration"):
        parse_duration(bad)


def test_key_values_keep_order_and_allow_clearing():
    assert parse_key_values(["ISO=", "A=b=c", "TEST+=x"], "vars") == [("ISO", ""), ("A", "b=c"), ("TEST+", "x")]
    assert parse_key_values({"A": 1, "B": None}, "vars") == [("A", "1"), ("B", "")]


@pytest.mark.parametrize("bad", ["NOEQUALS", "=value", [" =x"]])
def test_malformed_key_values(bad):
    with pytest.raises(InvalidInputError, match="KEY=VALUE"):
        parse_key_values(bad, "vars")


@pytest.mark.parametrize("value", ["abc", "1.5", "", True, "0", "-3", str(2 ** 63)])
def test_bad_ids(value):
    with pytest.raises(InvalidInputError):
        Option("id", "", type="int").coerce(value)


def test_ids_and_bools():
    assert Option("id", "", type="int", multiple=True).coerce(["1", 2]) == [1, 2]
    assert Option("id", "", type="int").coerce(["7"]) == 7
    assert Option("f", "", type="bool").coerce("yes") is True
    with pytest.raises(InvalidInputError):
        Option("f", "", type="bool").coerce("maybe")


ENTRY = Entry("demo", "", options=(Option("id", "", type="int"),
                                   Option("a", ""), Option("b", ""), Option("n", "", type="int", default=3)),
              actions=(Action("go", lambda c, p: None, "", options=("id", "a", "b", "n"), required=("id",),
                              conflicts=(("a", "b"),)),))


def test_prepare_applies_defaults_and_rejects_strays_missing_and_conflicts():
    action = ENTRY.action("go")
    assert ENTRY.prepare(action, {"id": "4"}) == {"id": 4, "a": None, "b": None, "n": 3}
    with pytest.raises(InvalidInputError, match="needs --id"):
        ENTRY.prepare(action, {})
    with pytest.raises(AmbiguousError, match="ambiguous"):
        ENTRY.prepare(action, {"id": 1, "a": "x", "b": "y"})
    with pytest.raises(InvalidInputError, match="unknown action"):
        ENTRY.action("nope")


def test_an_explicit_default_is_not_given():
    """Playbooks pass defaults explicitly (variables, module_defaults): they neither conflict nor are stray."""
    from ansible_collections.openqa.client.plugins.module_utils._jobs import ENTRY as TEST

    clone = TEST.prepare(TEST.action("clone"), {"id": [5], "skip_deps": False, "clone_children": True})
    assert (clone["skip_deps"], clone["clone_children"]) == (False, True)
    restart = TEST.prepare(TEST.action("restart"), {"id": [5], "parent": True, "skip_children": "no",
                                                    "timeout": "1h", "interval": "30s"})
    assert (restart["parent"], restart["skip_children"], restart["timeout"]) == (True, False, 3600.0)
    # an option the action does not use, at its default, is not stray either
    assert TEST.prepare(TEST.action("stop"), {"id": [5], "wait": False, "limit": 500})["id"] == [5]
    with pytest.raises(AmbiguousError, match="exclude each other"):
        TEST.prepare(TEST.action("clone"), {"id": [5], "skip_deps": True, "clone_children": True})
    with pytest.raises(InvalidInputError, match="is not used by"):
        TEST.prepare(TEST.action("stop"), {"id": [5], "wait": True})


def test_argument_spec_declares_the_defaults_as_a_task_writes_them():
    from ansible_collections.openqa.client.plugins.module_utils._jobs import ENTRY as TEST
    from ansible_collections.openqa.client.plugins.module_utils._runner import argument_spec

    spec = argument_spec(TEST)
    assert (spec["force"]["default"], spec["limit"]["default"], spec["timeout"]["default"]) == (False, 500, "1h")
    assert (spec["interval"]["default"], spec["request_timeout"]["default"], spec["deadline"]["default"]) == \
        ("30s", "30s", "2m")
    assert "default" not in spec["follow"]  # its default depends on the action
    for option in TEST.options:
        if option.default is not None:
            assert option.coerce(option.doc_default) == option.default


@pytest.mark.parametrize("value, pairs", [
    ('DISTRI=opensuse VERSION=Tumbleweed FLAVOR=DVD',
     [("DISTRI", "opensuse"), ("VERSION", "Tumbleweed"), ("FLAVOR", "DVD")]),
    ('A=1 B="x y" C=', [("A", "1"), ("B", "x y"), ("C", "")]),
    ("TEST+=x", [("TEST+", "x")]),
    ('DESC="kept as written"', [("DESC", '"kept as written"')]),  # one pair: its value is not re-parsed
    (["DESC=two words", "B=2"], [("DESC", "two words"), ("B", "2")]),  # a list item is one pair
    ("WORKER_CLASS=qemu_x86_64,tap", [("WORKER_CLASS", "qemu_x86_64,tap")]),
])
def test_one_string_of_pairs_is_split_shell_style(value, pairs):
    assert parse_key_values(value, "vars") == pairs


@pytest.mark.parametrize("value, says", [
    ("A=1,B=2", "two settings separated by a comma"),
    (["A=1, B=2"], "two settings separated by a comma"),
    ("DESC=two words", "mixes KEY=VALUE pairs with 'words'"),
    ('A="open', "close the quotes"),
])
def test_pairs_that_would_silently_become_one_value_are_refused(value, says):
    with pytest.raises(InvalidInputError, match=says):
        parse_key_values(value, "vars")


def _going_away() -> Option:
    return Option("old", "an option on its way out", aliases=("older",),
                  deprecated=Deprecation("2.0.0", "use new instead"),
                  deprecated_aliases=(("older", Deprecation("2.0.0", "write old")),))


def test_deprecations_reach_the_argument_spec_as_ansible_takes_them():
    spec = _going_away().argument_spec()
    assert spec["removed_in_version"] == "2.0.0" and spec["removed_from_collection"] == "openqa.client"
    assert spec["deprecated_aliases"] == [{"name": "older", "version": "2.0.0", "collection_name": "openqa.client"}]
    # Ansible's own validator (what AnsibleModule runs) warns from them
    validator = pytest.importorskip("ansible.module_utils.common.arg_spec")
    # the option by its name: one deprecation; by the deprecated alias: the alias's and the option's, as the CLI
    for given, named in (({"old": "x"}, ["old"]), ({"older": "x"}, ["older", "old"])):
        result = validator.ArgumentSpecValidator({"old": spec}).validate(dict(given))
        assert result.error_messages == []
        assert {(d["version"], d["collection_name"]) for d in result._deprecations} == {("2.0.0", "openqa.client")}
        assert len(result._deprecations) == len(named)
        assert all(any(repr(name) in d["msg"] for d in result._deprecations) for name in named)


def test_deprecation_warnings_name_what_was_used_and_what_to_write():
    entry = Entry("e", "", (_going_away(), Option("new", "")))
    assert entry.deprecation_warnings({"new"}) == []
    assert entry.deprecation_warnings({"old"}) == [
        "option old is deprecated and will be removed in openqa.client 2.0.0: use new instead"]
    # an alias both deprecates the option (whatever spelling) and itself
    assert entry.deprecation_warnings({"older"}) == [
        "option old is deprecated and will be removed in openqa.client 2.0.0: use new instead",
        "older, an alias of option old, is deprecated and will be removed in openqa.client 2.0.0: write old"]
