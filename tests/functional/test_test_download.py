"""test download: a job's artifacts from the real openQA's file routes, streamed, resumable, idempotent.

The test server has no worker, so jobs have no result files: the fixture writes them where
openQA 4.6 keeps them (testresults/<id/1000, 5 digits>/<id, 8 digits>-<name>/, the job's
result_dir column, screenshots as links into images/) and a job module whose details file
names a screenshot and a text result. Downloads then go through the server's own routes
(/tests/N/file, /image, /tests/N/asset -> /assets). It writes into the Debian package's data directory,
so these tests run against 4.6 only; the routes are the same on master.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import typing as t
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import api_get
from faultproxy_fixture import Fault

from ansible_collections.openqa.client.cli.openqa_ctl import ENTRIES
from ansible_collections.openqa.client.plugins.module_utils._download import parse_size, plan
from ansible_collections.openqa.client.plugins.module_utils._runner import execute
from ansible_collections.openqa.client.plugins.module_utils.envelope import ServerError, Status

pytestmark = pytest.mark.server_version("4.6")  # the fixture writes into the Debian package's data

OPENQA = Path("/var/lib/openqa")


@dataclass
class Artifacts:
    job_id: int
    files: t.Dict[str, bytes]  # path below DEST -> content
    iso: str
    result_dir: Path
    cleanup: t.List[Path]


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    os.chmod(path, 0o644)


@pytest.fixture
def artifacts(server, api, make_job) -> t.Iterator[Artifacts]:
    uid = uuid.uuid4().hex[:10]
    iso = "dl-%s.iso" % uid
    job_id = make_job(result="passed", TEST="dl-" + uid, ISO=iso)
    name = api_get(api, "jobs/%d" % job_id)["job"]["name"]
    result_dir = OPENQA / "testresults" / ("%05d" % (job_id // 1000)) / ("%08d-%s" % (job_id, name))
    image_dir = OPENQA / "images" / uid[:3] / uid[3:]
    log = b"".join(b"line %d of the autoinst log\n" % i for i in range(20000))
    files = {
        "testresults/autoinst-log.txt": log,
        "testresults/vars.json": json.dumps({"TEST": "dl-" + uid}).encode(),
        "testresults/serial0.txt": b"serial output\n",
        "testresults/ulogs/journal.txt": b"uploaded log\n",
        "testresults/boot-1.png": b"\x89PNG fake screenshot " + uid.encode(),
        "testresults/boot-2.txt": b"text result of boot\n",
    }
    for path, content in files.items():
        if path != "testresults/boot-1.png":
            _write(result_dir / path.split("/", 1)[1], content)
    _write(image_dir / "boot-1.png", files["testresults/boot-1.png"])
    os.symlink(image_dir / "boot-1.png", result_dir / "boot-1.png")
    details = {"result": "passed", "details": [{"screenshot": "boot-1.png", "result": "ok"},
                                               {"text": "boot-2.txt", "result": "ok"}]}
    _write(result_dir / "details-boot.json", json.dumps(details).encode())
    _write(OPENQA / "share" / "factory" / "iso" / iso, b"ISO" * 1000)
    server.sql("update jobs set result_dir = '%s' where id = %d" % (result_dir.name, job_id))
    server.sql("insert into job_modules (job_id, name, script, category, result, t_created, t_updated) "
               "values (%d, 'boot', 'tests/boot.pm', 'installation', 'passed', now(), now())" % job_id)
    yield Artifacts(job_id, files, iso, result_dir,
                    [result_dir, image_dir.parent, OPENQA / "share" / "factory" / "iso" / iso])
    for path in (result_dir, image_dir.parent):
        shutil.rmtree(path, ignore_errors=True)
    (OPENQA / "share" / "factory" / "iso" / iso).unlink(missing_ok=True)


def tree(dest: Path) -> t.Dict[str, bytes]:
    return {str(p.relative_to(dest)): p.read_bytes() for p in sorted(dest.rglob("*")) if p.is_file()}


def download(host: str, job_id: int, dest: Path, check_mode: bool = False, **options: t.Any) -> t.Any:
    return execute(ENTRIES["test"], dict(options, action="download", id=[job_id], dest=str(dest), host=host),
                   check_mode=check_mode)


def test_cli_and_module_fetch_the_same_files_then_change_nothing(server, ctl, module, artifacts, tmp_path):
    run = ctl("test", "download", "--id", str(artifacts.job_id), "--dest", str(tmp_path / "cli"))
    assert (run.rc, run.envelope["invocation"]["changed"]) == (0, True), run.message
    got = tree(tmp_path / "cli")
    details = json.loads(got.pop("testresults/details-boot.json"))
    assert got == artifacts.files
    assert [step.get("screenshot") or step.get("text") for step in details["details"]] == ["boot-1.png", "boot-2.txt"]
    result = module("test", {"action": "download", "id": artifacts.job_id, "dest": str(tmp_path / "module")})
    assert result.rc == 0 and result.result["changed"] is True
    assert tree(tmp_path / "module") == tree(tmp_path / "cli")
    again = ctl("test", "download", "--id", str(artifacts.job_id), "--dest", str(tmp_path / "cli"))
    assert again.envelope["invocation"]["changed"] is False
    assert {f["outcome"] for f in again.returns["files"]} == {"unchanged"}
    again = module("test", {"action": "download", "id": artifacts.job_id, "dest": str(tmp_path / "module")})
    assert again.result["changed"] is False


def test_what_selects_and_assets_come_through_the_asset_route(server, artifacts, tmp_path):
    result = download(server.url, artifacts.job_id, tmp_path, what=["assets"])
    assert result.status == Status.OK and tree(tmp_path) == {"iso/" + artifacts.iso: b"ISO" * 1000}
    result = download(server.url, artifacts.job_id, tmp_path / "logs", what=["logs"])
    assert sorted(tree(tmp_path / "logs")) == ["testresults/autoinst-log.txt", "testresults/serial0.txt",
                                               "testresults/ulogs/journal.txt", "testresults/vars.json"]


def test_asset_size_limit_skips_larger_assets(server, artifacts, tmp_path):
    result = download(server.url, artifacts.job_id, tmp_path, what=["assets"], asset_size_limit="2k")
    assert result.status == Status.OK and tree(tmp_path) == {}
    assert result.returns["skipped"] == [{"path": "iso/" + artifacts.iso, "reason": "too large", "bytes": 3000}]
    assert "asset_size_limit" in result.warnings[0]


def test_a_partial_file_is_resumed_and_a_stale_one_refetched(server, proxy, artifacts, tmp_path):
    log = artifacts.files["testresults/autoinst-log.txt"]
    (tmp_path / "testresults").mkdir()
    (tmp_path / "testresults" / "autoinst-log.txt.part").write_bytes(log[:100000])
    (tmp_path / "testresults" / "serial0.txt").write_bytes(b"serial outpuX")  # same length - 1, wrong end
    result = download(proxy.url, artifacts.job_id, tmp_path, what=["logs"])
    assert result.status == Status.OK, result.message
    outcomes = {f["path"]: f["outcome"] for f in result.returns["files"]}
    assert outcomes["testresults/autoinst-log.txt"] == "resumed"
    assert tree(tmp_path)["testresults/autoinst-log.txt"] == log
    assert tree(tmp_path)["testresults/serial0.txt"] == b"serial output\n"
    assert not list(tmp_path.rglob("*.part"))


def test_a_broken_transfer_is_resumed_within_the_run(server, proxy, artifacts, tmp_path):
    proxy.add(Fault("truncate", path="autoinst-log.txt", times=1))
    result = download(proxy.url, artifacts.job_id, tmp_path, what=["logs"])
    assert result.status == Status.OK, result.message
    assert tree(tmp_path)["testresults/autoinst-log.txt"] == artifacts.files["testresults/autoinst-log.txt"]
    log_requests = [r for r in proxy.requests("GET") if "autoinst-log" in r.path]
    assert len(log_requests) == 2


def test_check_mode_writes_nothing(server, ctl, artifacts, tmp_path):
    run = ctl("test", "download", "--id", str(artifacts.job_id), "--dest", str(tmp_path / "d"), "--check")
    assert run.rc == 0 and run.envelope["invocation"]["changed"] is True
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize("local", ["longer", "changed", "changed part"])
def test_check_mode_changes_nothing_on_disk(server, artifacts, tmp_path, local):
    """Issue 24: a local copy longer than the server's file, or one whose end differs, was deleted by --check."""
    serial = artifacts.files["testresults/serial0.txt"]
    name = "serial0.txt.part" if local == "changed part" else "serial0.txt"
    (tmp_path / "testresults").mkdir()
    (tmp_path / "testresults" / name).write_bytes(serial + b"more" if local == "longer" else serial[:-1] + b"X")
    before = tree(tmp_path)
    result = download(server.url, artifacts.job_id, tmp_path, what=["logs"], check_mode=True)
    assert result.status == Status.OK and result.changed is True, result.message
    assert tree(tmp_path) == before
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == ["testresults", "testresults/" + name]
    outcomes = {f["path"]: f["outcome"] for f in result.returns["files"]}
    assert outcomes["testresults/serial0.txt"] == "downloaded"


