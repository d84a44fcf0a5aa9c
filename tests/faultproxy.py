"""A fault-injecting HTTP proxy in front of the real test openQA (stdlib only, loopback only).

Tests put it between the client and openQA to produce what a flaky network or a failing
reverse proxy does: refused connections, resets mid-response, delays, 502/503/429 with or
without Retry-After, truncated or corrupt bodies, and - the case that makes clients act
twice - a POST forwarded to openQA whose answer is replaced by a 502.

Every connection carries one request (``Connection: close``), so "refuse the next
connection" and "answer the Nth request" mean what they say. Every request is recorded
(method, path) so a test can assert that check mode sent no POST/PUT/DELETE.

In-process use (what the tests do)::

    with FaultProxy("http://127.0.0.1:9526") as proxy:
        proxy.add(Fault("status", status=503, times=2, path=r"^/api/v1/jobs/"))
        ... point the client at proxy.url ...
        assert proxy.mutations() == []

Latency mode (``latency=0.025``): every request waits that long before it is forwarded, and every
``chunk`` bytes of the answer wait that long before they are sent: 25 ms each way is a 50 ms round
trip, and a big answer pays one more delay per 64 KiB, like a TCP window at that distance. Each
connection carries one request, so a client's keep-alive saves nothing here (on a real link it saves
a round trip per request for the TCP handshake, more with TLS): the proxy errs against us.

Standalone: ``python tests/faultproxy.py --upstream URL --fault '{"kind": "status", "status": 503}'``
(or ``--latency 0.025``) prints the proxy's URL and serves until ``--lifetime`` seconds have passed.
"""

from __future__ import annotations

import argparse
import http.client
import http.server
import json
import re
import select
import socket
import struct
import sys
import threading
import time
import typing as t
from dataclasses import dataclass, field
from urllib.parse import urlsplit

KINDS = ("status", "delay", "reset", "drop", "truncate", "corrupt", "forward_then", "refuse_after")
MAX_DELAY = 30.0  # a delay fault never holds a connection longer than this
MAX_LATENCY = 1.0  # per leg: a latency mode beyond that is a mistake, not a network
MAX_BODY = 64 * 1024 * 1024
UPSTREAM_TIMEOUT = 60.0
HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection"})


@dataclass
class Fault:
    """What to do to matching requests.

    kind:
      status        answer ``status`` without forwarding (JSON error body, or HTML with ``html``)
      delay         forward, then wait ``delay`` seconds before answering (openQA has acted by then)
      reset         forward, send the headers and half the body, then reset the connection (RST)
      drop          read the request, reset the connection without forwarding or answering
      truncate      forward, announce the full Content-Length, send half the body, close
      corrupt       forward, send the answer with its body replaced by broken JSON of the same length
      forward_then  forward (openQA acts on it), then answer ``status`` instead of openQA's answer
      refuse_after  forward and answer normally, then stop listening: the next connection is refused
                    until ``FaultProxy.resume()``
    ``method``/``path`` (a regex searched in the path with its query) select requests; ``skip``
    lets that many matching requests through first; ``times`` limits how often it fires (None:
    always); ``retry_after`` adds that Retry-After header to a status answer.
    """

    kind: str
    status: int = 502
    method: t.Optional[str] = None
    path: str = ""
    skip: int = 0
    times: t.Optional[int] = None
    retry_after: t.Optional[str] = None
    delay: float = 0.0
    html: bool = False
    fired: int = field(default=0, init=False)
    seen: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError("unknown fault kind %r: use one of %s" % (self.kind, ", ".join(KINDS)))
        self.delay = min(max(self.delay, 0.0), MAX_DELAY)

    def claims(self, method: str, path: str) -> bool:
        """True when this fault fires for this request (and counts it)."""
        if self.method and self.method != method:
            return False
        if self.path and not re.search(self.path, path):
            return False
        self.seen += 1
        if self.seen <= self.skip or (self.times is not None and self.fired >= self.times):
            return False
        self.fired += 1
        return True


@dataclass(frozen=True)
class Record:
    method: str
    path: str
    fault: t.Optional[str]


