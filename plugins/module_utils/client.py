# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTTP client: one requests session, HMAC signing, timeouts, retries, typed errors."""

from __future__ import annotations

import email.utils
import hashlib
import hmac
import json
import random
import socket
import threading
import time
import typing as t
from urllib.parse import unquote, urlsplit, urlunsplit

from ansible_collections.openqa.client.plugins.module_utils.config import display_url
from ansible_collections.openqa.client.plugins.module_utils.envelope import (
    AuthError,
    InvalidInputError,
    NotFoundError,
    OpenQAError,
    ServerError,
    UnreachableError,
)

try:
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
except ImportError:  # reported by the module (missing_required_lib) or the CLI
    HAS_REQUESTS = False
else:
    HAS_REQUESTS = True

API_BASE = "/api/v1/"
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
MUTATING_METHODS = frozenset({"POST", "PUT", "DELETE"})
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789*-._")
_SNIPPET = 200
# A server's error text longer than this is cut: a message is for people, not a transport for megabytes.
MAX_ERROR_TEXT = 1000
DEFAULT_MAX_ANSWER_MB = 256
_CHUNK = 64 * 1024

Params = t.Union[None, t.Mapping[str, t.Any], t.Sequence[t.Tuple[str, t.Any]]]


def encode_component(text: str) -> str:
    """Percent-encode as the server re-serialises a query (Mojo::Parameters).

    Only ``A-Z a-z 0-9 * - . _`` stay literal, space becomes ``+`` and hex is upper case:
    so ``~`` is ``%7E`` and ``*`` stays ``*`` (the Python openqa_client signs ``%2A`` and gets 403).
    """
    out = []
    for byte in text.encode("utf-8"):
        if byte in _UNRESERVED:
            out.append(chr(byte))
        elif byte == 0x20:
            out.append("+")
        else:
            out.append("%%%02X" % byte)
    return "".join(out)


