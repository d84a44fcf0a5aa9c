"""Malformed input, CLI and modules: exact status, a message that says what to fix, no traceback,
and nothing changed on the server.

The CLI cases run ``openqa_ctl.main`` in-process (the same code as the console script, without
a Python start-up per case); the module cases run the module file (``module_direct``) and a
few go through ``ansible`` itself. Each case compares a digest of this module's own jobs
(state, result, clone, priority of every job of its build) before and after.
"""

from __future__ import annotations

import http.server
import json
import threading
import typing as t
import uuid
from dataclasses import dataclass, field

import pytest
import requests

from ansible_collections.openqa.client.cli import openqa_ctl
from ansible_collections.openqa.client.plugins.module_utils import client as client_module

AMBIGUOUS, UNREACHABLE, NOT_FOUND, INVALID, AUTH, SERVER = 3, 1, 2, 4, 5, 6
SKEW = 301.0  # seconds: one past the server's api_hmac_time_tolerance
HUGE = 2 ** 63
PRODUCT = {"DISTRI": "opensuse", "VERSION": "Tumbleweed", "FLAVOR": "DVD", "ARCH": "x86_64"}


@dataclass(frozen=True)
class Case:
    name: str
    args: t.Tuple[str, ...]
    status: t.Optional[int]  # None: refused by ansible's own argument validation (no status key)
    says: str  # part of the message that tells what to fix
    role: str = "admin"
    skew: float = 0.0
    data: t.Optional[str] = None  # --json-data content (written to a file), or a path to use as is


@dataclass
class World:
    """What the table's placeholders refer to: this module's own jobs and servers."""

    url: str
    job: int
    pending: int
    build: str
    html_url: str
    worker: int
    tmp: t.Any
    digest: t.Callable[[], list]
    values: dict = field(default_factory=dict)


def c(name: str, *args: str, status: t.Optional[int], says: str, **kw: t.Any) -> Case:
    return Case(name, args, status, says, **kw)


GOOD_NEW = ("--vars", "DISTRI=opensuse", "--vars", "VERSION=Tumbleweed", "--vars", "FLAVOR=DVD",
            "--vars", "ARCH=x86_64", "--vars", "BUILD={build}-new")

