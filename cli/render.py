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


def _cell(value: t.Any) -> t.List[str]:
    """One table cell as lines: a long or nested value wraps onto more lines, it is never cut."""
    if isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    else:
        text = "" if value is None else str(value)
    lines: t.List[str] = []
    for line in printable(text).splitlines() or [""]:
        lines.extend(line[i:i + _CELL_WIDTH] for i in range(0, max(len(line), 1), _CELL_WIDTH))
    return lines


def _grid(rows: t.List[t.List[t.List[str]]]) -> t.List[str]:
    """Rows of cells (each a list of lines) -> aligned text, the first row a header."""
    widths = [max(len(line) for row in rows for line in row[i]) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        for n in range(max(len(cell) for cell in row)):
            cells = [cell[n] if n < len(cell) else "" for cell in row]
            lines.append("  ".join(text.ljust(width) for text, width in zip(cells, widths, strict=True)).rstrip())
    lines.insert(1, "  ".join("-" * width for width in widths))
    return lines


def _is_records(value: t.Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(item, dict) for item in value)


def _records(items: t.List[dict]) -> t.List[str]:
    """A list of dicts as a table; one column holding lists of dicts (build info's tests) becomes sub-rows."""
    columns = list(dict.fromkeys(key for item in items for key in item))
    nested = next((c for c in columns if any(_is_records(item.get(c)) for item in items)), None)
    if nested is None:
        return _grid([[_cell(c) for c in columns]] + [[_cell(item.get(c)) for c in columns] for item in items])
    outer = [c for c in columns if c != nested]
    inner = list(dict.fromkeys(key for item in items for sub in _subrows(item.get(nested)) for key in sub))
    names = outer + [key if key not in outer else "%s.%s" % (nested, key) for key in inner]
    rows = [[_cell(name) for name in names]]
    for item in items:
        for n, sub in enumerate(_subrows(item.get(nested))):
            rows.append([_cell(item.get(c)) if n == 0 else [""] for c in outer] + [_cell(sub.get(k)) for k in inner])
    return _grid(rows)


def _subrows(value: t.Any) -> t.List[dict]:
    return value if _is_records(value) else [{}]


def _table_lines(returns: t.Any) -> t.List[str]:
    if _is_records(returns):
        return _records(returns)
    if isinstance(returns, dict):
        if len(returns) == 1:
            (key, inner), = returns.items()
            if isinstance(inner, list):
                return [printable(str(key)) + ":"] + _table_lines(inner)
        # lists of records get a table of their own below the key/value pairs
        sections = [key for key, value in returns.items() if _is_records(value)]
        pairs = [[[printable(str(k))], _cell(v)] for k, v in returns.items() if k not in sections]
        lines = _grid([[["key"], ["value"]]] + pairs) if pairs else []
        for key in sections:
            lines += ["", printable(str(key)) + ":"] + _records(returns[key])
        return lines
    if isinstance(returns, list):
        return [line for item in returns for line in _cell(item)]
    return [] if returns is None else _cell(returns)


def as_table(envelope: dict, colour: bool = False) -> str:
    invocation = envelope["invocation"]
    head = "status %d: %s" % (invocation["status"], _cut(printable(str(invocation["message"])), _MESSAGE_WIDTH))
    if "changed" in invocation:
        head += " (changed)" if invocation["changed"] else " (no change)"
    if colour:
        head = (_GREEN if invocation["status"] == 0 else _RED) + head + _RESET
    return "\n".join([head] + _table_lines(envelope.get("returns")))


def bash_completion(entries: t.Mapping[str, t.Any], global_flags: t.Sequence[str], common_flags: t.Sequence[str],
                    common_choices: t.Optional[t.Mapping[str, t.Sequence[str]]] = None) -> str:
    """A bash completion function generated from the same declarations as the parser; the value after a
    flag with fixed choices (--format, --result, ...) completes from them."""
    choices: t.Dict[str, t.List[str]] = {flag: list(values) for flag, values in (common_choices or {}).items()}
    for entry in entries.values():
        for option in entry.options:
            for flag in option.flags if option.choices else ():
                choices[flag] = list(dict.fromkeys(choices.get(flag, []) + list(option.choices)))
    value_cases = ["        %s) words_=\"%s\" ;;" % (flag, " ".join(values))
                   for flag, values in sorted(choices.items())]
    cases = []
    for entry in entries.values():
        names = " ".join(name for action in entry.actions for name in (action.name,) + action.aliases)
        cases.append("        %s) words_=\"%s\" ;;" % (entry.name, names))
        for action in entry.actions:
            flags = [flag for name in action.options for flag in action.flags_for(entry.option(name))]
            for name in (action.name,) + action.aliases:
                words = " ".join(flags + list(common_flags))
                cases.append("        %s/%s) words_=\"%s\" ;;" % (entry.name, name, words))
    return "\n".join([
        "# bash completion for openqa-ctl: eval \"$(openqa-ctl --completion bash)\"",
        "_openqa_ctl() {",
        "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} key words_",
        "    case $prev in",
    ] + value_cases + [
        "        *) words_=- ;;",
        "    esac",
        "    if [ \"$words_\" != - ]; then",
        "        COMPREPLY=($(compgen -W \"$words_\" -- \"$cur\"))",
        "        return",
        "    fi",
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