def test_a_link_planted_in_dest_is_never_written_through(server, artifacts, tmp_path):
    """Issue 24: DEST/testresults/autoinst-log.txt.part -> /outside/victim overwrote the victim and left the final
    file a link out of DEST. Planted: links as partial files (to an empty victim, to a name not there yet) and
    as final files (one to a copy of the server's file, which was then kept as "unchanged")."""
    outside, dest = tmp_path / "outside", tmp_path / "dest"
    outside.mkdir()
    (dest / "testresults" / "ulogs").mkdir(parents=True)
    (outside / "victim").write_bytes(b"")
    (outside / "same").write_bytes(artifacts.files["testresults/serial0.txt"])
    links = {"autoinst-log.txt.part": "victim", "vars.json.part": "not-yet", "details-boot.json.part": "details",
             "boot-2.txt": "text", "serial0.txt": "same", "ulogs/journal.txt.part": "journal"}
    for name, target in links.items():
        (dest / "testresults" / name).symlink_to(outside / target)
    result = download(server.url, artifacts.job_id, dest)
    assert result.status == Status.OK, result.message
    assert tree(outside) == {"victim": b"", "same": artifacts.files["testresults/serial0.txt"]}
    assert not [p for p in dest.rglob("*") if p.is_symlink()]
    got = tree(dest)
    got.pop("testresults/details-boot.json")
    assert got == artifacts.files