CLI_CASES = [
    # entry points, actions, flags
    c("no entry", status=INVALID, says="no entry point given: use one of test"),
    c("unknown entry", "nosuch", status=INVALID, says="invalid choice: 'nosuch'"),
    c("no action", "test", status=INVALID, says="no action given for test: use one of"),
    c("unknown action", "test", "frobnicate", status=INVALID, says="invalid choice: 'frobnicate'"),
    c("unknown flag", "test", "status", "--id", "{job}", "--bogus-flag", status=INVALID,
      says="unrecognized arguments: --bogus-flag"),
    c("flag of another action", "test", "status", "--id", "{job}", "--force", status=INVALID,
      says="unrecognized arguments: --force"),
    c("bool flag with a value", "test", "status", "--id", "{job}", "--follow", "maybe", status=INVALID,
      says="follow 'maybe' is not a boolean: use true or false"),
    c("required id missing", "test", "status", status=INVALID, says="'test status' needs --id"),
    # ids
    c("id not a number", "test", "status", "--id", "abc", status=INVALID, says="id 'abc' is not a whole number"),
    c("id negative", "test", "restart", "--id", "-5", status=INVALID, says="out of range: it must be between 1"),
    c("id zero", "test", "restart", "--id", "0", status=INVALID, says="out of range"),
    c("id huge", "test", "restart", "--id", str(HUGE), status=INVALID, says="out of range"),
    c("id empty", "test", "status", "--id", "", status=INVALID, says="is not a whole number"),
    c("id float", "test", "stop", "--id", "1.5", status=INVALID, says="is not a whole number"),
    c("id with shell metacharacters", "test", "restart", "--id", "{job};rm -rf /", status=INVALID,
      says="is not a whole number"),
    c("id unknown", "test", "restart", "--id", "987654321", status=NOT_FOUND, says="unknown test: there is no job"),
    c("two ids for a one-id action", "test", "status", "--id", "{job}", "--id", "{pending}", status=INVALID,
      says="takes one --id, got 2"),
    c("worker id negative", "worker", "info", "--id", "-1", status=INVALID, says="out of range"),
    c("worker id unknown", "worker", "info", "--id", "987654", status=NOT_FOUND, says="unknown worker"),
    c("group id unknown", "group", "info", "--id", "987654", status=NOT_FOUND, says="unknown group"),
    c("groupid negative", "build", "info", "--id", "{build}", "--groupid", "-1", status=INVALID,
      says="out of range: it must be between 0"),
    # values of options
    c("unknown attribute", "test", "info", "--id", "{job}", "--attributes", "nope", status=INVALID,
      says="unknown attribute nope: valid ones are"),
    c("unknown state", "test", "search", "--state", "bogus", status=INVALID, says="state 'bogus' is not one of"),
    c("unknown result", "test", "search", "--result", "green", status=INVALID, says="is not one of"),
    c("limit zero", "test", "search", "--limit", "0", status=INVALID, says="out of range"),
    c("since a word", "test", "search", "--since", "yesterday", status=INVALID,
      says="is not a duration: use a number with an optional unit"),
    c("since negative", "test", "search", "--since=-1h", status=INVALID, says="is not a duration"),
    c("since unknown unit", "test", "search", "--since", "3y", status=INVALID, says="is not a duration"),
    c("timeout a word", "test", "wait", "--id", "{job}", "--timeout", "soon", status=INVALID,
      says="timeout 'soon' is not a duration"),
    c("prio not a number", "test", "restart", "--id", "{job}", "--prio", "high", status=INVALID,
      says="is not a whole number"),
    c("empty comment", "test", "restart", "--id", "{job}", "--comment", "", status=INVALID,
      says="comment is empty: give a value or leave the option out"),
    c("empty build condition", "test", "stop", "--build", " ", status=INVALID, says="build is empty"),
    c("unknown worker status", "worker", "search", "--status", "sleepy", status=INVALID, says="is not one of"),
    c("worker property not KEY=VAL", "worker", "search", "--property", "qemu", status=INVALID,
      says="is not KEY=VALUE: write it like WORKER_CLASS=qemu_x86_64"),
    c("unknown worker field", "worker", "info", "--id", "{worker}", "--display", "shoe_size", status=INVALID,
      says="unknown worker field shoe_size: valid ones are"),
    c("invalid regex", "group", "search", "--name", "(unclosed", "--regex", status=INVALID,
      says="is not a valid regular expression"),
    c("regex without name", "group", "search", "--regex", status=INVALID, says="--regex needs --name"),
    c("builds_younger zero", "group", "info", "--id", "1", "--builds-younger", "0", status=INVALID,
      says="builds_younger must be longer than 0"),
    # KEY=VAL
    c("vars without =", "test", "restart", "--id", "{job}", "--vars", "NOEQUALS", status=INVALID,
      says="is not KEY=VALUE: write it like ISO=foo.iso"),
    c("vars without key", "test", "restart", "--id", "{job}", "--vars", "=value", status=INVALID,
      says="is not KEY=VALUE"),
    c("clone setting lower case", "test", "clone", "--id", "{job}", "--vars", "lower=case", status=INVALID,
      says="a job setting name is upper case letters"),
    c("unknown build filter", "build", "info", "--id", "{build}", "--filter", "colour=red", status=INVALID,
      says="unknown filter 'colour': filters are KEY=VALUE with KEY one of"),
    c("unknown status in filter", "build", "info", "--id", "{build}", "--filter", "status=green",
      status=INVALID, says="unknown status green in filter status=green"),
    c("filter without value", "build", "info", "--id", "{build}", "--filter", "status=", status=INVALID,
      says="filter status= has no value"),
    c("build new without product", "build", "new", "--vars", "DISTRI=opensuse", "--vars", "BUILD={build}",
      status=INVALID, says="missing parameters: VERSION FLAVOR ARCH"),
    # conflicting options
    c("parent and skip_children", "test", "restart", "--id", "{job}", "--parent", "--skip-children",
      status=AMBIGUOUS, says="--parent and --skip_children exclude each other"),
    c("skip_deps and clone_children", "test", "clone", "--id", "{job}", "--skip-deps", "--clone-children",
      status=AMBIGUOUS, says="exclude each other"),
    c("clone sets a setting twice", "test", "clone", "--id", "{job}", "--vars", "A=1", "--vars", "A=2",
      status=AMBIGUOUS, says="vars sets A twice"),
    c("stop by id and condition", "test", "stop", "--id", "{pending}", "--build", "{build}", status=AMBIGUOUS,
      says="give --id or conditions"),
    c("stop with nothing", "test", "stop", status=INVALID, says="it never cancels every job"),
    c("group and groupid", "build", "info", "--id", "{build}", "--group", "x", "--groupid", "1",
      status=AMBIGUOUS, says="--group and --groupid exclude each other"),
    c("group twice in build new", "build", "new", *GOOD_NEW, "--group", "1", "--vars", "_GROUP_ID=1",
      status=AMBIGUOUS, says="--group and --vars _GROUP_ID both name the group"),
    c("build search without group", "build", "search", status=INVALID, says="needs --groupid or --group"),
    # unicode and shell metacharacters are data, never code or a crash
    c("shell metacharacters in a build", "build", "info", "--id", "$(touch /tmp/pwned);`id`|&'\"", status=NOT_FOUND,
      says="unknown build: no job has build $(touch /tmp/pwned)"),
    c("unicode build", "build", "info", "--id", "bûïld-💥-ǅ", status=NOT_FOUND,
      says="unknown build: no job has build bûïld-💥-ǅ"),
    c("SQL in a group name", "group", "info", "--id", "1' OR '1'='1", status=INVALID, says="is not a whole number"),
    # connection options
    c("retries negative", "test", "status", "--id", "{job}", "--retries", "-1", status=INVALID,
      says="retries -1 is out of range: it must be between 0"),
    c("deadline a word", "test", "status", "--id", "{job}", "--deadline", "never", status=INVALID,
      says="deadline 'never' is not a duration"),
    c("request_timeout a word", "test", "status", "--id", "{job}", "--request-timeout", "fast", status=INVALID,
      says="is not a duration"),
    c("host empty", "test", "status", "--id", "{job}", "--host", "", status=INVALID,
      says="host is empty: give a value or leave the option out"),
    c("host not http", "test", "status", "--id", "{job}", "--host", "ftp://example.org", status=INVALID,
      says="is not an http(s) URL such as https://openqa.example.com"),
    c("host port invalid", "test", "status", "--id", "{job}", "--host", "http://127.0.0.1:99999", status=INVALID,
      says="has an invalid port"),
    c("host with a query", "test", "status", "--id", "{job}", "--host", "http://127.0.0.1:9526/?x=1",
      status=INVALID, says="is not an http(s) URL"),
    c("unknown host", "test", "status", "--id", "{job}", "--host", "openqa.invalid", "--retries", "0",
      status=UNREACHABLE, says="does not resolve; check host"),
    c("closed port", "test", "status", "--id", "{job}", "--host", "http://127.0.0.1:1", "--retries", "0",
      status=UNREACHABLE, says="connection refused"),
    c("non-openQA server answering HTML", "test", "status", "--id", "{job}", "--host", "{html_url}",
      status=SERVER, says="instead of JSON: is it an openQA server?"),
    c("host ending in the API path", "test", "status", "--id", "{job}", "--host", "{url}/api/v1", status=SERVER,
      says="/api/v1 (HTTP 404: {\"error_status\":404}); remove the trailing /api/v1 from host (the client adds it)"),
    c("key without secret", "test", "status", "--id", "{job}", "--api-key", "K", status=INVALID,
      says="api_secret is missing"),
    # credentials and rights (the table's role column picks the key)
    c("expired key", "test", "restart", "--id", "{job}", role="expired", status=AUTH,
      says="the API key has expired: create a new one"),
    c("wrong secret", "test", "restart", "--id", "{job}", role="wrong-secret", status=AUTH,
      says="check api_secret for this api_key"),
    c("unknown key", "test", "restart", "--id", "{job}", role="unknown-key", status=AUTH,
      says="the server does not know this API key"),
    c("clock skew", "test", "restart", "--id", "{job}", skew=SKEW, status=AUTH,
      says="differs from the server's by more than the server's tolerance (300 s unless configured); fix the clock"),
    # restart needs admin rights on 4.6, operator rights on master: the hint follows the server's words
    c("user restarts", "test", "restart", "--id", "{job}", role="user", status=AUTH,
      says="lacks the operator"),
    c("user stops", "test", "stop", "--id", "{pending}", role="user", status=AUTH, says="lacks the operator"),
    c("user schedules", "build", "new", *GOOD_NEW, role="user", status=AUTH, says="lacks the operator"),
    c("user clones", "test", "clone", "--id", "{job}", "--vars", "BUILD={build}", "--force", role="user",
      status=AUTH, says="lacks the operator"),
    c("user restarts a build", "build", "restart", "--id", "{build}", role="user", status=AUTH,
      says="lacks the operator"),
    # --json-data
    c("json-data missing", "test", "status", "--json-data", "{tmp}/missing.json", status=INVALID,
      says="cannot read --json-data"),
    c("json-data a directory", "test", "status", "--json-data", "{tmp}", status=INVALID,
      says="cannot read --json-data"),
    c("json-data invalid JSON", "test", "status", data='{"id": 5,', status=INVALID, says="is not valid JSON"),
    c("json-data not UTF-8", "test", "status", data="\udcff\udcfe", status=INVALID, says="is not valid JSON"),
    c("json-data an array", "test", "status", data="[1, 2]", status=INVALID,
      says="must hold a JSON object of options, not list"),
    c("json-data unknown option", "test", "status", data='{"id": 5, "colour": "red"}', status=INVALID,
      says="has unknown options colour: valid ones are"),
    c("json-data wrong type", "test", "status", data='{"id": {"nested": 1}}', status=INVALID,
      says="is not a whole number"),
    c("json-data huge", "test", "status", data=" " * (1024 * 1024 + 1) + "{}", status=INVALID,
      says="is larger than 1 MiB"),
    c("json-data option of another action", "test", "status", data='{"id": [5], "force": true}',
      status=INVALID, says="option force is not used by 'test status'"),
]

