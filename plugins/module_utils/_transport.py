# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to this collection: no API promise, it may change in any release.
"""The transport under the client: which failures are safe to retry, Retry-After, the watchdog that holds the
deadline over a whole answer, and the typed error for a request that failed on its way."""

from __future__ import annotations

import socket
import threading
import time
import typing as t

from ansible_collections.openqa.client.plugins.module_utils._answers import snippet
from ansible_collections.openqa.client.plugins.module_utils.envelope import (
    InvalidInputError,
    OpenQAError,
    ServerError,
    UnreachableError,
)


CHUNK = 64 * 1024


def never_sent(exc: Exception) -> bool:
    """True when the request provably did not reach the server (so re-sending a POST is safe)."""
    import requests
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if not isinstance(exc, requests.exceptions.ConnectionError):
        return False
    reason = exc.args[0] if exc.args else None
    cause = getattr(reason, "reason", reason)
    return isinstance(cause, (NewConnectionError, ConnectTimeoutError))


def unresolvable(exc: Exception) -> bool:
    """A host name that does not resolve will not resolve on a retry either."""
    return "NameResolutionError" in repr(exc) or "Name or service not known" in str(exc)


def _plain_http_answer(exc: Exception) -> bool:
    """https:// to a server that speaks plain HTTP on that port: a retry meets the same mismatch."""
    import requests

    return isinstance(exc, requests.exceptions.SSLError) and any(
        marker in str(exc) for marker in ("WRONG_VERSION_NUMBER", "wrong version number", "record layer failure",
                                          "http request", "HTTP_REQUEST"))


def reason(exc: Exception) -> str:
    """The innermost cause, without urllib3's pool and retry wrapping."""
    text = str(exc)
    for marker in ("Failed to establish a new connection: ", "Failed to resolve ", "Caused by "):
        if marker in text:
            text = text.split(marker, 1)[1]
            break
    text = text.replace("[Errno 111] ", "").replace("[Errno -2] ", "").rstrip(")\"'")
    return snippet(text.lower() if text.startswith("Connection refused") else text)


def retry_after(response: t.Any) -> t.Optional[float]:
    """Seconds to wait: Retry-After is a number of seconds or an HTTP-date (RFC 9110)."""
    value = response.headers.get("Retry-After", "").strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    import email.utils

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - time.time())


_IN_FLIGHT = threading.local()


class Watchdog:
    """Shuts the connection of a request that outlives its deadline.

    The read timeout bounds each wait for a byte, not the answer: a server sending one byte a second,
    or an endless chunked body, would otherwise hold the call for ever.
    """

    def __init__(self, seconds: float) -> None:
        self.connection: t.Any = None
        self.fired = False
        self._done = False
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, seconds), self._fire)
        self._timer.daemon = True

    def __enter__(self) -> "Watchdog":
        _IN_FLIGHT.watchdog = self
        self._timer.start()
        return self

    def __exit__(self, *exc: t.Any) -> None:
        with self._lock:
            self._done = True
        self._timer.cancel()
        _IN_FLIGHT.watchdog = None

    def _fire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.fired = True
            sock = getattr(self.connection, "sock", None)
        if sock is None:
            # still connecting (bounded by the connect timeout): look again in a moment
            self._timer = threading.Timer(0.05, self._fire)
            self._timer.daemon = True
            self._timer.start()
            return
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _watched(pool_class: t.Any) -> t.Any:
    class Watched(pool_class):
        def _get_conn(self, timeout: t.Optional[float] = None) -> t.Any:
            connection = super()._get_conn(timeout)
            watchdog = getattr(_IN_FLIGHT, "watchdog", None)
            if watchdog is not None:
                watchdog.connection = connection
            return connection
    return Watched


_ADAPTER_CLASS: t.List[t.Any] = []


def watched_adapter() -> t.Any:
    """A requests adapter that lets the watchdog find the connection a request runs on; built on first use
    so that importing this module does not import requests."""
    if not _ADAPTER_CLASS:
        from requests.adapters import HTTPAdapter
        from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

        class WatchedAdapter(HTTPAdapter):
            def init_poolmanager(self, *args: t.Any, **kwargs: t.Any) -> None:
                super().init_poolmanager(*args, **kwargs)
                self.poolmanager.pool_classes_by_scheme = {"http": _watched(HTTPConnectionPool),
                                                           "https": _watched(HTTPSConnectionPool)}
        _ADAPTER_CLASS.append(WatchedAdapter)
    return _ADAPTER_CLASS[0]()


def transport_error(exc: Exception, method: str, path: str, base_url: str, read_timeout: float) -> OpenQAError:
    import requests

    if _plain_http_answer(exc):
        return UnreachableError(
            "TLS handshake with %s failed: the server answered in plain HTTP, not TLS (%s); if it serves "
            "only http, use %s" % (base_url, snippet(reason(exc)),
                                   "http://" + base_url.split("://", 1)[-1]))
    if isinstance(exc, requests.exceptions.ContentDecodingError):
        # the answer arrived (newer openQA gzips it) but its body does not inflate
        return ServerError("%s %s: %s sent broken JSON (its compressed body does not decode: %s)"
                           % (method, path, base_url, snippet(str(exc))))
    if isinstance(exc, requests.exceptions.SSLError):
        return UnreachableError(
            "TLS verification failed for %s: %s; install the CA and point ca_path at it "
            "(validate_certs=false only if you trust the network)" % (base_url, snippet(str(exc))))
    if isinstance(exc, requests.exceptions.Timeout) and not never_sent(exc):
        return UnreachableError("%s %s: no answer from %s within %.0f s (read timeout or deadline)"
                                % (method, path, base_url, read_timeout))
    if isinstance(exc, requests.exceptions.InvalidURL):
        return InvalidInputError("invalid host URL %s: %s" % (base_url, snippet(str(exc))))
    if unresolvable(exc):
        return UnreachableError("unknown remote host: the host name in %s does not resolve; check host"
                                % base_url)
    sent = "" if never_sent(exc) else "; the request may have reached the server"
    return UnreachableError("unknown remote host: cannot reach %s (%s)%s"
                            % (base_url, reason(exc), sent))
