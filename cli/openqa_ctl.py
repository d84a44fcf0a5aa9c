# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""openqa-ctl ENTRY ACTION [options]: the same verbs as the modules, printed as the proposal's envelope.

It imports only module_utils (never ansible), so a call costs little more than the request.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import sys
import time
import typing as t

from ansible_collections.openqa.client.cli import render
from ansible_collections.openqa.client.plugins.module_utils.envelope import (
    AmbiguousError,
    InvalidInputError,
    OpenQAError,
    Result,
    Status,
)
from ansible_collections.openqa.client.plugins.module_utils.config import read_regular_file
from ansible_collections.openqa.client.plugins.module_utils._runner import CONNECTION_OPTIONS, execute
from ansible_collections.openqa.client.plugins.module_utils._spec import Entry, Option

COLLECTION_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Exit codes beyond the statuses: the shell's for SIGINT, and sysexits' EX_IOERR when the output cannot be written.
EXIT_INTERRUPTED = 130
EXIT_OUTPUT_FAILED = 74


class _Entries(t.Mapping[str, Entry]):
    """Entry name -> Entry, importing an entry's module on first use: a call loads only its own."""

    MODULES = {"test": "_jobs", "worker": "_workers", "group": "_groups", "build": "_builds", "api": "_api",
               "events": "_events"}

    def __init__(self) -> None:
        self._loaded: t.Dict[str, Entry] = {}

    def __getitem__(self, name: str) -> Entry:
        if name not in self._loaded:
            module = importlib.import_module("ansible_collections.openqa.client.plugins.module_utils."
                                             + self.MODULES[name])
            self._loaded[name] = module.ENTRY
        return self._loaded[name]

    def __iter__(self) -> t.Iterator[str]:
        return iter(self.MODULES)

    def __len__(self) -> int:
        return len(self.MODULES)


ENTRIES = _Entries()
MAX_JSON_DATA = 1024 * 1024
CLI_ONLY = ("entry", "action", "json_data", "check", "pretty", "format")
OUTPUT_FLAGS = ("--json-data", "--check", "--pretty", "--format")
FORMATS = ("json", "yaml", "table")