MODULE_CASES = [
    c("action missing", "test", status=None, says="missing required arguments: action"),
    c("action unknown", "test", "frobnicate", status=None, says="value of action must be one of"),
    c("option unknown", "test", "status", '{"id": [1], "colour": "red"}', status=None,
      says="Unsupported parameters"),
    c("id not a number", "test", "status", '{"id": ["abc"]}', status=None, says="id"),
    c("id negative", "test", "restart", '{"id": [-5]}', status=INVALID, says="out of range"),
    c("id huge", "test", "restart", '{"id": [%d]}' % HUGE, status=INVALID, says="out of range"),
    c("attribute unknown", "test", "info", '{"id": [{job}], "attributes": ["nope"]}', status=INVALID,
      says="unknown attribute nope"),
    c("vars not KEY=VAL", "test", "restart", '{"id": [{job}], "vars": ["NOEQ"]}', status=INVALID,
      says="is not KEY=VALUE"),
    c("filter unknown (dict form)", "build", "info", '{"id": "{build}", "filter": {"colour": "red"}}',
      status=INVALID, says="unknown filter 'colour'"),
    c("since a word", "test", "search", '{"since": "yesterday"}', status=INVALID, says="is not a duration"),
    c("retries negative", "test", "status", '{"id": [{job}], "retries": -1}', status=INVALID, says="out of range"),
    c("conflict", "test", "restart", '{"id": [{job}], "parent": true, "skip_children": true}',
      status=AMBIGUOUS, says="ambiguous options: parent and skip_children exclude each other"),
    # a task's words, not the command line's: option names and action=, never --flags
    c("id missing", "test", "status", '{}', status=INVALID, says="action=status needs id"),
    c("build search without group", "build", "search", '{}', status=INVALID,
      says="action=search needs groupid or group: builds"),
    c("regex without name", "group", "search", '{"regex": true}', status=INVALID, says="regex needs name PATTERN"),
    c("to credentials without to", "test", "clone", '{"id": [{job}], "to_api_key": "K"}', status=INVALID,
      says="to_api_key/to_api_secret are the credentials for to: give to as well"),
    c("expired key", "test", "restart", '{"id": [{job}]}', role="expired", status=AUTH, says="has expired"),
    c("wrong secret", "test", "restart", '{"id": [{job}]}', role="wrong-secret", status=AUTH,
      says="check api_secret"),
    c("user restarts", "test", "restart", '{"id": [{job}]}', role="user", status=AUTH, says="lacks the operator"),
    c("HTML server", "test", "status", '{"id": [{job}], "host": "{html_url}"}', status=SERVER,
      says="is it an openQA server?"),
    c("host empty", "test", "status", '{"id": [{job}], "host": ""}', status=INVALID, says="host is empty"),
    c("unknown host", "test", "status", '{"id": [{job}], "host": "openqa.invalid", "retries": 0}',
      status=UNREACHABLE, says="does not resolve"),
]