def _text(value: t.Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def param_pairs(params: Params) -> list:
    """Flatten params to (key, value) pairs in order; lists repeat their key, None is dropped."""
    items = params.items() if isinstance(params, t.Mapping) else (params or [])
    pairs = []
    for key, value in items:
        values = value if isinstance(value, (list, tuple)) else [value]
        pairs.extend((key, _text(v)) for v in values if v is not None)
    return pairs


def canonical_query(pairs: t.Sequence[t.Tuple[str, str]]) -> str:
    """The query string exactly as the server rebuilds it to check the signature."""
    return "&".join(encode_component(k) + "=" + encode_component(v) for k, v in pairs)


def sign(secret: str, path_query: str, timestamp: str) -> str:
    return hmac.new(secret.encode("utf-8"), (path_query + timestamp).encode("utf-8"), hashlib.sha1).hexdigest()


def _never_sent(exc: Exception) -> bool:
    """True when the request provably did not reach the server (so re-sending a POST is safe)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if not isinstance(exc, requests.exceptions.ConnectionError):
        return False
    reason = exc.args[0] if exc.args else None
    cause = getattr(reason, "reason", reason)
    return isinstance(cause, (NewConnectionError, ConnectTimeoutError))


def _unresolvable(exc: Exception) -> bool:
    """A host name that does not resolve will not resolve on a retry either."""
    return "NameResolutionError" in repr(exc) or "Name or service not known" in str(exc)


def _reason(exc: Exception) -> str:
    """The innermost cause, without urllib3's pool and retry wrapping."""
    text = str(exc)
    for marker in ("Failed to establish a new connection: ", "Failed to resolve ", "Caused by "):
        if marker in text:
            text = text.split(marker, 1)[1]
            break
    text = text.replace("[Errno 111] ", "").replace("[Errno -2] ", "").rstrip(")\"'")
    return _snippet(text.lower() if text.startswith("Connection refused") else text)


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _SNIPPET else text[:_SNIPPET] + "..."


def _retry_after(response: t.Any) -> t.Optional[float]:
    """Seconds to wait: Retry-After is a number of seconds or an HTTP-date (RFC 9110)."""
    value = response.headers.get("Retry-After", "").strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _as_text(raw: bytes, encoding: t.Optional[str]) -> str:
    try:
        return raw.decode(encoding or "utf-8", "replace")
    except LookupError:  # a charset no codec knows
        return raw.decode("utf-8", "replace")


_IN_FLIGHT = threading.local()


class _Watchdog:
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

    def __enter__(self) -> "_Watchdog":
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
    class Watched(pool_class):  # type: ignore[misc, valid-type]
        def _get_conn(self, timeout: t.Optional[float] = None) -> t.Any:
            connection = super()._get_conn(timeout)
            watchdog = getattr(_IN_FLIGHT, "watchdog", None)
            if watchdog is not None:
                watchdog.connection = connection
            return connection
    return Watched


if HAS_REQUESTS:
    class _WatchedAdapter(HTTPAdapter):
        """Lets the watchdog find the connection a request runs on."""

        def init_poolmanager(self, *args: t.Any, **kwargs: t.Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": _watched(HTTPConnectionPool),
                                                       "https": _watched(HTTPSConnectionPool)}


_AUTH_HINTS = {
    "no api key": "this action needs credentials: set api_key and api_secret (options, "
                  "OPENQA_API_KEY/OPENQA_API_SECRET, or client.conf)",
    "not authorized": "the server does not know this API key: check api_key",
    "unknown error (wrong secret?)": "the server rejected the signature: check api_secret for this api_key",
    "api key expired": "the API key has expired: create a new one in the openQA web UI",
    "timestamp mismatch": "the server rejected the request time: this machine's clock differs from "
                          "the server's by more than 300 s; fix the clock (NTP)",
    "administrator level required": "the API key's user lacks the operator/admin rights this action needs",
    "operator level required": "the API key's user lacks the operator rights this action needs",
}


def _auth_message(error: str) -> str:
    lowered = error.lower()
    for prefix, hint in _AUTH_HINTS.items():
        if lowered.startswith(prefix):
            return "authentication failed (%s): %s" % (error.split(" - ")[0], hint)
    return "authentication failed: %s" % error


class OpenQAClient:
    """Talks to one openQA instance. Verbs get one and call get/post on API paths."""

    def __init__(
        self,
        base_url: str,
        api_key: t.Optional[str] = None,
        api_secret: t.Optional[str] = None,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float = 30.0,
        retries: int = 5,
        deadline: float = 60.0,
        verify: t.Union[bool, str] = True,
        max_answer_mb: int = DEFAULT_MAX_ANSWER_MB,
        check_mode: bool = False,
        on_retry: t.Optional[t.Callable[[str], None]] = None,
        on_progress: t.Optional[t.Callable[[str], None]] = None,
        session: t.Any = None,
    ) -> None:
        parts = urlsplit(base_url.rstrip("/"))
        # user:password@ in the host URL goes to a reverse proxy as basic auth and nowhere else
        self.base_url = urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[-1], parts.path, "", ""))
        self._key = api_key
        self._secret = api_secret
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.retries = retries
        self.deadline = deadline
        self.max_answer_mb = max_answer_mb
        self.check_mode = check_mode
        self.on_retry = on_retry
        self.on_progress = on_progress
        self.request_count = 0
        self._verify = verify
        if session is None:
            session = requests.Session()
            session.mount("http://", _WatchedAdapter())
            session.mount("https://", _WatchedAdapter())
        self._session = session
        self._session.verify = verify
        self._session.headers["Accept"] = "application/json"
        if parts.username is not None:
            self._session.auth = (unquote(parts.username), unquote(parts.password or ""))

    def __repr__(self) -> str:
        return "OpenQAClient(%r, authenticated=%s)" % (self.base_url, bool(self._key and self._secret))

    @property
    def has_credentials(self) -> bool:
        return bool(self._key and self._secret)

    def for_host(self, base_url: str, api_key: t.Optional[str], api_secret: t.Optional[str]) -> "OpenQAClient":
        """A client for another instance with the same timeouts, retries, TLS and check mode (clone --to)."""
        return OpenQAClient(base_url, api_key, api_secret, connect_timeout=self.connect_timeout,
                            read_timeout=self.read_timeout, retries=self.retries, deadline=self.deadline,
                            verify=self._verify, max_answer_mb=self.max_answer_mb, check_mode=self.check_mode,
                            on_retry=self.on_retry, on_progress=self.on_progress)

    def progress(self, message: str) -> None:
        """Long actions (waits, big searches) report here; the CLI shows it on a terminal's stderr."""
        if self.on_progress:
            self.on_progress(message)

    def url(self, path: str) -> str:
        """The full URL of an API path (``jobs/1``) or of a root path (``/dashboard_build_results``)."""
        return self.base_url + (path if path.startswith("/") else API_BASE + path)

    def get(self, path: str, params: Params = None) -> t.Any:
        return self.request("GET", path, params)

    def post(self, path: str, params: Params = None) -> t.Any:
        return self.request("POST", path, params)

    def delete(self, path: str, params: Params = None) -> t.Any:
        return self.request("DELETE", path, params)

    def request(self, method: str, path: str, params: Params = None) -> t.Any:
        if self.check_mode and method in MUTATING_METHODS:
            raise OpenQAError("internal error: %s %s attempted in check mode; nothing was sent" % (method, path))
        pairs = param_pairs(params)
        give_up_at = time.monotonic() + self.deadline
        attempt = 0
        while True:
            attempt += 1
            remaining = give_up_at - time.monotonic()
            try:
                response, body = self._send_once(method, path, pairs, remaining)
            except requests.exceptions.RequestException as exc:
                if method in MUTATING_METHODS and not _never_sent(exc):
                    raise self._transport_error(exc, method, path)
                wait = self._backoff(attempt)
                # a certificate that failed verification fails the same way on a retry
                if _unresolvable(exc) or isinstance(exc, requests.exceptions.SSLError) \
                        or not self._may_retry(attempt, wait, give_up_at):
                    raise self._transport_error(exc, method, path)
                self._note_retry(method, path, type(exc).__name__, attempt, wait)
            else:
                if response.status_code in RETRY_STATUSES and method not in MUTATING_METHODS:
                    wait = _retry_after(response)
                    wait = self._backoff(attempt) if wait is None else wait
                    if self._may_retry(attempt, wait, give_up_at):
                        self._note_retry(method, path, "HTTP %d" % response.status_code, attempt, wait)
                        time.sleep(wait)
                        continue
                return self._decode(response, body, method, path)
            time.sleep(wait)

    def _send_once(self, method: str, path: str, pairs: list, remaining: float) -> t.Tuple[t.Any, bytes]:
        url = self.url(path)
        headers = {}
        query = canonical_query(pairs) if method == "GET" else ""
        signed_path = url[len(self.base_url):] + ("?" + query if query else "")
        if self.has_credentials:
            timestamp = str(int(time.time()))
            headers["X-API-Key"] = self._key
            headers["X-API-Microtime"] = timestamp
            headers["X-API-Hash"] = sign(self._secret, signed_path, timestamp)
        # neither phase may outlast the overall deadline
        timeout = (max(0.1, min(self.connect_timeout, remaining)), max(0.1, min(self.read_timeout, remaining)))
        self.request_count += 1
        # Redirects are not followed: the signature would go along to wherever the Location points
        # (openQA signs no host), a 307 would re-send the body and a 302 turn a POST into a GET.
        # verify is given per request: requests lets REQUESTS_CA_BUNDLE override the session's.
        kwargs = {"headers": headers, "timeout": timeout, "allow_redirects": False, "verify": self._verify,
                  "stream": True}
        with _Watchdog(remaining) as watchdog:
            try:
                if method == "GET":
                    response = self._session.request(method, url + ("?" + query if query else ""), **kwargs)
                else:
                    response = self._session.request(method, url, data=pairs, **kwargs)
                return response, self._read_body(response, method, path)
            except requests.exceptions.RequestException as exc:
                if not watchdog.fired:
                    raise
                sent = "; the request may have reached the server" if method in MUTATING_METHODS else ""
                raise UnreachableError("%s %s: no complete answer from %s within the deadline of %.0f s (the "
                                       "server answers too slowly: %s)%s"
                                       % (method, path, self.base_url, self.deadline, _reason(exc), sent))

    def _read_body(self, response: t.Any, method: str, path: str) -> bytes:
        """The decoded body, counted while it arrives: a gzip bomb or an endless stream stops at the cap."""
        if getattr(response, "raw", None) is None:  # an answer made in memory (a test's stand-in transport)
            return response.content
        limit = self.max_answer_mb * 1024 * 1024
        chunks, size = [], 0
        for chunk in response.iter_content(_CHUNK):
            size += len(chunk)
            if size > limit:
                response.close()
                raise ServerError("%s %s: the answer from %s is larger than %d MB (max_answer_mb); raise "
                                  "max_answer_mb if the server is right to send that much"
                                  % (method, path, self.base_url, self.max_answer_mb))
            chunks.append(chunk)
        return b"".join(chunks)

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter: 0.5 s, 1 s, 2 s, ... capped at 10 s."""
        return random.uniform(0, min(10.0, 0.5 * 2 ** (attempt - 1)))

    def _may_retry(self, attempt: int, wait: float, give_up_at: float) -> bool:
        return attempt <= self.retries and time.monotonic() + wait < give_up_at

    def _note_retry(self, method: str, path: str, cause: str, attempt: int, wait: float) -> None:
        if self.on_retry:
            self.on_retry("%s %s failed (%s); retry %d of %d in %.1f s"
                          % (method, path, cause, attempt, self.retries, wait))

    def _transport_error(self, exc: Exception, method: str, path: str) -> OpenQAError:
        if isinstance(exc, requests.exceptions.SSLError):
            return UnreachableError(
                "TLS verification failed for %s: %s; install the CA and point ca_path at it "
                "(validate_certs=false only if you trust the network)" % (self.base_url, _snippet(str(exc))))
        if isinstance(exc, requests.exceptions.Timeout) and not _never_sent(exc):
            return UnreachableError("%s %s: no answer from %s within %.0f s (read timeout or deadline)"
                                    % (method, path, self.base_url, self.read_timeout))
        if isinstance(exc, requests.exceptions.InvalidURL):
            return InvalidInputError("invalid host URL %s: %s" % (self.base_url, _snippet(str(exc))))
        if _unresolvable(exc):
            return UnreachableError("unknown remote host: the host name in %s does not resolve; check host"
                                    % self.base_url)
        sent = "" if _never_sent(exc) else "; the request may have reached the server"
        return UnreachableError("unknown remote host: cannot reach %s (%s)%s"
                                % (self.base_url, _reason(exc), sent))

    def _decode(self, response: t.Any, raw: bytes, method: str, path: str) -> t.Any:
        code = response.status_code
        if 300 <= code < 400:
            raise InvalidInputError(
                "%s %s: %s answered HTTP %d, a redirect to %s; openQA's API does not redirect and the signed "
                "request is not sent on: set host to the URL openQA serves (https instead of http, the right "
                "name or path prefix)" % (method, path, self.base_url, code,
                                          _snippet(display_url(response.headers.get("Location") or "nowhere"))))
        content_type = response.headers.get("Content-Type", "")
        text = _as_text(raw, getattr(response, "encoding", None))
        body: t.Any = None
        if "json" in content_type and raw.strip():
            try:
                body = json.loads(raw)
            except (ValueError, RecursionError):
                raise ServerError("%s %s: %s sent broken JSON (HTTP %d): %s"
                                  % (method, path, self.base_url, code, _snippet(text)))
        if 200 <= code < 300:
            if body is None:
                raise ServerError(
                    "%s %s: %s answered HTTP %d with %s instead of JSON: is it an openQA server? (%s)"
                    % (method, path, self.base_url, code, content_type or "no content type", _snippet(text)))
            return body
        raise self._http_error(response, body, raw, text, method, path)

    def _http_error(self, response: t.Any, body: t.Any, raw: bytes, text: str, method: str,
                    path: str) -> OpenQAError:
        code = response.status_code
        if isinstance(body, dict) and body.get("error"):
            error = str(body["error"]).strip()
            if len(error) > MAX_ERROR_TEXT:
                error = "%s... (%d characters cut)" % (error[:MAX_ERROR_TEXT], len(error) - MAX_ERROR_TEXT)
        elif "html" in response.headers.get("Content-Type", "") and text.lstrip().startswith("<"):
            # openQA labels its plain-text errors text/html too; only a real page is summarised
            error = "an HTML page of %d bytes" % len(raw)
        else:
            error = _snippet(text) or response.reason or ""
        where = "%s %s" % (method, path)
        if code == 404:
            return NotFoundError("%s: not found (%s)" % (where, error or "HTTP 404"))
        if code in (401, 403):
            return AuthError(_auth_message(error or "HTTP %d" % code))
        if code == 400:
            return InvalidInputError("%s: the server rejected the parameters: %s" % (where, error))
        return ServerError("%s: HTTP %d from %s: %s" % (where, code, self.base_url, error))
