"""Issue 25's minors against the real server: a build id that arrives as a float, one message style for
every mutating action."""

from __future__ import annotations

import json
import uuid

FLOAT_WARNING = ("arrived as a number (20261120.1), not as text: YAML and JSON drop a number's trailing zeros "
                 "(20261120.10 becomes 20261120.1); quote it if the build id has any")


def test_a_build_id_that_arrives_as_a_float_warns(server, ctl, module, tmp_path):
    data = tmp_path / "wait.json"
    data.write_text('{"id": 20261120.10}')
    cli = ctl("build", "wait", "--json-data", str(data), "--check")
    assert cli.rc == 10 and "openqa-ctl: warning: id " + FLOAT_WARNING in cli.stderr, cli.stderr
    quoted = tmp_path / "quoted.json"
    quoted.write_text(json.dumps({"id": "20261120.10"}))
    assert "arrived as a number" not in ctl("build", "wait", "--json-data", str(quoted), "--check").stderr
    product = {"DISTRI": "opensuse", "VERSION": "Tumbleweed", "FLAVOR": "DVD", "ARCH": "x86_64", "BUILD": 20261120.10}
    mod = module("build", {"action": "new", "vars": product, **server.creds()}, check=True)
    assert mod.status == 0 and "vars BUILD " + FLOAT_WARNING in mod.stdout + mod.stderr, mod.stdout
    plain = module("build", {"action": "new", "vars": dict(product, BUILD="f-" + uuid.uuid4().hex[:6]),
                             **server.creds()}, check=True)
    assert plain.status == 0 and "arrived as a number" not in plain.stdout + plain.stderr
