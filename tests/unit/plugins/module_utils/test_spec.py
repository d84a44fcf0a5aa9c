"""Option coercion: the one validation path for flags, --json-data and task arguments."""

from __future__ import annotations

import pytest

from ansible_collections.openqa.client.plugins.module_utils.envelope import AmbiguousError, InvalidInputError
from ansible_collections.openqa.client.plugins.module_utils._spec import (
    Action,
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
