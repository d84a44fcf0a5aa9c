"""A small hostile fake server on 127.0.0.1 (stdlib only) for what a real openQA never does.

Redirects, answers that trickle in a byte a second or never end, gzip bombs, odd JSON shapes,
listings that ignore their filters or their paging. Each test gives a ``respond(request)``
function; the server records every request (method, path with query, headers) so a test can
count them. One request per connection (``Connection: close``).

    with HostileServer(lambda request: request.json({"job": None})) as fake:
        ... point the client at fake.url ...
        assert len(fake.requests) == 1
"""

from __future__ import annotations

import http.server
import json
import threading
import time
import typing as t
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: t.Dict[str, str]

    @property
    def query(self) -> t.Dict[str, t.List[str]]:
        return parse_qs(urlsplit(self.path).query)


class Request:
    """What a respond function gets: the request, and ways to answer it (any of them may be hostile)."""

    def __init__(self, handler: http.server.BaseHTTPRequestHandler, stop: threading.Event) -> None:
        self._handler = handler
        self.stop = stop
        self.method = handler.command
        self.path = handler.path
        self.headers = dict(handler.headers.items())
        length = int(handler.headers.get("Content-Length") or 0)
        self.body = handler.rfile.read(length) if length else b""

    @property
    def query(self) -> t.Dict[str, t.List[str]]:
        return parse_qs(urlsplit(self.path).query)

    def raw(self, data: bytes) -> None:
        self._handler.wfile.write(data)
        self._handler.wfile.flush()

    def answer(self, status: int, body: bytes = b"", headers: t.Optional[t.Mapping[str, str]] = None,
               content_type: t.Optional[str] = "application/json") -> None:
        head = ["HTTP/1.1 %d X" % status, "Connection: close", "Content-Length: %d" % len(body)]
        head += ["Content-Type: %s" % content_type] if content_type else []
        head += ["%s: %s" % item for item in (headers or {}).items()]
        self.raw(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)

    def json(self, value: t.Any, status: int = 200, headers: t.Optional[t.Mapping[str, str]] = None) -> None:
        self.answer(status, json.dumps(value).encode(), headers)

    def trickle(self, data: bytes, every: float = 1.0) -> None:
        """Send one byte per ``every`` seconds until done or the client is gone."""
        for index in range(len(data)):
            if self.stop.is_set():
                return
            self.raw(data[index:index + 1])
            time.sleep(every)

    def endless_chunks(self, chunk: bytes = b" " * 65536) -> None:
        """A 200 with a chunked body that never ends (until the client hangs up)."""
        self.raw(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        while not self.stop.is_set():
            self.raw(b"%x\r\n%s\r\n" % (len(chunk), chunk))


class HostileServer:
    def __init__(self, respond: t.Callable[[Request], None]) -> None:
        self.respond = respond
        self.requests: t.List[Seen] = []
        self.got_request = threading.Event()
        self._stop = threading.Event()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_one_request(self) -> None:
                try:
                    super().handle_one_request()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client hung up, which is what a bounded client does
                self.close_connection = True

            def _any(self) -> None:
                request = Request(self, owner._stop)
                owner.requests.append(Seen(self.command, self.path, request.headers))
                owner.got_request.set()
                owner.respond(request)

            do_GET = do_POST = do_PUT = do_DELETE = _any

            def log_message(self, *args: t.Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "HostileServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: t.Any) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
