"""openqa-ctl without a server: parsing, --json-data, output formats, completion, exit codes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from ansible_collections.openqa.client.cli import openqa_ctl, render

GALAXY_YML = Path(__file__).resolve().parents[3] / "galaxy.yml"
UNREACHABLE = ["--host", "http://127.0.0.1:9", "--retries", "0"]


def _run(capsys, *argv):
    code = openqa_ctl.main(list(argv))
    out = capsys.readouterr().out
    return code, out


@pytest.mark.parametrize("argv, status, text", [
    ([], 4, "no entry point"),
    (["nope"], 4, "invalid choice"),
    (["test"], 4, "no action given"),
    (["test", "nope"], 4, "invalid choice"),
    (["test", "status"], 4, "needs --id"),
    (["test", "status", "--id", "x"], 4, "not a whole number"),
    (["test", "status", "--id", "1", "--bogus"], 4, "unrecognized arguments"),
    (["test", "status", "--id", "1", "--host", "ftp://x"], 4, "not an http(s) URL"),
    (["test", "status", "--id", "1"] + UNREACHABLE, 1, "unknown remote host"),
])
def test_errors_are_envelopes_with_the_status_as_exit_code(capsys, argv, status, text):
    code, out = _run(capsys, *argv)
    envelope = json.loads(out)
    assert code == envelope["invocation"]["status"] == status
    assert text in envelope["invocation"]["message"]


def test_json_data_supplies_options_and_flags_win(capsys, tmp_path):
    data = tmp_path / "opts.json"
    data.write_text(json.dumps({"id": "x", "from": "http://127.0.0.1:9", "retries": 0}))
    code, out = _run(capsys, "test", "status", "--json-data", str(data))
    assert code == 4 and "'x'" in out
    code, out = _run(capsys, "test", "status", "--json-data", str(data), "--id", "5")
    assert code == 1, out


@pytest.mark.parametrize("content, text", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "must hold a JSON object"),
    ('{"bogus": 1}', "unknown options bogus"),
])
def test_bad_json_data(capsys, tmp_path, content, text):
    data = tmp_path / "opts.json"
    data.write_text(content)
    code, out = _run(capsys, "test", "status", "--json-data", str(data))
    assert code == 4 and text in json.loads(out)["invocation"]["message"]


def test_unreadable_json_data(capsys, tmp_path):
    code, out = _run(capsys, "test", "status", "--json-data", str(tmp_path / "missing.json"))
    assert code == 4 and "cannot read --json-data" in out


def test_output_formats(capsys):
    code, out = _run(capsys, "test", "status", "--id", "x", "--format", "yaml")
    assert code == 4 and out.startswith("---\ninvocation:\n  status: 4\n")
    code, out = _run(capsys, "test", "status", "--id", "x", "--format", "table")
    assert out.startswith("status 4: id 'x'")
    code, out = _run(capsys, "test", "status", "--id", "x", "--pretty")
    assert out.startswith('{\n  "invocation"')


def test_yaml_and_table_render_nested_returns():
    envelope = {"invocation": {"status": 0, "message": "ok", "changed": True},
                "returns": {"ids": [{"id": 1, "name": "yes"}, {"id": 2, "name": "b"}]}}
    assert yaml.safe_load(render.as_yaml(envelope)) == envelope
    table = render.as_table(envelope).splitlines()
    assert table[0] == "status 0: ok (changed)" and table[1] == "ids:" and table[2].split() == ["id", "name"]


@pytest.mark.parametrize("returns", [None, "failed", [], {}, [1, "two"], {"yes": "no", "a b": [{"k": None}]},
                                     {"s": "multi\nline: # not a comment", "n": 1.5, "t": True}])
def test_yaml_round_trips(returns):
    envelope = {"invocation": {"status": 0, "message": "ok"}, "returns": returns}
    assert yaml.safe_load(render.as_yaml(envelope)) == envelope


def test_version_and_help_exit_zero(capsys):
    with open(GALAXY_YML, encoding="utf-8") as handle:
        released = yaml.safe_load(handle)["version"]
    with pytest.raises(SystemExit) as exited:
        openqa_ctl.main(["--version"])
    assert exited.value.code == 0 and capsys.readouterr().out == "openqa-ctl %s\n" % released
    with pytest.raises(SystemExit) as exited:
        openqa_ctl.main(["test", "status", "--help"])
    assert exited.value.code == 0 and "--json-data" in capsys.readouterr().out


def test_version_from_manifest_when_galaxy_built_the_collection(monkeypatch, tmp_path):
    (tmp_path / "MANIFEST.json").write_text(json.dumps({"collection_info": {"version": "9.8.7"}}))
    monkeypatch.setattr(openqa_ctl, "COLLECTION_DIR", str(tmp_path))
    assert openqa_ctl.version() == "9.8.7"


def test_bash_completion_is_valid_bash_and_completes(capsys):
    with pytest.raises(SystemExit):
        openqa_ctl.main(["--completion", "bash"])
    script = capsys.readouterr().out
    probe = script + '\nCOMP_WORDS=(openqa-ctl test st); COMP_CWORD=2; _openqa_ctl; echo "${COMPREPLY[@]}"\n'
    completed = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True)
    assert completed.stdout.split() == ["stop", "status"]


@pytest.mark.parametrize("words, expected", [
    ("test status --format ", ["json", "yaml", "table"]),
    ("test search --result f", ["failed"]),
    ("test search --result failed --bu", ["--build"]),
])
def test_bash_completion_completes_fixed_values(capsys, words, expected):
    with pytest.raises(SystemExit):
        openqa_ctl.main(["--completion", "bash"])
    script = capsys.readouterr().out
    line = "openqa-ctl " + words
    probe = script + '\nCOMP_WORDS=(%s); COMP_CWORD=%d; _openqa_ctl; echo "${COMPREPLY[@]}"\n' % (
        " ".join(repr(w) for w in line.split(" ")), len(line.split(" ")) - 1)
    completed = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True)
    assert completed.stdout.split() == expected


def test_repeatable_options_take_several_values_per_flag():
    args = vars(openqa_ctl.build_parser("test").parse_args(
        ["test", "clone", "--id", "1", "--vars", "A=1", "B=2", "--vars", "C="]))
    assert args["vars"] == ["A=1", "B=2", "C="]
    args = vars(openqa_ctl.build_parser("test").parse_args(["test", "wait", "--id", "1", "2", "--id", "3"]))
    assert args["id"] == ["1", "2", "3"]


def test_abbreviated_flags_are_refused(capsys):
    code, out = _run(capsys, "test", "status", "--id", "1", "--foll")
    assert code == 4 and "unrecognized arguments: --foll" in out


def test_worker_search_host_is_the_worker_filter_and_from_the_server():
    args = vars(openqa_ctl.build_parser("worker").parse_args(
        ["worker", "search", "--host", "testhost", "--from", "http://127.0.0.1:9526"]))
    assert (args["worker_host"], args["host"]) == ("testhost", "http://127.0.0.1:9526")
    other = vars(openqa_ctl.build_parser("test").parse_args(["test", "status", "--id", "1", "--host", "o3"]))
    assert other["host"] == "o3"


@pytest.mark.parametrize("argv, says", [
    (["worker", "search", "--host", "a", "--worker-host", "b"],
     "--host 'a' and --worker-host 'b' both set worker_host"),
    (["test", "status", "--id", "1", "--host", "o3", "--from", "osd"], "--host 'o3' and --from 'osd' both set host"),
    (["test", "clone", "--id", "1", "--force", "--no-force"], "both set force"),
    (["test", "restart", "--id", "1", "--prio", "1", "--prio", "2"], "both set prio"),
    (["test", "status", "--id", "1", "--api-secret", "s1", "--api_secret", "s2"], "--api-secret (hidden)"),
])
def test_two_flags_setting_one_option_differently_are_ambiguous(capsys, argv, says):
    code, out = _run(capsys, *argv)
    assert code == 3 and says in json.loads(out)["invocation"]["message"]
    assert "s1" not in out and "s2" not in out


def test_the_same_value_twice_is_not_a_conflict():
    args = vars(openqa_ctl.build_parser("test").parse_args(
        ["test", "clone", "--id", "1", "--force", "--force", "yes", "--host", "o3", "--from", "o3"]))
    assert (args["force"], args["host"]) == ("yes", "o3")


def test_help_and_completion_show_the_dashed_spelling_first(capsys):
    with pytest.raises(SystemExit):
        openqa_ctl.main(["worker", "search", "--help"])
    text = capsys.readouterr().out
    assert "--host WORKER_HOST, --worker-host WORKER_HOST, --worker_host WORKER_HOST" in text
    assert "--from HOST" in text and "--api-key API_KEY, --api_key API_KEY" in text
    with pytest.raises(SystemExit):
        openqa_ctl.main(["--completion", "bash"])
    script = capsys.readouterr().out
    probe = script + ('\nCOMP_WORDS=(openqa-ctl group info --builds); COMP_CWORD=3; _openqa_ctl; '
                      'echo "${COMPREPLY[@]}"\n')
    completed = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True)
    assert completed.stdout.split()[:2] == ["--builds-younger", "--builds_younger"]


def test_json_data_setting_one_option_twice_differently_is_ambiguous(capsys, tmp_path):
    data = tmp_path / "options.json"
    data.write_text(json.dumps({"host": "http://127.0.0.1:9", "from": "http://127.0.0.1:8", "id": [1]}))
    code, out = _run(capsys, "test", "status", "--json-data", str(data))
    assert code == 3 and "sets host twice (as host and as from)" in json.loads(out)["invocation"]["message"]


def test_table_renders_nested_records_as_sub_rows_and_wraps_instead_of_cutting():
    tests = [{"arch": "x86_64", "machine": "64bit", "id": 7, "status": "failed", "failure": "first_boot"},
             {"arch": "x86_64", "machine": "uefi", "id": 8, "status": "passed"}]
    envelope = {"invocation": {"status": 0, "message": "ok"},
                "returns": [{"name": "textmode", "tests": tests}, {"name": "gnome", "tests": []}]}
    table = render.as_table(envelope).splitlines()
    assert table[1].split() == ["name", "arch", "machine", "id", "status", "failure"]
    assert table[3].split() == ["textmode", "x86_64", "64bit", "7", "failed", "first_boot"]
    assert table[4].split() == ["x86_64", "uefi", "8", "passed"] and table[4].startswith(" ")
    assert table[5].split() == ["gnome"]
    long = {"CPU_ARCH": "x86_64", "WORKER_CLASS": ",".join("qemu_%d" % i for i in range(30))}
    envelope = {"invocation": {"status": 0, "message": "ok"},
                "returns": {"id": 1, "properties": long, "builds": [{"build": "b1", "failed": 0}]}}
    lines = render.as_table(envelope).splitlines()
    wrapped = [line[len("properties  "):] for line in lines[4:] if line.startswith(("properties", "    "))]
    assert "".join(wrapped) == json.dumps(long, separators=(",", ":"))  # whole, over several lines
    assert len(wrapped) > 1 and all(len(part) <= 60 for part in wrapped)
    assert lines[-4:] == ["builds:", "build  failed", "-----  ------", "b1     0"]


def test_deprecated_options_and_aliases_warn_on_the_command_line_and_in_json_data(monkeypatch, capsys, tmp_path):
    from ansible_collections.openqa.client.plugins.module_utils._spec import Deprecation

    entry = openqa_ctl.ENTRIES["test"]
    alias = ("follow_clones", Deprecation("2.0.0", "write follow"))
    going = entry.option("follow")._replace(aliases=("follow_clones",), deprecated_aliases=(alias,),
                                            deprecated=Deprecation("2.0.0", "status follows by itself"))
    options = tuple(going if option.name == "follow" else option for option in entry.options)
    monkeypatch.setitem(openqa_ctl.ENTRIES._loaded, "test", entry._replace(options=options))
    openqa_ctl.main(["test", "status", "--id", "1", "--no-follow"] + UNREACHABLE)
    assert capsys.readouterr().err.count("deprecated") == 1
    openqa_ctl.main(["test", "status", "--id", "1", "--follow-clones"] + UNREACHABLE)
    err = capsys.readouterr().err
    assert "option follow is deprecated and will be removed in openqa.client 2.0.0: status follows by itself" in err
    assert "follow_clones, an alias of option follow, is deprecated" in err
    data = tmp_path / "data.json"
    data.write_text(json.dumps({"follow_clones": True}))
    openqa_ctl.main(["test", "status", "--id", "1", "--json-data", str(data)] + UNREACHABLE)
    assert "follow_clones, an alias of option follow, is deprecated" in capsys.readouterr().err
    openqa_ctl.main(["test", "status", "--id", "1"] + UNREACHABLE)
    assert "deprecated" not in capsys.readouterr().err
