"""Peak memory of `openqa-ctl test status` reading a large answer under the cap (issue 24).

docs/reliability.md promises a peak below cap x 1.5 + 200 MB. A fake server (tests/hostile_server.py) answers
`GET jobs/1` with a JSON job padded to SIZE MB, once as one long string (the shape a huge log excerpt or setting
takes) and once as many small objects (a long list of settings-like dicts, where the parsed objects outweigh
the text many times). The child's own peak RSS (wait4) is printed per run; not part of the suite (no timed or
memory assert there beyond the gzip-bomb bound).

    python benchmarks/answer_memory.py [--size-mb 250] [--cap-mb 256] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import typing as t
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import hostile_server  # noqa: E402  (the tests' fake server, stdlib only)

CTL = [sys.executable, "-m", "ansible_collections.openqa.client.cli.openqa_ctl"]


def job(size: int, shape: str) -> bytes:
    base = {"id": 1, "name": "j1", "state": "done", "result": "passed", "settings": {}}
    if shape == "string":
        base["padding"] = "x" * size
    else:
        entry = json.dumps({"key": "K", "value": "V"}) + ", "
        base["padding"] = [{"key": "K", "value": "V"}] * (size // len(entry))
    return json.dumps({"job": base}).encode()


def peak_mb(url: str, cap: int) -> t.Tuple[int, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENQA_")}
    proc = subprocess.Popen(CTL + ["test", "status", "--id", "1", "--host", url, "--max-answer-mb", str(cap)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _pid, status, usage = os.wait4(proc.pid, 0)
    return os.waitstatus_to_exitcode(status), usage.ru_maxrss / 1024


def serve(shape: str, size_mb: int) -> None:
    """The fake server, in its own process: a parent holding the answer would lend its pages to the child's
    peak RSS (fork), measuring the server rather than the client."""
    body = job(size_mb * 2 ** 20, shape)
    with hostile_server.HostileServer(lambda request: request.answer(200, body)) as fake:
        print(fake.url, flush=True)
        sys.stdin.read()  # until the measuring process closes it


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=int, default=250)
    parser.add_argument("--cap-mb", type=int, default=256)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--serve", choices=("string", "objects"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.size_mb)
        return
    promise = args.cap_mb * 1.5 + 200
    for shape in ("string", "objects"):
        server = subprocess.Popen([sys.executable, __file__, "--serve", shape, "--size-mb", str(args.size_mb)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        url = server.stdout.readline().strip()
        runs = [peak_mb(url, args.cap_mb) for _run in range(args.runs)]
        server.stdin.close()
        server.wait()
        print("%-7s answer %.0f MB, cap %d MB: exit %s, peak RSS %s MB (promise %.0f MB)"
              % (shape, args.size_mb, args.cap_mb, sorted({code for code, _peak in runs}),
                 ", ".join("%.0f" % peak for _code, peak in runs), promise))


if __name__ == "__main__":
    main()