class FaultProxy:
    """The proxy: an accept loop on 127.0.0.1 and one thread per connection."""

    def __init__(self, upstream: str, *, lifetime: float = 600.0, latency: float = 0.0,
                 chunk: int = 64 * 1024,
                 on_answer: t.Optional[t.Callable[[str, str, int, bytes], None]] = None) -> None:
        parts = urlsplit(upstream)
        if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the fault proxy only forwards to a loopback server, not %s" % upstream)
        if not 0.0 <= latency <= MAX_LATENCY or chunk < 1:
            raise ValueError("latency must be 0 to %.0f s and chunk at least 1 byte" % MAX_LATENCY)
        self.latency = latency
        self.chunk = chunk
        # called with (method, path, status, body) after openQA answered and before the client gets it:
        # a benchmark's worker stand-in finishes the jobs a POST created before the client can poll them
        self.on_answer = on_answer
        self.upstream = (parts.hostname, parts.port or 80)
        self.records: t.List[Record] = []
        self.faults: t.List[Fault] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener: t.Optional[socket.socket] = None
        self._give_up_at = time.monotonic() + lifetime
        self.port = self._listen(0)
        self.url = "http://127.0.0.1:%d" % self.port
        self._thread = threading.Thread(target=self._accept_loop, name="faultproxy", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------ control

    def add(self, *faults: Fault) -> "FaultProxy":
        with self._lock:
            self.faults.extend(faults)
        return self

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()
            self.records.clear()

    def requests(self, method: t.Optional[str] = None) -> t.List[Record]:
        with self._lock:
            return [r for r in self.records if method is None or r.method == method]

    def mutations(self) -> t.List[Record]:
        return [r for r in self.requests() if r.method in ("POST", "PUT", "DELETE")]

    def pause(self) -> None:
        """Stop listening: connections are refused (the kernel answers RST to the SYN)."""
        with self._lock:
            if self._listener is not None:
                # shutdown first: close alone leaves the socket listening while the accept
                # loop's select() still holds it, and a connection in that window is reset, not refused
                try:
                    self._listener.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                self._listener.close()
                self._listener = None

    def resume(self) -> None:
        with self._lock:
            if self._listener is None:
                self._listen(self.port)

    def stop(self) -> None:
        self._stop.set()
        self.pause()
        self._thread.join(timeout=5)

    def __enter__(self) -> "FaultProxy":
        return self

    def __exit__(self, *_exc: t.Any) -> None:
        self.stop()

    # ------------------------------------------------------------ plumbing

    def _listen(self, port: int) -> int:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(64)
        self._listener = listener
        return listener.getsockname()[1]

    def _accept_loop(self) -> None:
        while not self._stop.is_set() and time.monotonic() < self._give_up_at:
            listener = self._listener
            if listener is None:
                time.sleep(0.01)
                continue
            try:
                ready, _writable, _errors = select.select([listener], [], [], 0.1)
                if not ready:
                    continue
                conn, address = listener.accept()
            except (OSError, ValueError):  # paused meanwhile: the socket was closed under us
                continue
            conn.settimeout(UPSTREAM_TIMEOUT)
            threading.Thread(target=_Handler, args=(conn, address, self), daemon=True).start()
        self.pause()

    def _choose(self, method: str, path: str) -> t.Optional[Fault]:
        with self._lock:
            fault = next((f for f in self.faults if f.claims(method, path)), None)
            self.records.append(Record(method, path, fault.kind if fault else None))
            return fault

    def forward(self, method: str, path: str, headers: t.Mapping[str, str],
                body: bytes) -> t.Tuple[int, str, t.List[t.Tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(*self.upstream, timeout=UPSTREAM_TIMEOUT)
        try:
            sent = {k: v for k, v in headers.items() if k.lower() not in HOP_BY_HOP}
            sent["Host"] = "%s:%d" % self.upstream
            conn.request(method, path, body=body or None, headers=sent)
            answer = conn.getresponse()
            return answer.status, answer.reason, answer.getheaders(), answer.read(MAX_BODY)
        finally:
            conn.close()


class _Handler(http.server.BaseHTTPRequestHandler):
    """One request per connection (HTTP/1.0 semantics): read, consult the faults, act."""

    server: t.Any

    def log_message(self, format: str, *args: t.Any) -> None:  # pylint: disable=redefined-builtin
        """Quiet: the records are the log."""

    def finish(self) -> None:
        try:
            super().finish()
            self.connection.shutdown(socket.SHUT_WR)
        except OSError:  # the connection was reset on purpose
            pass
        self.connection.close()

    def handle_one_request(self) -> None:
        try:
            self.raw_requestline = self.rfile.readline(65537)
            if not self.raw_requestline or not self.parse_request():
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            self._serve(self.command, self.path, body)
        except (OSError, ValueError, http.client.HTTPException) as exc:
            self.close_connection = True
            try:
                self._answer(502, [("Content-Type", "text/plain")], ("fault proxy: %s" % exc).encode())
            except OSError:
                pass

    def _serve(self, method: str, path: str, body: bytes) -> None:
        proxy: FaultProxy = self.server
        time.sleep(proxy.latency)  # the request's way to the server
        fault = proxy._choose(method, path)  # pylint: disable=protected-access
        kind = fault.kind if fault else None
        if kind == "status":
            self._answer_fault(fault)
            return
        if kind == "drop":
            self._reset()
            return
        status, _reason, headers, content = proxy.forward(method, path, dict(self.headers.items()), body)
        if proxy.on_answer:
            proxy.on_answer(method, path, status, content)
        if kind == "delay":
            time.sleep(fault.delay)
        headers = [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP]
        if kind == "forward_then":
            self._answer_fault(fault)
        elif kind == "reset":
            self._answer(status, headers, content, send=len(content) // 2)
            self._reset()
        elif kind == "truncate":
            self._answer(status, headers, content, send=len(content) // 2)
        elif kind == "corrupt":
            broken = (b'{"broken": [' + b"x" * len(content))[:max(len(content), 12)]
            self._answer(status, headers, broken)
        else:
            if kind == "refuse_after":
                proxy.pause()  # before answering: the client's next connection must find the port closed
            self._answer(status, headers, content)

    def _answer_fault(self, fault: Fault) -> None:
        headers = [("Retry-After", fault.retry_after)] if fault.retry_after is not None else []
        if fault.html:
            page = b"<html><body>" + b"<p>Bad Gateway from the fault proxy</p>" * 200 + b"</body></html>"
            self._answer(fault.status, headers + [("Content-Type", "text/html")], page)
        else:
            error = json.dumps({"error": "injected %d" % fault.status, "error_status": fault.status}).encode()
            self._answer(fault.status, headers + [("Content-Type", "application/json")], error)

    def _answer(self, status: int, headers: t.Sequence[t.Tuple[str, str]], content: bytes,
                send: t.Optional[int] = None) -> None:
        reason = http.client.responses.get(status, "Injected")
        head = ["HTTP/1.1 %d %s" % (status, reason)] + ["%s: %s" % item for item in headers]
        head += ["Content-Length: %d" % len(content), "Connection: close", "", ""]
        data = "\r\n".join(head).encode("latin-1") + content[:send]
        proxy: FaultProxy = self.server
        step = proxy.chunk if proxy.latency else max(len(data), 1)
        for start in range(0, len(data), step):
            time.sleep(proxy.latency)  # the answer's way back, per window
            self.wfile.write(data[start:start + step])
        self.wfile.flush()
        self.close_connection = True

    def _reset(self) -> None:
        """Close with SO_LINGER 0: the peer gets a TCP RST, not an orderly FIN."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()


def main(argv: t.Optional[t.Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--upstream", required=True, help="the openQA URL, e.g. http://127.0.0.1:9526")
    parser.add_argument("--fault", action="append", default=[], help="a Fault as a JSON object; repeat it")
    parser.add_argument("--lifetime", type=float, default=300.0, help="stop after this many seconds")
    parser.add_argument("--latency", type=float, default=0.0,
                        help="seconds of delay per request and per response chunk (0.025: 50 ms round trip)")
    parser.add_argument("--chunk", type=int, default=64 * 1024, help="response chunk size for --latency")
    args = parser.parse_args(argv)
    proxy = FaultProxy(args.upstream, lifetime=args.lifetime, latency=args.latency, chunk=args.chunk)
    proxy.add(*(Fault(**json.loads(text)) for text in args.fault))
    print(proxy.url, flush=True)
    try:
        proxy._thread.join()  # pylint: disable=protected-access
    except KeyboardInterrupt:
        proxy.stop()
    for record in proxy.requests():
        print("%s %s%s" % (record.method, record.path, " [%s]" % record.fault if record.fault else ""),
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