ANSIBLE_CASES = ("id negative", "wrong secret")


# ------------------------------------------------------------------ fixtures


class _HtmlHandler(http.server.BaseHTTPRequestHandler):
    """A web server that is not openQA: every path is a 200 HTML page."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        page = b"<html><body><h1>Welcome to nginx!</h1></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    do_POST = do_GET

    def log_message(self, format: str, *args: t.Any) -> None:  # pylint: disable=redefined-builtin
        """Quiet."""


@pytest.fixture(scope="module")
def world(server: t.Any, tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[World]:
    session = requests.Session()
    admin = server.keys["admin"]
    session.auth = (admin["user"], "%s:%s" % (admin["key"], admin["secret"]))
    session.headers["Accept"] = "application/json"
    base = server.url + "/api/v1/"
    build = "bad-input-%s" % uuid.uuid4().hex[:10]
    settings = dict(PRODUCT, MACHINE="64bit", BUILD=build)
    job = session.post(base + "jobs", data=dict(settings, TEST="victim")).json()["id"]
    session.post(base + "jobs/%d/set_done" % job, data={"result": "failed"}).raise_for_status()
    pending = session.post(base + "jobs", data=dict(settings, TEST="pending")).json()["id"]
    html = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _HtmlHandler)
    threading.Thread(target=html.serve_forever, daemon=True).start()
    world = World(url=server.url, job=job, pending=pending, build=build,
                  html_url="http://127.0.0.1:%d" % html.server_address[1],
                  worker=int(server.fixture["workers"]["1"]), tmp=tmp_path_factory.mktemp("bad-input"),
                  digest=lambda: _digest(session, base, build))
    world.values = {"job": job, "pending": pending, "build": build, "html_url": world.html_url,
                    "worker": world.worker, "tmp": str(world.tmp), "url": server.url}
    yield world
    html.shutdown()


def _digest(session: requests.Session, base: str, build: str) -> list:
    """What a mistaken call could change: the jobs of this module's build (states, clones, priorities)
    and of the build GOOD_NEW would schedule."""
    jobs = session.get(base + "jobs", params={"build": build}).json()["jobs"]
    jobs += session.get(base + "jobs", params={"build": build + "-new"}).json()["jobs"]
    return sorted((j["id"], j["state"], j["result"], j["clone_id"], j["priority"]) for j in jobs)


def credentials(server: t.Any, role: str) -> t.Dict[str, str]:
    if role == "wrong-secret":
        return {"api_key": server.keys["admin"]["key"], "api_secret": "not-the-secret"}
    if role == "unknown-key":
        return {"api_key": "NOSUCHKEY0000001", "api_secret": server.keys["admin"]["secret"]}
    return {"api_key": server.keys[role]["key"], "api_secret": server.keys[role]["secret"]}


class _ShiftedTime:
    """The time module as the client sees it, with time.time() moved back: a slow local clock."""

    def __init__(self, real: t.Any, shift: float) -> None:
        self._real, self._shift = real, shift

    def time(self) -> float:
        return self._real.time() - self._shift

    def __getattr__(self, name: str) -> t.Any:
        return getattr(self._real, name)


# ------------------------------------------------------------------ tests


def _fill(text: str, world: World) -> str:
    for key, value in world.values.items():
        text = text.replace("{%s}" % key, str(value))
    return text


@pytest.mark.parametrize("case", CLI_CASES, ids=[case.name for case in CLI_CASES])
def test_cli_rejects_bad_input(case, server, world, capsys, monkeypatch):
    argv = [_fill(arg, world) for arg in case.args]
    if case.data is not None:
        path = world.tmp / ("%s.json" % uuid.uuid4().hex)
        path.write_bytes(case.data.encode("utf-8", "surrogateescape"))
        argv += ["--json-data", str(path)]
    if argv and argv[0] in openqa_ctl.ENTRIES and len(argv) > 1 and not argv[1].startswith("-"):
        argv += [] if "--host" in argv else ["--host", server.url]
        if "--api-key" not in argv:
            creds = credentials(server, case.role)
            argv += ["--api-key", creds["api_key"], "--api-secret", creds["api_secret"]]
    for name in ("OPENQA_API_KEY", "OPENQA_API_SECRET", "OPENQA_HOST"):
        monkeypatch.delenv(name, raising=False)
    if case.skew:
        monkeypatch.setattr(client_module, "time", _ShiftedTime(client_module.time, case.skew))
    before = world.digest()
    rc = openqa_ctl.main(argv)
    out, err = capsys.readouterr()
    envelope = json.loads(out)
    message = envelope["invocation"]["message"]
    assert (rc, envelope["invocation"]["status"]) == (case.status, case.status), message
    assert case.says in message and "Traceback" not in out + err and "internal error" not in message
    assert world.digest() == before


@pytest.mark.parametrize("case", MODULE_CASES, ids=[case.name for case in MODULE_CASES])
def test_module_rejects_bad_input(case, server, world, module_direct):
    args = json.loads(_fill(case.args[2], world)) if len(case.args) > 2 else {}
    if len(case.args) > 1:
        args["action"] = case.args[1]
    args.update(credentials(server, case.role))
    before = world.digest()
    result = module_direct(case.args[0], args)
    assert result.get("failed") is True and result.get("status") == case.status, result
    assert case.says in result["msg"] and "Traceback" not in result["msg"] and "--" not in result["msg"]
    assert world.digest() == before


@pytest.mark.parametrize("name", ANSIBLE_CASES)
def test_ansible_rejects_bad_input(name, server, world, module):
    case = next(case for case in MODULE_CASES if case.name == name)
    args = dict(json.loads(_fill(case.args[2], world)), action=case.args[1], **credentials(server, case.role))
    before = world.digest()
    run = module(case.args[0], args)
    assert run.rc != 0 and run.status == case.status and case.says in run.result["msg"]
    assert "Traceback" not in run.stdout + run.stderr and world.digest() == before


def test_non_ascii_digits_are_not_an_id(server, world, capsys):
    rc = openqa_ctl.main(["test", "status", "--id", "\u0661\u0662", "--host", server.url])
    message = json.loads(capsys.readouterr().out)["invocation"]["message"]
    assert rc == INVALID and "is not a whole number" in message


def test_a_superscript_digit_group_is_a_name_not_an_id(server, capsys, module_direct):
    """str.isdigit() accepts "²" and int() refuses it: the group rule takes ASCII digits only."""
    rc = openqa_ctl.main(["build", "info", "--id", "1", "--group", "\u00b2", "--host", server.url])
    message = json.loads(capsys.readouterr().out)["invocation"]["message"]
    assert rc == NOT_FOUND and message.startswith("unknown group: there is no job group named '\u00b2'")
    result = module_direct("build", {"action": "info", "id": "1", "group": "\u00b2"})
    assert result["failed"] and (result["status"], result["msg"]) == (NOT_FOUND, message)


def test_the_table_is_big_enough():
    distinct = {case.name for case in CLI_CASES} | {"module: " + case.name for case in MODULE_CASES}
    assert len(distinct) == len(CLI_CASES) + len(MODULE_CASES) >= 60
