# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Presentation of an envelope: json (the proposal's contract), yaml, or a table for people."""

from __future__ import annotations

import json
import re
import typing as t
import unicodedata

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_GREEN, _RED, _RESET = "\033[32m", "\033[31m", "\033[0m"


def as_json(envelope: dict, pretty: bool = False) -> str:
    if pretty:
        return json.dumps(envelope, indent=2, ensure_ascii=False)
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False)


def _yaml_scalar(value: t.Any) -> str:
    # JSON scalars are valid YAML flow scalars, quoted where YAML would misread them
    return json.dumps(value, ensure_ascii=False)


def _yaml_key(key: t.Any) -> str:
    key = str(key)
    return key if _PLAIN_KEY.match(key) and key.lower() not in ("yes", "no", "true", "false", "null", "on", "off") \
        else json.dumps(key, ensure_ascii=False)


def _yaml_lines(value: t.Any, indent: int) -> t.List[str]:
    pad = " " * indent
    if isinstance(value, dict) and value:
        lines = []
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines.append("%s%s:" % (pad, _yaml_key(key)))
                lines.extend(_yaml_lines(item, indent + 2))
            else:
                lines.append("%s%s: %s" % (pad, _yaml_key(key), _yaml_scalar(item)))
        return lines
    if isinstance(value, list) and value:
        lines = []
        for item in value:
            if isinstance(item, (dict, list)) and item:
                nested = _yaml_lines(item, indent + 2)
                lines.append("%s- %s" % (pad, nested[0].lstrip()))
                lines.extend(nested[1:])
            else:
                lines.append("%s- %s" % (pad, _yaml_scalar(item)))
        return lines
    return [pad + _yaml_scalar(value)]


def as_yaml(envelope: dict) -> str:
    return "\n".join(["---"] + _yaml_lines(envelope, 0))


_CELL_WIDTH = 60
_MESSAGE_WIDTH = 2000


def printable(text: str) -> str:
    """Server text made safe for a terminal: control characters (ESC, CSI, BEL, bidi controls, ...) as escapes."""
    return "".join(char.encode("unicode_escape").decode("ascii") if unicodedata.category(char) in ("Cc", "Cf")
                   else char for char in text)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


def _cell(value: t.Any) -> str:
    """One table cell; nested values are shortened: the json and yaml formats have them whole."""
    if isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    else:
        text = "" if value is None else str(value)
    return _cut(printable(text), _CELL_WIDTH)


def _grid(rows: t.List[t.List[str]]) -> t.List[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return lines


def _table_lines(returns: t.Any) -> t.List[str]:
    if isinstance(returns, list) and returns and all(isinstance(item, dict) for item in returns):
        columns = list(dict.fromkeys(key for item in returns for key in item))
        return _grid([[_cell(column) for column in columns]] + [[_cell(item.get(column)) for column in columns]
                                                                  for item in returns])
    if isinstance(returns, dict):
        if len(returns) == 1:
            (key, inner), = returns.items()
            if isinstance(inner, list):
                return [_cell(key) + ":"] + _table_lines(inner)
        return _grid([["key", "value"]] + [[_cell(k), _cell(v)] for k, v in returns.items()])
    if isinstance(returns, list):
        return [_cell(item) for item in returns]
    return [] if returns is None else [_cell(returns)]


def as_table(envelope: dict, colour: bool = False) -> str:
    invocation = envelope["invocation"]
    head = "status %d: %s" % (invocation["status"], _cut(printable(str(invocation["message"])), _MESSAGE_WIDTH))
    if "changed" in invocation:
        head += " (changed)" if invocation["changed"] else " (no change)"
    if colour:
        head = (_GREEN if invocation["status"] == 0 else _RED) + head + _RESET
    return "\n".join([head] + _table_lines(envelope.get("returns")))


def bash_completion(entries: t.Mapping[str, t.Any], global_flags: t.Sequence[str], common_flags: t.Sequence[str]) -> str:
    """A bash completion function generated from the same declarations as the parser."""
    cases = []
    for entry in entries.values():
        names = " ".join(name for action in entry.actions for name in (action.name,) + action.aliases)
        cases.append("        %s) words_=\"%s\" ;;" % (entry.name, names))
        for action in entry.actions:
            flags = [flag for name in action.options for flag in entry.option(name).flags]
            for name in (action.name,) + action.aliases:
                cases.append("        %s/%s) words_=\"%s\" ;;" % (entry.name, name, " ".join(flags + list(common_flags))))
    return "\n".join([
        "# bash completion for openqa-ctl: eval \"$(openqa-ctl --completion bash)\"",
        "_openqa_ctl() {",
        "    local cur=${COMP_WORDS[COMP_CWORD]} key words_",
        "    case $COMP_CWORD in",
        "        1) key=\"\" ;;",
        "        2) key=${COMP_WORDS[1]} ;;",
        "        *) key=${COMP_WORDS[1]}/${COMP_WORDS[2]} ;;",
        "    esac",
        "    case $key in",
        "        \"\") words_=\"%s %s\" ;;" % (" ".join(entries), " ".join(global_flags)),
    ] + cases + [
        "        *) words_=\"\" ;;",
        "    esac",
        "    COMPREPLY=($(compgen -W \"$words_\" -- \"$cur\"))",
        "}",
        "complete -o default -F _openqa_ctl openqa-ctl",
    ])