def _columns() -> int:
    """The terminal's width as shutil.get_terminal_size finds it (COLUMNS, then the tty, else 80)."""
    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size((sys.__stdout__ or sys.stdout).fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80


class _Formatter(argparse.HelpFormatter):
    """argparse's formatter without its shutil import (bz2, lzma, ...): a tenth of a --help's imports."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=_columns() - 2)


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage and exiting 2, and takes no abbreviated flags
    (a pipeline's --forc must not silently mean --force)."""

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> t.NoReturn:
        raise InvalidInputError("%s: %s (see '%s --help')" % (self.prog, message, self.prog))


def version() -> str:
    """The collection's version from its one source: galaxy.yml (pip installs it with the collection), or the
    MANIFEST.json that ansible-galaxy writes from it."""
    try:
        with open(os.path.join(COLLECTION_DIR, "galaxy.yml"), encoding="utf-8") as handle:
            # the pattern pyproject.toml gives hatch for the package version
            match = re.search(r"(?m)^version:\s*['\"]?([^'\"\s]+)", handle.read())
        if match:
            return match.group(1)
    except OSError:
        pass
    try:
        with open(os.path.join(COLLECTION_DIR, "MANIFEST.json"), encoding="utf-8") as handle:
            return str(json.load(handle)["collection_info"]["version"])
    except (OSError, ValueError, KeyError, TypeError):
        return "unknown"


class _PrintVersion(argparse.Action):
    """--version reads the version only when asked."""

    def __call__(self, parser: t.Any, namespace: t.Any, values: t.Any, option_string: t.Any = None) -> None:
        print("openqa-ctl " + version())
        parser.exit()


class _PrintModulesPath(argparse.Action):
    def __call__(self, parser: t.Any, namespace: t.Any, values: t.Any, option_string: t.Any = None) -> None:
        print(os.path.join(COLLECTION_DIR, "plugins", "modules"))
        parser.exit()


class _PrintCompletion(argparse.Action):
    def __call__(self, parser: t.Any, namespace: t.Any, values: t.Any, option_string: t.Any = None) -> None:
        common = [flag for option in CONNECTION_OPTIONS for flag in option.flags] + list(OUTPUT_FLAGS) + ["--help"]
        print(render.bash_completion(ENTRIES, ["--version", "--completion", "--ansible-library", "--help"], common,
                                     {"--format": FORMATS}))
        parser.exit()


SEEN = "_flags_seen"  # namespace attribute: option name -> (flag, value) of its first flag


class _Once(argparse.Action):
    """Stores a single-valued option and refuses a second flag that sets it to another value
    (--host X --from Y, --force --no-force): no flag may silently override another."""

    def __init__(self, *args: t.Any, option: Option, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.option = option

    def __call__(self, parser: t.Any, namespace: t.Any, values: t.Any, option_string: t.Any = None) -> None:
        value = self.const if values is None or values == [] else values
        seen = getattr(namespace, SEEN, None) or {}
        if self.dest in seen and not self._same(seen[self.dest][1], value):
            raise AmbiguousError("ambiguous options: %s %s and %s %s both set %s; give it once"
                                 % (seen[self.dest][0], self._shown(seen[self.dest][1]), option_string,
                                    self._shown(value), self.dest))
        seen.setdefault(self.dest, (option_string, value))
        setattr(namespace, SEEN, seen)
        setattr(namespace, self.dest, value)

    def _same(self, first: t.Any, second: t.Any) -> bool:
        try:
            return self.option.coerce(first) == self.option.coerce(second)
        except OpenQAError:
            return first == second

    def _shown(self, value: t.Any) -> str:
        return "(hidden)" if self.option.no_log else repr(value)


def _add_option(parser: t.Any, option: Option, flags: t.Optional[t.Sequence[str]] = None) -> None:
    if option.positional:
        parser.add_argument(option.name, nargs=option.positional, default=None, help=option.help,
                            metavar="KEY=VALUE" if option.positional == "*" else option.name.upper())
        return
    flags = list(flags or option.flags)
    kwargs: dict = {"dest": option.name, "default": None, "help": option.help}
    if option.type == "bool":
        # --alive, --alive yes|no (the proposal's spelling) and --no-alive
        kwargs.update(nargs="?", const=True, metavar="yes|no", action=_Once, option=option)
    elif option.multiple or option.type == "keyvalue":
        # --vars A=1 B=2 and --vars A=1 --vars B=2 both work, like openqa-cli schedule's arguments
        metavar = "KEY=VALUE" if option.type == "keyvalue" else option.name.upper()
        kwargs.update(action="extend", nargs="+", metavar=metavar)
    else:
        kwargs.update(metavar=option.name.upper(), action=_Once, option=option)
    if option.choices:
        kwargs["help"] += " One of: %s." % ", ".join(option.choices)
    parser.add_argument(*([option.short] if option.short else []), *flags, **kwargs)
    if option.type == "bool":
        parser.add_argument(*["--no-" + flag[2:] for flag in flags], dest=option.name, default=None, nargs=0,
                            const=False, action=_Once, option=option, help=argparse.SUPPRESS)


def build_parser(only: t.Optional[str] = None, action_name: t.Optional[str] = None) -> _Parser:
    """The parser for one call: with ``only`` (an entry name) just that entry, and with ``action_name`` just
    that action's options (the other actions only named, for help and errors). Without ``only`` the entries
    without their actions: all that --help, --version and an unknown entry need."""
    top = _Parser(prog="openqa-ctl", description="Drive openQA: test, worker, group and build actions. "
                  "Prints {\"invocation\": {\"status\": N, \"message\": ...}, \"returns\": ...}; "
                  "the exit code is the status.")
    top.add_argument("--version", action=_PrintVersion, nargs=0, help="print the version and exit")
    top.add_argument("--completion", choices=("bash",), action=_PrintCompletion,
                     help="print a shell completion script: eval \"$(openqa-ctl --completion bash)\"")
    top.add_argument("--ansible-library", action=_PrintModulesPath, nargs=0,
                     help="print the modules directory, for ANSIBLE_LIBRARY (short module names in ad-hoc runs)")
    entry_parsers = top.add_subparsers(dest="entry", metavar="ENTRY")
    for entry in (ENTRIES[only],) if only is not None and only in ENTRIES else ENTRIES.values():
        entry_parser = entry_parsers.add_parser(entry.name, help=entry.help, description=entry.help)
        if only is None:
            continue
        wanted = next((a.name for a in entry.actions if action_name in (a.name,) + a.aliases), None)
        # an entry with one action (api) takes its options directly: openqa-ctl api PATH
        action_parsers = entry_parser.add_subparsers(dest="action", metavar="ACTION") \
            if len(entry.actions) > 1 else None
        for action in entry.actions:
            parser = action_parsers.add_parser(action.name, aliases=list(action.aliases), help=action.help,
                                               description=action.help) if action_parsers else entry_parser
            if wanted in (None, action.name) or not action_parsers:
                _add_options(parser, entry, action)
    return top


def _add_options(parser: t.Any, entry: Entry, action: t.Any) -> None:
    for name in action.options:
        _add_option(parser, entry.option(name), action.flags_for(entry.option(name)))
    common = parser.add_argument_group("connection and output")
    for option in CONNECTION_OPTIONS:
        _add_option(common, option, action.flags_for(option))
    common.add_argument("--json-data", metavar="FILE",
                        help="JSON object of options (flag names as keys); flags win over it")
    common.add_argument("--check", action="store_true",
                        help="say what would change, send no POST/PUT/DELETE")
    common.add_argument("--pretty", action="store_true", help="indent the JSON output")
    common.add_argument("--format", choices=("json", "yaml", "table"), default="json",
                        help="json (default: the proposal's envelope), yaml, or a table for people")


def read_json_data(path: str, entry: Entry) -> t.Tuple[dict, t.Set[str]]:
    """Options from a JSON file, keyed by option name, alias or flag spelling: the values by option name, and
    the spellings the file used (for deprecation warnings)."""
    raw = read_regular_file(path, "--json-data", MAX_JSON_DATA)
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise InvalidInputError("--json-data %s is not valid JSON: %s" % (path, str(exc)[:200])) from None
    if not isinstance(data, dict):
        raise InvalidInputError("--json-data %s must hold a JSON object of options, not %s"
                                % (path, type(data).__name__))
    names = {}
    for option in CONNECTION_OPTIONS + entry.options:
        for spelling in (option.name,) + option.aliases:
            names[spelling] = names[spelling.replace("_", "-")] = option.name
    unknown = sorted(str(k) for k in data if str(k).lstrip("-") not in names)
    if unknown:
        raise InvalidInputError("--json-data %s has unknown options %s: valid ones are %s"
                                % (path, ", ".join(unknown), ", ".join(sorted(set(names.values())))))
    options: dict = {}
    for key, value in data.items():
        name = names[str(key).lstrip("-")]
        if name in options and options[name][1] != value:
            raise AmbiguousError("ambiguous options: --json-data %s sets %s twice (as %s and as %s); give it once"
                                 % (path, name, options[name][0], key))
        options.setdefault(name, (key, value))
    return ({name: value for name, (_key, value) in options.items()},
            {str(key).lstrip("-") for key in data})


def _spellings(argv: t.Sequence[str]) -> t.Set[str]:
    """The option spellings of a command line (--max-attempts=2 -> max-attempts; --no-force -> force too)."""
    spellings = {arg[2:].split("=", 1)[0] for arg in argv if arg.startswith("--")}
    return spellings | {spelling[3:] for spelling in spellings if spelling.startswith("no-")}


def run(argv: t.Sequence[str], environ: t.Optional[t.Mapping[str, str]] = None) -> t.Tuple[Result, bool]:
    """Parse and execute; returns the result and whether the action mutates."""
    if not argv:
        raise InvalidInputError("no entry point given: use one of %s (see 'openqa-ctl --help')"
                                % ", ".join(ENTRIES))
    words = [arg for arg in argv if not arg.startswith("-")]
    entry_name = words[0] if words and words[0] in ENTRIES else None
    parser = build_parser(entry_name, words[1] if entry_name and len(words) > 1 else None)
    namespace, extra = parser.parse_known_args(argv)
    args = vars(namespace)
    args.pop(SEEN, None)
    if args["entry"] not in ENTRIES:
        parser.error("unrecognized arguments: %s" % " ".join(extra) if extra else "no entry point given")
    entry = ENTRIES[args["entry"]]
    if len(entry.actions) == 1:
        args["action"] = entry.actions[0].name
        # openqa-cli takes KEY=VALUE after options too (api PATH --json a=1); argparse stops at the first option
        rest = [o for o in entry.options if o.positional == "*"]
        if rest and extra and not any(arg.startswith("-") for arg in extra):
            args[rest[0].name] = (args[rest[0].name] or []) + extra
            extra = []
    if extra:
        parser.error("unrecognized arguments: %s" % " ".join(extra))
    if not args.get("action"):
        raise InvalidInputError("no action given for %s: use one of %s (see 'openqa-ctl %s --help')"
                                % (entry.name, ", ".join(a.name for a in entry.actions), entry.name))
    action = entry.action(args["action"])
    file_values, file_spellings = read_json_data(args["json_data"], entry) if args["json_data"] else ({}, set())
    flags = {k: v for k, v in args.items() if k not in CLI_ONLY and v is not None}
    raw = dict(file_values, **flags, action=action.name)
    from_file = frozenset(file_values) - frozenset(flags)
    # events streams: each event is a line of its own, as the rulebook source gets it
    callbacks: t.Optional[t.Dict[str, t.Callable[..., None]]] = \
        {"sink": _print_event, "warn": _warn, "ready": _said} if entry.name == "events" else None
    # one command, one server: without OPENQA_HOST the environment's credentials are --host's (never --to's)
    result = execute(entry, raw, check_mode=args["check"], from_json_data=from_file, environ=environ,
                     on_retry=_warn, on_progress=_progress if sys.stderr.isatty() else _SparseProgress(
                         os.environ if environ is None else environ),
                     callbacks=callbacks,
                     sole_server=True)
    result.warnings[:0] = entry.deprecation_warnings(_spellings(argv) | file_spellings)
    return result, action.mutating


def _print_event(event: dict) -> None:
    """One event, one line of JSON, flushed: a pipeline reading line by line sees it at once."""
    try:
        sys.stdout.write(json.dumps(event, sort_keys=True) + "\n")
        sys.stdout.flush()
    except OSError as error:
        raise OutputClosedError("cannot write the event stream (%s)" % (error.strerror or error)) from None


class OutputClosedError(OpenQAError):
    """stdout went away (the reader of a pipe ended): the stream ends."""


def _warn(message: str) -> None:
    print("openqa-ctl: warning: %s" % render.printable(message), file=sys.stderr)


def _said(message: str) -> None:
    print("openqa-ctl: %s" % render.printable(message), file=sys.stderr, flush=True)


def _progress(message: str) -> None:
    print("openqa-ctl: %s" % render.printable(message), file=sys.stderr)


class _SparseProgress:
    """Without a terminal (a CI log) a long wait still shows that it is alive: a progress line on stderr at
    most once a minute (OPENQA_CTL_PROGRESS_EVERY seconds), the first after that long, so a short call
    prints nothing."""

    def __init__(self, environ: t.Mapping[str, str]) -> None:
        try:
            self.every = max(0.0, float(environ.get("OPENQA_CTL_PROGRESS_EVERY", "60")))
        except ValueError:
            self.every = 60.0
        self.last = time.monotonic()

    def __call__(self, message: str) -> None:
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            print("openqa-ctl: %s" % render.printable(message), file=sys.stderr, flush=True)


def _streamed(argv: t.Sequence[str]) -> bool:
    words = [arg for arg in argv if not arg.startswith("-")]
    return bool(words) and words[0] == "events"


def _output_format(argv: t.Sequence[str]) -> str:
    """Read --format from argv directly, so even a parse error is presented as asked."""
    for index, arg in enumerate(argv):
        if arg == "--format" and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith("--format="):
            return arg.split("=", 1)[1]
    return "json"


def present(envelope: dict, argv: t.Sequence[str]) -> str:
    output = _output_format(argv)
    if output == "yaml":
        return render.as_yaml(envelope)
    if output == "table":
        colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        return render.as_table(envelope, colour=colour)
    return render.as_json(envelope, pretty="--pretty" in argv)


def main(argv: t.Optional[t.Sequence[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        return _main(argv)
    except KeyboardInterrupt:
        _last_words(EXIT_INTERRUPTED, "interrupted (Ctrl-C): a change already sent to openQA may have been made; "
                    "run the same command again to see the state")
        return EXIT_INTERRUPTED


def _last_words(code: int, message: str) -> None:
    """An envelope on stderr when stdout cannot carry one; stdout goes to /dev/null so the interpreter's
    final flush of a full or closed stdout cannot raise again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
    try:
        print(render.as_json({"invocation": {"status": code, "message": message}}), file=sys.stderr)
    except OSError:
        pass


def _main(argv: t.Sequence[str]) -> int:
    try:
        result, mutating = run(argv)
    except OpenQAError as error:
        result, mutating = Result.from_error(error), False
    except Exception as error:  # pylint: disable=broad-except
        if os.environ.get("OPENQA_CTL_DEBUG"):
            raise
        result = Result(status=Status.SERVER_ERROR, message="internal error (%s: %s); rerun with "
                        "OPENQA_CTL_DEBUG=1 for a traceback and report it" % (type(error).__name__, error))
        mutating = False
    try:
        for warning in result.warnings:
            _warn(warning)
        if _streamed(argv) and result.status == Status.OK:
            return 0  # the events were the output
        # a read that may change the server (build wait --max-attempts) says so when it did
        print(present(result.envelope(with_changed=mutating or result.changed), argv))
        sys.stdout.flush()
    except OSError as error:
        _last_words(EXIT_OUTPUT_FAILED, "cannot write the output (%s); the action ended with status %d: %s"
                    % (error.strerror or error, result.status, result.message))
        return EXIT_OUTPUT_FAILED
    return int(result.status)


if __name__ == "__main__":
    sys.exit(main())
