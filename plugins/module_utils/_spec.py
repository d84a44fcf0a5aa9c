# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Declarations of entries, actions and options, shared by the modules and the CLI.

One declaration yields the Ansible argument_spec, the argparse parser and the validation
that turns raw values (flags, --json-data, task arguments) into the params a verb gets.
"""

from __future__ import annotations

import re
import typing as t

from ansible_collections.openqa.client.plugins.module_utils.envelope import (
    AmbiguousError,
    InvalidInputError,
    Result,
)

MAX_ID = 2 ** 63 - 1
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_TRUE = frozenset({"1", "true", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "no", "n", "off"})


def parse_duration(text: t.Any, name: str = "duration") -> float:
    """``90``, ``90s``, ``15m``, ``12h``, ``1d``, ``2w`` -> seconds."""
    match = _DURATION.match(str(text)) if not isinstance(text, bool) else None
    if not match:
        raise InvalidInputError("%s %r is not a duration: use a number with an optional unit s, m, h, d or w "
                                "(e.g. 90, 15m, 12h, 1d)" % (name, text))
    return float(match.group(1)) * _SECONDS[match.group(2).lower()]


def parse_key_values(value: t.Any, name: str) -> list:
    """A dict, a ``KEY=VAL`` string or a list of them -> ordered (key, value) pairs."""
    if isinstance(value, dict):
        return [(str(k), "" if v is None else str(v)) for k, v in value.items()]
    items = value if isinstance(value, (list, tuple)) else [value]
    pairs = []
    for item in items:
        if isinstance(item, dict):
            pairs.extend(parse_key_values(item, name))
            continue
        key, sep, val = str(item).partition("=")
        if not sep or not key.strip():
            raise InvalidInputError("%s %r is not KEY=VALUE: write it like ISO=foo.iso (KEY= clears a setting)"
                                    % (name, item))
        pairs.append((key.strip(), val))
    return pairs


# Declarations are NamedTuples, not dataclasses: importing dataclasses (and inspect) would cost
# every openqa-ctl call more than the rest of our modules together.
class Option(t.NamedTuple):
    """One option; ``type`` is str, int, bool, float, duration or keyvalue; ``multiple`` repeats it."""

    name: str
    help: str
    type: str = "str"
    multiple: bool = False
    choices: t.Tuple[str, ...] = ()
    aliases: t.Tuple[str, ...] = ()
    default: t.Any = None
    no_log: t.Optional[bool] = None
    minimum: t.Optional[int] = None

    @property
    def flags(self) -> list:
        names = (self.name,) + self.aliases
        flags = ["--" + n for n in names]
        flags += ["--" + n.replace("_", "-") for n in names if "_" in n]
        return flags

    def coerce(self, value: t.Any) -> t.Any:
        """Check and convert a flag, JSON or task value; defaults are applied by Entry.prepare."""
        try:
            return self._coerce(value)
        except InvalidInputError:
            if self.no_log:  # the messages quote the value: never a secret's
                raise InvalidInputError("%s is malformed (value hidden): give it as one string" % self.name) from None
            raise

    def _coerce(self, value: t.Any) -> t.Any:
        if self.type == "keyvalue":
            return parse_key_values(value, self.name)
        if self.multiple:
            values = value if isinstance(value, (list, tuple)) else [value]
            return [self._one(v) for v in values]
        if isinstance(value, (list, tuple)):
            if len(value) != 1:
                raise InvalidInputError("%s takes one value, got %d: %s" % (self.name, len(value), value))
            value = value[0]
        return self._one(value)

    def _one(self, value: t.Any) -> t.Any:
        if self.type == "int":
            return self._int(value)
        if self.type == "bool":
            return self._bool(value)
        if self.type in ("float", "duration"):
            return parse_duration(value, self.name)
        if isinstance(value, (dict, list, tuple)) or value is None:
            raise InvalidInputError("%s must be a string, got %r" % (self.name, value))
        text = str(value)
        if not text.strip():
            raise InvalidInputError("%s is empty: give a value or leave the option out" % self.name)
        if self.choices and text not in self.choices:
            raise InvalidInputError("%s %r is not one of: %s" % (self.name, text, ", ".join(self.choices)))
        return text

    def _int(self, value: t.Any) -> int:
        text = str(value).strip()
        if isinstance(value, bool) or not re.fullmatch(r"[+-]?[0-9]+", text):
            raise InvalidInputError("%s %r is not a whole number" % (self.name, value))
        number = int(text)
        low = 1 if self.minimum is None else self.minimum
        if not low <= number <= MAX_ID:
            raise InvalidInputError("%s %s is out of range: it must be between %d and %d"
                                    % (self.name, number, low, MAX_ID))
        return number

    def _bool(self, value: t.Any) -> bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise InvalidInputError("%s %r is not a boolean: use true or false" % (self.name, value))

    def argument_spec(self) -> dict:
        spec: dict = {"type": {"keyvalue": "raw", "duration": "str", "float": "str"}.get(self.type, self.type)}
        if self.multiple:
            spec = {"type": "list", "elements": spec["type"]}
        if self.choices:
            spec["choices"] = list(self.choices)
        if self.aliases:
            spec["aliases"] = list(self.aliases)
        if self.no_log is not None:
            spec["no_log"] = self.no_log
        return spec


Verb = t.Callable[[t.Any, dict], Result]


class Action(t.NamedTuple):
    name: str
    run: Verb
    help: str
    options: t.Tuple[str, ...] = ()
    required: t.Tuple[str, ...] = ()
    mutating: bool = False
    aliases: t.Tuple[str, ...] = ()
    # pairs of options that must not be combined
    conflicts: t.Tuple[t.Tuple[str, str], ...] = ()


class Entry(t.NamedTuple):
    name: str
    help: str
    options: t.Tuple[Option, ...]
    actions: t.Tuple[Action, ...] = ()

    def option(self, name: str) -> Option:
        for option in self.options:
            if option.name == name:
                return option
        raise KeyError(name)

    def action(self, name: t.Any) -> Action:
        for action in self.actions:
            if name == action.name or name in action.aliases:
                return action
        raise InvalidInputError("unknown action %r for %s: use one of %s"
                                % (name, self.name, ", ".join(a.name for a in self.actions)))

    def prepare(self, action: Action, raw: t.Mapping[str, t.Any]) -> dict:
        """Validate raw option values for an action; unset options are absent or None."""
        given = {k: v for k, v in raw.items() if v is not None and v != [] and k in self._names()}
        stray = sorted(set(given) - set(action.options))
        if stray:
            raise InvalidInputError("option %s is not used by '%s %s': its options are %s"
                                    % (", ".join(stray), self.name, action.name,
                                       ", ".join(action.options) or "(none)"))
        missing = [name for name in action.required if name not in given]
        if missing:
            needed = ", ".join("--" + name for name in missing)
            raise InvalidInputError("'%s %s' needs %s" % (self.name, action.name, needed))
        for first, second in action.conflicts:
            if first in given and second in given:
                raise AmbiguousError("ambiguous options: --%s and --%s exclude each other; give one"
                                     % (first, second))
        params = {name: self.option(name).default for name in action.options}
        params.update({name: self.option(name).coerce(value) for name, value in given.items()})
        return params

    def _names(self) -> set:
        return {option.name for option in self.options}