@pytest.mark.parametrize("name", ["../../etc/x", "/etc/passwd", "..", "a/../../b"])
def test_server_names_never_escape_dest(tmp_path, name):
    job = {"id": 1, "logs": ["vars.json", name], "ulogs": [], "testresults": [], "assets": {}}
    with pytest.raises(ServerError, match="refused, nothing was downloaded"):
        plan(job, str(tmp_path), ["logs"], 0)
    with pytest.raises(ServerError):
        plan({"id": 1, "testresults": [{"name": "boot", "details": [{"text": name}]}]}, str(tmp_path),
             ["results"], 0)
    assert not list(tmp_path.iterdir())


def test_a_symlink_in_dest_does_not_lead_out(tmp_path):
    (tmp_path / "dest").mkdir()
    (tmp_path / "dest" / "testresults").symlink_to(tmp_path)
    with pytest.raises(ServerError, match="outside"):
        plan({"id": 1, "logs": ["vars.json"]}, str(tmp_path / "dest"), ["logs"], 0)


def test_bad_input(server, ctl, tmp_path):
    assert ctl("test", "download", "--id", "5", "--dest", str(tmp_path), "--asset-size-limit", "lots").rc == 4
    assert ctl("test", "download", "--id", "5").rc == 4
    assert ctl("test", "download", "--id", "999999999", "--dest", str(tmp_path)).rc == Status.NOT_FOUND
    assert parse_size("1G") == 2 ** 30 and parse_size("200M") == 200 * 2 ** 20 and parse_size("512") == 512


def test_memory_stays_flat_for_a_large_file(server, artifacts, tmp_path):
    """The peak memory of a download does not grow with the file: a 300 MiB log against a 1 MiB one of the same
    job, same process set-up (what the interpreter and the machine's load add is in both)."""
    measure = ("import resource, sys\n"
               "from ansible_collections.openqa.client.cli.openqa_ctl import main\n"
               "code = main(sys.argv[1:])\n"
               "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
               "sys.exit(code)\n")
    peaks = {}
    for size in (2 ** 20, 300 * 2 ** 20):
        with open(artifacts.result_dir / "serial0.txt", "wb") as handle:
            handle.truncate(size)
        dest = tmp_path / str(size)
        proc = subprocess.run([sys.executable, "-c", measure, "test", "download", "--id", str(artifacts.job_id),
                               "--dest", str(dest), "--what", "logs", "--host", server.url,
                               "--max-answer-mb", "512"],  # a log over the cap (256 MB by default) is skipped
                              capture_output=True, text=True, check=False, timeout=300)
        assert proc.returncode == 0, proc.stdout
        assert (dest / "testresults" / "serial0.txt").stat().st_size == size
        peaks[size] = int(proc.stderr.split()[-1]) >> 10
    grown = peaks[300 * 2 ** 20] - peaks[2 ** 20]
    assert grown < 100, "peak RSS %s MiB by file size: %d MiB more for 299 MiB more" % (peaks, grown)
