"""The fault proxy's latency mode (tests/faultproxy.py), against a small stdlib upstream on loopback."""

from __future__ import annotations

import http.server
import importlib.util
import sys
import threading
import time
import typing as t
import urllib.request
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location("faultproxy_latency",
                                               Path(__file__).resolve().parents[2] / "faultproxy.py")
faultproxy = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = faultproxy  # its dataclasses look their module up there
_SPEC.loader.exec_module(faultproxy)

BODY = b"x" * (200 * 1024)  # four 64 KiB chunks


class _Upstream(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802  (http.server's spelling)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format: str, *args: t.Any) -> None:  # pylint: disable=redefined-builtin
        """Quiet."""


@pytest.fixture(name="upstream")
def fixture_upstream() -> t.Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()
    server.server_close()


def _get(url: str) -> t.Tuple[bytes, float]:
    start = time.monotonic()
    with urllib.request.urlopen(url + "/data", timeout=30) as answer:
        body = answer.read()
    return body, time.monotonic() - start


def test_latency_delays_the_request_and_every_chunk_of_the_answer(upstream):
    with faultproxy.FaultProxy(upstream, lifetime=60, latency=0.1, chunk=64 * 1024) as proxy:
        body, seconds = _get(proxy.url)
        assert body == BODY  # nothing lost or reordered by the chunking
        # one delay on the way in, and one per chunk of head + 200 KiB (4 chunks) on the way out
        assert seconds >= 0.1 * 5
        assert [(r.method, r.path) for r in proxy.requests()] == [("GET", "/data")]


def test_a_small_answer_costs_one_round_trip(upstream):
    with faultproxy.FaultProxy(upstream, lifetime=60, latency=0.1, chunk=len(BODY) + 1024) as proxy:
        body, seconds = _get(proxy.url)
    assert body == BODY and seconds >= 0.2


@pytest.mark.parametrize("latency, chunk", [(-0.1, 1024), (5.0, 1024), (0.1, 0)])
def test_nonsense_latency_is_refused(upstream, latency, chunk):
    with pytest.raises(ValueError):
        faultproxy.FaultProxy(upstream, lifetime=1, latency=latency, chunk=chunk)
