# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Declarations of entries, actions and options, shared by the modules and the CLI.

One declaration yields the Ansible argument_spec, the argparse parser and the validation
that turns raw values (flags, --json-data, task arguments) into the params a verb gets.
"""

from __future__ import annotations

import re
import shlex
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


_KEY = r"[A-Za-z_][A-Za-z0-9_]*\+?"
# a comma followed by KEY= inside one value: almost surely two pairs written as one
_COMMA_PAIR = re.compile(r",\s*" + _KEY + "=")


def parse_key_values(value: t.Any, name: str, example: str = "ISO=foo.iso") -> list:
    """The one KEY=VALUE parser: a dict, a list of ``KEY=VAL`` strings, or one string -> ordered (key, value) pairs.

    One string may hold several pairs, split shell-style as Ansible's own key=value arguments are
    (``'A=1 B="x y"'``; quotes keep spaces inside a value). An item of a list is one pair, whatever
    it contains. A value holding ``,KEY=`` is refused: a pipeline must not send two settings as one.
    """
    if isinstance(value, dict):
        return [(str(k), "" if v is None else str(v)) for k, v in value.items()]
    items = value if isinstance(value, (list, tuple)) else _split_pairs(value, name, example)
    pairs = []
    for item in items:
        if isinstance(item, dict):
            pairs.extend(parse_key_values(item, name, example))
            continue
        key, sep, val = str(item).partition("=")
        if not sep or not key.strip():
            raise InvalidInputError("%s %r is not KEY=VALUE: write it like %s (KEY= clears a setting)"
                                    % (name, item, example))
        if _COMMA_PAIR.search(val):
            raise InvalidInputError("%s %r holds two settings separated by a comma: give each pair on its own "
                                    "(repeat the option, or separate them with spaces: 'A=1 B=2'); a value that "
                                    "really contains ',KEY=' can be given as a dict" % (name, item))
        pairs.append((key.strip(), val))
    return pairs


def _split_pairs(value: t.Any, name: str, example: str) -> list:
    text = str(value)
    try:
        tokens = shlex.split(text)
    except ValueError as exc:
        raise InvalidInputError("%s %r cannot be split into KEY=VALUE pairs (%s): close the quotes"
                                % (name, text, exc)) from None
    if len(tokens) <= 1:
        return [text]  # one pair, written as given
    words = [token for token in tokens if not re.match(_KEY + "=", token)]
    if words:
        raise InvalidInputError("%s %r mixes KEY=VALUE pairs with %r: quote a value that has spaces, like %s"
                                % (name, text, words[0], 'DESC="two words"'))
    return tokens


COLLECTION = "openqa.client"


class Deprecation(t.NamedTuple):
    """An option or alias on its way out: ``version`` is the major release that removes it (a deprecation is
    announced in a minor release, with this warning, at least one minor release before; docs/stability.md),
    ``instead`` what to write instead."""

    version: str
    instead: str

    def warning(self, what: str) -> str:
        return "%s is deprecated and will be removed in %s %s: %s" % (what, COLLECTION, self.version, self.instead)


# Declarations are NamedTuples, not dataclasses: importing dataclasses (and inspect) would cost
# every openqa-ctl call more than the rest of our modules together.
class Option(t.NamedTuple):
    """One option; ``type`` is str, int, bool, duration, keyvalue or raw (any JSON value, checked by the
    verb); ``multiple`` repeats it, and a value may also list several separated by commas (as a filter's
    alternatives do) unless ``commas`` is False (file names). ``positional`` (an argparse nargs) and
    ``short`` shape only the CLI."""

    name: str
    help: str
    type: str = "str"
    multiple: bool = False
    choices: t.Tuple[str, ...] = ()
    aliases: t.Tuple[str, ...] = ()
    default: t.Any = None
    no_log: t.Optional[bool] = None
    minimum: t.Optional[int] = None
    positional: str = ""
    short: str = ""
    example: str = "ISO=foo.iso"  # keyvalue: how a pair looks, for the error message
    commas: bool = True
    # the option is going away (Ansible's removed_in_version); deprecated_aliases: (alias, Deprecation) pairs,
    # each alias also in ``aliases`` (Ansible's deprecated_aliases)
    deprecated: t.Optional[Deprecation] = None
    deprecated_aliases: t.Tuple[t.Tuple[str, Deprecation], ...] = ()

    @property
    def flags(self) -> list:
        """--name and its aliases, each dashed first (what help and completion show), then as written."""
        flags = []
        for name in (self.name,) + self.aliases:
            flags += ["--" + name.replace("_", "-")] + (["--" + name] if "_" in name else [])
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
        if self.type == "raw":
            return value
        if self.type == "keyvalue":
            return parse_key_values(value, self.name, self.example)
        if self.multiple:
            values = value if isinstance(value, (list, tuple)) else [value]
            if self.commas:
                values = [part for v in values for part in (v.split(",") if isinstance(v, str) else [v])]
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
        if self.type == "duration":
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

    def is_default(self, value: t.Any) -> bool:
        """True when a value means the declared default: an explicit default is not "given"."""
        if self.default is None:
            return False
        try:
            return self.coerce(value) == self.default
        except InvalidInputError:
            return False

    @property
    def doc_default(self) -> t.Any:
        """The default as a task or ansible-doc shows it (durations as 30s, 2m, 1h)."""
        if self.type == "duration" and self.default is not None:
            seconds = float(self.default)
            for unit, size in (("h", 3600), ("m", 60)):
                if seconds >= size and seconds % size == 0:
                    return "%d%s" % (seconds // size, unit)
            return "%gs" % seconds
        return self.default

    def argument_spec(self) -> dict:
        spec: dict = {"type": {"keyvalue": "raw", "duration": "str"}.get(self.type, self.type)}
        if self.multiple:
            spec = {"type": "list", "elements": spec["type"]}
        if self.default is not None:
            spec["default"] = self.doc_default
        if self.choices:
            spec["choices"] = list(self.choices)
        if self.aliases:
            spec["aliases"] = list(self.aliases)
        if self.no_log is not None:
            spec["no_log"] = self.no_log
        if self.deprecated:
            spec.update(removed_in_version=self.deprecated.version, removed_from_collection=COLLECTION)
        if self.deprecated_aliases:
            spec["deprecated_aliases"] = [{"name": alias, "version": deprecation.version, "collection_name": COLLECTION}
                                          for alias, deprecation in self.deprecated_aliases]
        return spec

    def deprecation_warnings(self, spellings: t.AbstractSet[str]) -> list:
        """The warnings for the spellings of this option a caller used (names, aliases; dashed or not).

        Modules need none: Ansible warns from the argument_spec. The CLI and the lookup say it themselves."""
        used = {spelling.replace("-", "_") for spelling in spellings}
        warnings = []
        if self.deprecated and used & {name.replace("-", "_") for name in (self.name,) + self.aliases}:
            warnings.append(self.deprecated.warning("option %s" % self.name))
        for alias, deprecation in self.deprecated_aliases:
            if alias.replace("-", "_") in used:
                warnings.append(deprecation.warning("%s, an alias of option %s," % (alias, self.name)))
        return warnings


Verb = t.Callable[[t.Any, dict], Result]


class Action(t.NamedTuple):
    name: str
    run: Verb
    help: str
    options: t.Tuple[str, ...] = ()
    required: t.Tuple[str, ...] = ()
    mutating: bool = False
    # options that make a reading action change the server (build wait --max-attempts restarts failures):
    # a lookup, which only reads, refuses them
    mutating_options: t.Tuple[str, ...] = ()
    aliases: t.Tuple[str, ...] = ()
    # pairs of options that must not be combined
    conflicts: t.Tuple[t.Tuple[str, str], ...] = ()
    # the option the --host flag means in this action (the proposal's worker search); the server is --from there
    host_flag: t.Optional[str] = None

    def flags_for(self, option: Option) -> list:
        """The command-line flags of an option (or a connection option) in this action."""
        flags = list(option.flags)
        if self.host_flag and option.name == self.host_flag:
            flags.insert(0, "--host")
        elif self.host_flag and option.name == "host":
            flags.remove("--host")
        return flags


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
        """Validate raw option values for an action; unset options are absent or None.

        An option counts as given only when its value differs from the declared default: playbooks
        pass explicit defaults (variables, module_defaults), and those must neither conflict nor be stray.
        """
        given = {k: v for k, v in raw.items()
                 if v is not None and v != [] and k in self._names() and not self.option(k).is_default(v)}
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

    def deprecation_warnings(self, spellings: t.AbstractSet[str]) -> list:
        """What a caller must hear about the deprecated options and aliases among the spellings it used."""
        return [warning for option in self.options for warning in option.deprecation_warnings(spellings)]
