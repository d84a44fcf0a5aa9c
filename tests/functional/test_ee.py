"""Execution environment and AWX-style runs: ansible-builder create, ansible-runner run of the gate playbook."""

from __future__ import annotations

import json
import shutil
import subprocess
import typing as t
from pathlib import Path

import yaml
from conftest import ROOT, _ansible_env
from test_playbooks import OK, RAID1_FAILED, new_build  # noqa: F401  pylint: disable=unused-import


def run(argv: t.List[str], cwd: Path, env: t.Optional[dict] = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=_ansible_env(env), check=False,
                          timeout=600)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def _builder_context(tmp_path: Path, definition: str) -> Path:
    """`ansible-builder create` of docs/ee/DEFINITION, with this tree's galaxy tarball beside it as the release
    puts it; returns the build context."""
    ee = tmp_path / "docs" / "ee"
    shutil.copytree(ROOT / "docs" / "ee", ee)
    built = run(["ansible-galaxy", "collection", "build", "--output-path", str(ee), str(ROOT)], cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    context = tmp_path / "context"
    created = run(["ansible-builder", "create", "-f", str(ee / definition), "-c", str(context)], cwd=tmp_path)
    assert created.returncode == 0, created.stdout + created.stderr
    return context


def test_builder_create_lists_the_collections_requirements(tmp_path: Path):
    tarball = "openqa-client-%s.tar.gz" % yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"]
    # the layout docs/ee/execution-environment.yml expects: the collection root two levels up
    for name in ("requirements.txt", "bindep.txt"):
        shutil.copy(ROOT / name, tmp_path / name)
    context = _builder_context(tmp_path, "execution-environment.yml")
    build = context / "_build"
    assert any(line.startswith("requests") for line in (build / "requirements.txt").read_text().splitlines())
    assert "ca-certificates" in (build / "bindep.txt").read_text()
    assert (build / "collections" / tarball).is_file()
    # docs/ee/requirements.yml names the tarball of this version (scripts/release keeps it so)
    wanted = yaml.safe_load((build / "requirements.yml").read_text())["collections"][0]["name"]
    assert wanted == "collections/" + tarball
    # what `ansible-builder build` runs inside the image: the collection's meta/execution-environment.yml
    installed = tmp_path / "installed"
    assert run(["ansible-galaxy", "collection", "install", "--force", "-p", str(installed),
                str(build / "collections" / tarball)], cwd=tmp_path).returncode == 0
    found = run(["ansible-builder", "introspect", "--sanitize", str(installed)], cwd=tmp_path)
    data = yaml.safe_load(found.stdout)
    assert data["python"] == ["requests>=2.25  # from collection openqa.client"], found.stdout
    assert data["system"] == ["ca-certificates [platform:rpm platform:dpkg]  # from collection openqa.client"]


def test_decision_environment_has_rulebook_java_and_the_collection(tmp_path: Path):
    """docs/ee/decision-environment.yml: ansible-builder makes a context with ansible-rulebook, aio-pika, Java 17
    and the collection tarball (the same layout as the execution environment's)."""
    context = _builder_context(tmp_path, "decision-environment.yml")
    build = context / "_build"
    python = (build / "requirements.txt").read_text().splitlines()
    assert {"aio-pika>=9.5", "ansible-rulebook>=1.3,<1.4", "requests>=2.25"} <= set(python)
    assert "java-17-openjdk-headless [platform:rpm]" in (build / "bindep.txt").read_text()
    assert list((build / "collections").glob("openqa-client-*.tar.gz"))
    assert 'CMD ["ansible-rulebook", "--help"]' in (context / "Dockerfile").read_text()


def runner_dir(tmp_path: Path, server, extravars: dict) -> Path:
    """A private data directory as AWX lays it out: project, inventory, extra vars, and the credentials as an AWX
    credential type with a file injector provides them: a client.conf file named by OPENQA_CONFIG."""
    pdd = tmp_path / "pdd"
    (pdd / "project").mkdir(parents=True)
    (pdd / "env").mkdir()
    (pdd / "inventory").mkdir()
    shutil.copy(ROOT / "playbooks" / "schedule_and_gate.yml", pdd / "project" / "schedule_and_gate.yml")
    (pdd / "inventory" / "hosts").write_text("localhost ansible_connection=local\n")
    (pdd / "env" / "extravars").write_text(json.dumps(dict(extravars, openqa_host=server.url)))
    # not as OPENQA_API_SECRET: ansible-runner writes the job's environment into artifacts/ID/command
    credentials = tmp_path / "credentials"
    credentials.mkdir(mode=0o700)
    (credentials / "client.conf").write_text("[%s]\nkey = %s\nsecret = %s\n" % (
        server.url, server.keys["admin"]["key"], server.keys["admin"]["secret"]))
    (pdd / "env" / "envvars").write_text(json.dumps({"OPENQA_CONFIG": str(credentials)}))
    return pdd


def artifacts(pdd: Path, ident: str) -> t.Tuple[str, int, t.List[dict]]:
    base = pdd / "artifacts" / ident
    paths = sorted((base / "job_events").glob("*.json"), key=lambda p: int(p.name.split("-")[0]))
    events = [json.loads(path.read_text()) for path in paths]
    return (base / "status").read_text(), int((base / "rc").read_text()), events


def task_result(events: t.List[dict], task: str) -> dict:
    found = [e for e in events if e["event"] in ("runner_on_ok", "runner_on_failed")
             and e["event_data"].get("task") == task]
    assert len(found) == 1, [e["event_data"].get("task") for e in events]
    return found[0]


def test_gate_through_ansible_runner_artifacts(tmp_path: Path, server, new_build):  # noqa: F811
    build = new_build(OK)
    pdd = runner_dir(tmp_path, server, {"BUILD": build, "TIMEOUT": 30, "INTERVAL": 1})
    proc = run(["ansible-runner", "run", str(pdd), "-p", "schedule_and_gate.yml", "--ident", "gate-ok"],
               cwd=tmp_path, env={"OPENQA_HOST": ""})
    status, rc, events = artifacts(pdd, "gate-ok")
    assert (status, rc, proc.returncode) == ("successful", 0, 0), proc.stdout
    gate = task_result(events, "Gate on the result")
    assert gate["event"] == "runner_on_ok"
    assert gate["event_data"]["res"]["msg"] == "gate PASSED for build %s: every job is passed or softfailed" % build
    summary = task_result(events, "Show the results")["event_data"]["res"]["msg"]
    assert summary[0].startswith("build %s of openSUSE Tumbleweed" % build)
    assert any(line.startswith("ok      raid0 (x86_64) job") and line.endswith("softfailed") for line in summary)
    stats = [e for e in events if e["event"] == "playbook_on_stats"][0]["event_data"]
    assert stats["failures"] == {} and stats["changed"] == {}
    secret = server.keys["admin"]["secret"]
    leaked = [p for p in (pdd / "artifacts").rglob("*") if p.is_file() and secret in p.read_text(errors="replace")]
    assert leaked == []


def test_failed_gate_is_a_failed_runner_job(tmp_path: Path, server, new_build):  # noqa: F811
    build = new_build(RAID1_FAILED)
    pdd = runner_dir(tmp_path, server, {"BUILD": build, "TIMEOUT": 30, "INTERVAL": 1, "RESTART_FAILURES": False})
    proc = run(["ansible-runner", "run", str(pdd), "-p", "schedule_and_gate.yml", "--ident", "gate-fail"],
               cwd=tmp_path, env={"OPENQA_HOST": ""})
    status, rc, events = artifacts(pdd, "gate-fail")
    assert (status, rc) == ("failed", 2) and proc.returncode == 2
    gate = task_result(events, "Gate on the result")
    assert gate["event"] == "runner_on_failed"
    assert gate["event_data"]["res"]["msg"].startswith("gate FAILED for build %s: raid1 (x86_64) job" % build)
