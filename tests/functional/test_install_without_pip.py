"""README's install without pip, run as written: the collection from `ansible-galaxy collection build` +
`install`, ansible and the CLI (`python3 -m ...`) finding it through the exports the README gives."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from conftest import ROOT

COLLECTION_FILES = ["galaxy.yml", "README.md", "requirements.txt", "bindep.txt", "meta", "plugins", "cli", "docs",
                    "playbooks"]


def _readme_block() -> str:
    """The shell block after README's "Without pip" paragraph."""
    readme = (ROOT / "README.md").read_text()
    found = re.search(r"^Without pip .*?```sh\n(.*?)```", readme, re.MULTILINE | re.DOTALL)
    assert found, "README.md has no shell block for the install without pip"
    return found.group(1)


def _environment_without_the_collection(tmp_path: Path) -> Path:
    """A venv with this one's packages (ansible-core, requests) but not the pip-installed collection, which
    would shadow the one the README installs: a user's environment without pip. Returns its bin dir."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python3"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if entry.name != "ansible_collections" and not entry.name.startswith("openqa_ansible_client"):
            (site / entry.name).symlink_to(entry)
    for command in ("ansible-galaxy", "ansible-doc"):
        script = (Path(sys.executable).parent / command).read_text().split("\n", 1)[1]
        (venv / "bin" / command).write_text("#!%s\n%s" % (python, script))
        (venv / "bin" / command).chmod(0o755)
    return venv / "bin"


def test_the_readmes_install_without_pip_works(server, tmp_path):
    clone = tmp_path / "clone"
    for name in COLLECTION_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, clone / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            clone.mkdir(exist_ok=True)
            shutil.copy(source, clone / name)
    home = tmp_path / "home"
    home.mkdir()
    # a user's shell: ansible and python3 without the collection, nothing of the test run's collection paths
    env = {"PATH": "%s:/usr/bin:/bin" % _environment_without_the_collection(tmp_path), "HOME": str(home),
           "LANG": "C.UTF-8", "ANSIBLE_NOCOLOR": "1", "PYTHONWARNINGS": "ignore"}
    checks = """
python3 -c 'import ansible_collections.openqa.client.cli.openqa_ctl as cli; print(cli.__file__)'
ansible-galaxy collection list openqa.client
openqa-ctl test info --id {job} --from {url}
""".format(job=server.fixture["passed_job"], url=server.url)
    script = "{\n%s} >&2\n%s" % (_readme_block(), checks)  # stdout: the checks' output only
    proc = subprocess.run(["bash", "-euc", script], cwd=clone, env=env, capture_output=True,
                          text=True, timeout=600, check=False)

    assert proc.returncode == 0, proc.stdout + proc.stderr
    installed = home / ".ansible" / "collections" / "ansible_collections"
    cli_file, rest = proc.stdout.split("\n", 1)
    assert cli_file.startswith(str(installed / "openqa" / "client"))  # the copy the README installed
    assert re.search(r"^# %s\nCollection .*\n-+.*\nopenqa\.client " % re.escape(str(installed)), rest, re.MULTILINE)
    envelope = json.loads(rest[rest.index('{"invocation"'):])
    assert envelope["invocation"]["status"] == 0
    assert envelope["returns"]["id"] == server.fixture["passed_job"]
