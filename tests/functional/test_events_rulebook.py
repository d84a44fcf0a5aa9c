"""The real ansible-rulebook running the collection's rulebooks (extensions/eda/rulebooks) with the source
openqa.client.openqa_events against the real openQA publishing to the real broker."""

from __future__ import annotations

import json
import subprocess
import sys
import typing as t
import uuid
from pathlib import Path

from conftest import ROOT, api_get, api_post
from events_fixture import amqp, background, clean_env  # noqa: F401  pylint: disable=unused-import
from test_install_without_pip import _environment_without_the_collection
from test_test_comment import add_modules

KNOWN = {"first_boot": "bsc#1111"}
READY = "openqa.client.openqa_events - INFO - watching "


def _vars(server, amqp: dict, group_id: int) -> dict:
    return {"OPENQA_HOST": server.url, "OPENQA_AMQP_URL": amqp["url"], "OPENQA_TOPIC_PREFIX": amqp["topic_prefix"],
            "OPENQA_GROUP": str(group_id), "KNOWN": KNOWN}


def _rulebook_files(tmp_path: Path, python: str, variables: dict) -> t.Tuple[str, str]:
    inventory, values = tmp_path / "inventory.yml", tmp_path / "vars.yml"
    # JSON is YAML
    inventory.write_text(json.dumps({"all": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": python}}}}))
    values.write_text(json.dumps(variables))
    return str(inventory), str(values)


def _credentials(server) -> dict:
    """For label_known's comments: the environment's credentials go to the server OPENQA_HOST names."""
    return {"OPENQA_HOST": server.url, "OPENQA_API_KEY": server.keys["admin"]["key"],
            "OPENQA_API_SECRET": server.keys["admin"]["secret"]}


def _group(api) -> int:
    return api_post(api, "job_groups", name="events-" + uuid.uuid4().hex[:8])["id"]


def _failing_job(server, api, make_job, build: str, group_id: int, module: str) -> int:
    job_id = make_job(BUILD=build, TEST="%s_%s" % (module, build), _GROUP_ID=group_id)
    add_modules(server, job_id, [("boot", "passed"), (module, "failed")])
    return job_id


def test_gate_build_labels_known_failures_and_fails_loudly_on_the_rest(server, api, make_job, tmp_path,
                                                                       amqp, background):
    group_id = _group(api)
    inventory, values = _rulebook_files(tmp_path, sys.executable, _vars(server, amqp, group_id))
    rulebook = background(["ansible-rulebook", "-i", inventory, "-r", "openqa.client.gate_build", "--vars", values,
                           "-v"], env=clean_env(**_credentials(server)), merged=True)
    rulebook.line(lambda text: READY in text)

    known_build, unknown_build = "gate-" + uuid.uuid4().hex[:8], "gate-" + uuid.uuid4().hex[:8]
    known = _failing_job(server, api, make_job, known_build, group_id, "first_boot")
    fine = make_job(BUILD=known_build, TEST="fine", _GROUP_ID=group_id)
    api_post(api, "jobs/%d/set_done" % fine, result="passed")
    api_post(api, "jobs/%d/set_done" % known, result="failed")
    rulebook.line(lambda text: "every failure of build %s is labelled" % known_build in text)
    assert [c["text"] for c in api_get(api, "jobs/%d/comments" % known)] == [
        "bsc#1111: known failure of first_boot (label_known)"]

    unknown = _failing_job(server, api, make_job, unknown_build, group_id, "surprise")
    api_post(api, "jobs/%d/set_done" % unknown, result="failed")
    rulebook.line(lambda text: "unknown failures in build %s: %d (first failed modules: surprise)"
                  % (unknown_build, unknown) in text)
    rulebook.terminate()
    output = "".join(rulebook.lines)
    assert "Traceback" not in output
    assert ":guest@" not in output and server.keys["admin"]["secret"] not in output


def test_label_failures_from_an_ansible_galaxy_install(server, api, make_job, tmp_path,
                                                       amqp, background):
    """The source's import shim: installed by ansible-galaxy (not pip), in an environment without the pip-installed
    collection, ansible-rulebook's runpy-loaded source imports the module_utils installed beside it."""
    bin_dir = _environment_without_the_collection(tmp_path)
    python = str(bin_dir / "python3")
    for command in ("ansible-rulebook", "ansible-playbook"):
        script = (Path(sys.executable).parent / command).read_text().split("\n", 1)[1]
        (bin_dir / command).write_text("#!%s\n%s" % (python, script))
        (bin_dir / command).chmod(0o755)
    home = tmp_path / "home"
    env = {"PATH": "%s:/usr/bin:/bin" % bin_dir, "HOME": str(home), "LANG": "C.UTF-8", "ANSIBLE_NOCOLOR": "1",
           **_credentials(server)}
    subprocess.run([str(bin_dir / "ansible-galaxy"), "collection", "build", str(ROOT), "--output-path",
                    str(tmp_path)], check=True, capture_output=True, env=env, timeout=300)
    tarball = next(tmp_path.glob("openqa-client-*.tar.gz"))
    subprocess.run([str(bin_dir / "ansible-galaxy"), "collection", "install", str(tarball)], check=True,
                   capture_output=True, env=env, timeout=300)
    installed = home / ".ansible" / "collections" / "ansible_collections" / "openqa" / "client"
    source = installed / "extensions" / "eda" / "plugins" / "event_source" / "openqa_events.py"
    probe = subprocess.run([python, "-c", "import runpy; print(runpy.run_path(%r)['_stream_module']().__file__)"
                            % str(source)], check=True, capture_output=True, text=True, env=env)
    assert probe.stdout.strip() == str(installed / "plugins" / "module_utils" / "_event_stream.py")

    group_id = _group(api)
    inventory, values = _rulebook_files(tmp_path, python, _vars(server, amqp, group_id))
    rulebook = background([str(bin_dir / "ansible-rulebook"), "-i", inventory, "-r", "openqa.client.label_failures",
                           "--vars", values, "-v"], env=env, merged=True, cwd=str(tmp_path))
    rulebook.line(lambda text: READY in text)
    build = "label-" + uuid.uuid4().hex[:8]
    job_id = _failing_job(server, api, make_job, build, group_id, "first_boot")
    api_post(api, "jobs/%d/set_done" % job_id, result="failed")
    rulebook.line(lambda text: "every failure of build %s is labelled" % build in text)
    assert [c["text"] for c in api_get(api, "jobs/%d/comments" % job_id)] == [
        "bsc#1111: known failure of first_boot (label_known)"]
    rulebook.terminate()
    assert "Traceback" not in "".join(rulebook.lines)


def test_persistence_id_drops_a_build_done_seen_before_a_restart(server, make_job, tmp_path):
    """meta.uuid comes from the content: the same build.done, emitted again by a restarted ansible-rulebook, does
    not fire the rule again under --persistence-id (count 1: each run ends after its one event)."""
    build = "persist-" + uuid.uuid4().hex[:8]
    make_job(result="passed", BUILD=build)
    source = {"host": server.url, "build": build, "types": ["build.done"], "count": 1}
    rulebook = tmp_path / "rulebook.yml"
    rulebook.write_text(json.dumps([{"name": "persist", "hosts": "all",
                                     "sources": [{"openqa.client.openqa_events": source}],
                                     "rules": [{"name": "done", "condition": 'event.openqa.type == "build.done"',
                                                "action": {"print_event": {"pretty": False}}}]}]))
    inventory, values = _rulebook_files(tmp_path, sys.executable, {"drools_db_file_path": str(tmp_path / "h2")})
    argv = ["ansible-rulebook", "-i", inventory, "-r", str(rulebook), "--vars", values, "--persistence-id",
            "openqa-" + build, "-v"]
    runs = [subprocess.run(argv, capture_output=True, text=True, env=clean_env(), timeout=300, check=False)
            for _number in range(2)]
    assert [run.returncode for run in runs] == [0, 0], runs[1].stdout + runs[1].stderr
    fired = [line for line in runs[0].stdout.splitlines() if "'build': '%s'" % build in line]
    assert len(fired) == 1
    uuid_seen = fired[0].split("'uuid': '")[1][:36]
    second = runs[1].stdout + runs[1].stderr
    assert "Event %s has already been processed once. Ignoring duplicate." % uuid_seen in second
    assert "'build': '%s'" % build not in second
