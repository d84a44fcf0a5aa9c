# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTTP client: one requests session, HMAC signing, timeouts, retries, typed errors."""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import io
import json
import random
import socket
import threading
import time
import typing as t
import urllib.parse

from ansible_collections.openqa.client.plugins.module_utils.config import DEFAULT_MAX_ANSWER_MB, display_url

from ansible_collections.openqa.client.plugins.module_utils.envelope import (
    AuthError,
    InvalidInputError,
    NotFoundError,
    OpenQAError,
    ServerError,
    UnreachableError,
)

# requests is imported when the first client is built, not with this module: help, --version and
# input errors answer without paying for it (it is most of a call's start-up time)
HAS_REQUESTS = importlib.util.find_spec("requests") is not None

API_BASE = "/api/v1/"
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
MUTATING_METHODS = frozenset({"POST", "PUT", "DELETE"})
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789*-._")
_SNIPPET = 200
# A server's error text longer than this is cut: a message is for people, not a transport for megabytes.
MAX_ERROR_TEXT = 1000
_CHUNK = 64 * 1024

Params = t.Union[None, t.Mapping[str, t.Any], t.Sequence[t.Tuple[str, t.Any]]]


class Client(t.Protocol):
    """What the verbs use of an openQA client (OpenQAClient, or a test's stand-in): mypy checks them against it."""

    base_url: str
    check_mode: bool
    request_count: int
    retries: int
    deadline: float
    max_answer_mb: int

    def request(self, method: str, path: str, params: Params = None) -> t.Any:
        ...

    def url(self, path: str) -> str:
        ...

    def get(self, path: str, params: Params = None) -> t.Any:
        ...

    def post(self, path: str, params: Params = None) -> t.Any:
        ...

    def delete(self, path: str, params: Params = None) -> t.Any:
        ...

    def send(self, method: str, path: str, params: Params = None, *, body: t.Optional[bytes] = None,
             headers: t.Optional[t.Mapping[str, str]] = None, stream: bool = False,
             give_up_at: t.Optional[float] = None) -> t.Any:
        ...

    def receive(self, response: t.Any, method: str, path: str, sink: t.Callable[[bytes], t.Any], *,
                limit: t.Optional[int] = None, give_up_at: t.Optional[float] = None) -> int:
        ...

    def decode(self, response: t.Any, method: str, path: str) -> t.Any:
        ...

    def answer_text(self, response: t.Any) -> str:
        ...

    def progress(self, message: str) -> None:
        ...

    def supports(self, feature: str, probe: t.Callable[[t.Any], bool]) -> bool:
        ...

    def has_route(self, route: str) -> bool:
        ...

    def for_host(self, base_url: str, api_key: t.Optional[str], api_secret: t.Optional[str]) -> "Client":
        ...


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
    pairs: t.List[t.Tuple[str, str]] = []
    for key, value in items:
        values = value if isinstance(value, (list, tuple)) else [value]
        pairs.extend((key, _text(v)) for v in values if v is not None)
    return pairs


def canonical_query(pairs: t.Sequence[t.Tuple[str, str]]) -> str:
    """The query string exactly as the server rebuilds it to check the signature."""
    return "&".join(encode_component(k) + "=" + encode_component(v) for k, v in pairs)


def sign(secret: str, path_query: str, timestamp: str) -> str:
    return hmac.new(secret.encode("utf-8"), (path_query + timestamp).encode("utf-8"), hashlib.sha1).hexdigest()


def _wire_path(url: str) -> str:
    """The path of ``url`` as requests puts it on the wire (percent-encoded, ``%7E`` as ``~``, dot segments
    resolved): openQA checks the signature over the path it receives, so that form is signed, never the one
    before encoding (the query is signed as the server rebuilds it, see canonical_query)."""
    import requests

    prepared = requests.PreparedRequest()
    prepared.prepare_url(url, None)
    return urllib.parse.urlsplit(str(prepared.url)).path


def _never_sent(exc: Exception) -> bool:
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


def _unresolvable(exc: Exception) -> bool:
    """A host name that does not resolve will not resolve on a retry either."""
    return "NameResolutionError" in repr(exc) or "Name or service not known" in str(exc)


def _plain_http_answer(exc: Exception) -> bool:
    """https:// to a server that speaks plain HTTP on that port: a retry meets the same mismatch."""
    import requests

    return isinstance(exc, requests.exceptions.SSLError) and any(
        marker in str(exc) for marker in ("WRONG_VERSION_NUMBER", "wrong version number", "record layer failure",
                                          "http request", "HTTP_REQUEST"))


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
    text = " ".join(text[:_SNIPPET * 4].split())  # cut first: the text may be a whole answer of many MB
    return text if len(text) <= _SNIPPET else text[:_SNIPPET] + "..."


def _retry_after(response: t.Any) -> t.Optional[float]:
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


_AUTH_HINTS = {
    "no api key": "this action needs credentials: set api_key and api_secret (options, "
                  "OPENQA_API_KEY/OPENQA_API_SECRET, or client.conf)",
    "not authorized": "the server does not know this API key: check api_key",
    "unknown error (wrong secret?)": "the server rejected the signature: check api_secret for this api_key",
    "api key expired": "the API key has expired: create a new one in the openQA web UI",
    # openQA 4.6 refuses a client clock more than 300 s behind; later versions refuse either direction
    # beyond api_hmac_time_tolerance (300 s unless configured) and name both times and the tolerance
    "timestamp mismatch": "the server rejected the request time: this machine's clock differs from "
                          "the server's by more than the server's tolerance (300 s unless configured); "
                          "fix the clock (NTP)",
    "administrator level required": "the API key's user lacks the operator/admin rights this action needs",
    "operator level required": "the API key's user lacks the operator rights this action needs",
}


def _auth_message(error: str) -> str:
    lowered = error.lower()
    for prefix, hint in _AUTH_HINTS.items():
        if lowered.startswith(prefix):
            # the whole text: newer servers put server time, client time and tolerance after " - "
            return "authentication failed (%s): %s" % (error, hint)
    return "authentication failed: %s" % error


# What a server offers beyond openQA 4.6, probed once per process and host: {(base_url, feature): bool}.
_FEATURES: t.Dict[t.Tuple[str, str], bool] = {}
# The API routes a server lists (GET /api/v1/routes), per process and host: {base_url: routes}.
_ROUTES: t.Dict[str, t.FrozenSet[str]] = {}


def _as_text(raw: bytes, encoding: t.Optional[str]) -> str:
    try:
        return raw.decode(encoding or "utf-8", "replace")
    except LookupError:  # a charset no codec knows
        return raw.decode("utf-8", "replace")


class AnswerTooLarge(ServerError):
    """An answer that grew past its size cap while it arrived; ``size`` is what had arrived by then."""

    def __init__(self, message: str, size: int) -> None:
        super().__init__(message)
        self.size = size


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
    class Watched(pool_class):
        def _get_conn(self, timeout: t.Optional[float] = None) -> t.Any:
            connection = super()._get_conn(timeout)
            watchdog = getattr(_IN_FLIGHT, "watchdog", None)
            if watchdog is not None:
                watchdog.connection = connection
            return connection
    return Watched


_ADAPTER_CLASS: t.List[t.Any] = []


def _watched_adapter() -> t.Any:
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
        unsigned_refusal: str = "",
    ) -> None:
        parts = urllib.parse.urlsplit(base_url.rstrip("/"))
        # user:password@ in the host URL goes to a reverse proxy as basic auth and nowhere else
        self.base_url = urllib.parse.urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[-1], parts.path, "", ""))
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
        # credentials exist but belong to another instance (config.Connection.withheld): a change this
        # client cannot sign fails with status 5 before it is sent, reads go anonymously
        self._unsigned_refusal = unsigned_refusal
        if session is None:
            import requests

            session = requests.Session()
            session.mount("http://", _watched_adapter())
            session.mount("https://", _watched_adapter())
        self._session = session
        self._session.verify = verify
        if parts.username is not None:
            self._session.auth = (urllib.parse.unquote(parts.username), urllib.parse.unquote(parts.password or ""))
        self._session.headers["Accept"] = "application/json"

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

    def supports(self, feature: str, probe: t.Callable[["OpenQAClient"], bool]) -> bool:
        """Whether the server has ``feature``; ``probe`` asks it the first time, the answer is kept for the
        process. Detected from the server's answers, never from a version string."""
        key = (self.base_url, feature)
        if key not in _FEATURES:
            _FEATURES[key] = probe(self)
        return _FEATURES[key]

    def has_route(self, route: str) -> bool:
        """Whether ``GET /api/v1/routes`` (public; not in 4.6) lists ``route`` as openQA writes it
        (``/api/v1/job_groups/<group_id:num>/build_results``); one request per process and host."""
        if self.base_url not in _ROUTES:
            try:
                answer = self.get("routes")
            except (NotFoundError, InvalidInputError, ServerError):
                answer = {}
            listed = answer.get("routes") if isinstance(answer, dict) else None
            _ROUTES[self.base_url] = frozenset(
                str(entry.get("path")) for entry in listed or [] if isinstance(entry, dict))
        return route in _ROUTES[self.base_url]

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
        return self.decode(self.send(method, path, params), method, path)

    def send(self, method: str, path: str, params: Params = None, *, body: t.Optional[bytes] = None,
             headers: t.Optional[t.Mapping[str, str]] = None, stream: bool = False,
             give_up_at: t.Optional[float] = None) -> t.Any:
        """One signed request with retries and the deadline; the raw response, for callers that
        decode it themselves (the raw ``api`` call, file downloads). With a ``body`` the params
        go into the query string. ``give_up_at`` (a ``time.monotonic()`` value) replaces the deadline
        for a caller whose budget spans several requests (a download and its resumptions). A ``stream``
        answer comes back with its body unread: read it with ``receive``, which keeps the same bounds."""
        import requests

        if self.check_mode and method in MUTATING_METHODS:
            raise OpenQAError("internal error: %s %s attempted in check mode; nothing was sent" % (method, path))
        if "?" in path or "#" in path:  # the query would be signed apart from it, or cut off as a fragment
            raise InvalidInputError("%s %s: a path holds no '?' or '#': give the parameters as params (KEY=VALUE)"
                                    % (method, path))
        if method in MUTATING_METHODS and self._unsigned_refusal and not self.has_credentials:
            raise AuthError("%s %s not sent: %s" % (method, path, self._unsigned_refusal))
        pairs = param_pairs(params)
        if give_up_at is None:
            give_up_at = time.monotonic() + self.deadline
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._send_once(method, path, pairs, give_up_at, body, headers, stream)
            except requests.exceptions.RequestException as exc:
                if method in MUTATING_METHODS and not _never_sent(exc):
                    raise self._transport_error(exc, method, path) from None
                wait = self._backoff(attempt)
                # a certificate that failed verification (or a plain-http answer) fails the same way on a retry
                if _unresolvable(exc) or isinstance(exc, requests.exceptions.SSLError) \
                        or not self._may_retry(attempt, wait, give_up_at):
                    raise self._transport_error(exc, method, path) from None
                self._note_retry(method, path, type(exc).__name__, attempt, wait)
            else:
                if response.status_code in RETRY_STATUSES and method not in MUTATING_METHODS:
                    after = _retry_after(response)
                    wait = self._backoff(attempt) if after is None else after
                    if self._may_retry(attempt, wait, give_up_at):
                        self._note_retry(method, path, "HTTP %d" % response.status_code, attempt, wait)
                        if stream:  # an unread streamed body holds its connection
                            response.close()
                        time.sleep(wait)
                        continue
                return response
            time.sleep(wait)

    def _send_once(self, method: str, path: str, pairs: list, give_up_at: float, body: t.Optional[bytes] = None,
                   extra_headers: t.Optional[t.Mapping[str, str]] = None, stream: bool = False) -> t.Any:
        url = self.url(path)
        headers = dict(extra_headers or {})
        query = canonical_query(pairs) if method == "GET" or body is not None else ""
        # the URL's whole path: under a path prefix (https://host/openqa/) openQA signs it too
        signed_path = _wire_path(url) + ("?" + query if query else "")
        if self._key and self._secret:
            timestamp = str(int(time.time()))
            headers["X-API-Key"] = self._key
            headers["X-API-Microtime"] = timestamp
            headers["X-API-Hash"] = sign(self._secret, signed_path, timestamp)
        # neither phase may outlast the overall deadline
        remaining = give_up_at - time.monotonic()
        timeout = (max(0.1, min(self.connect_timeout, remaining)), max(0.1, min(self.read_timeout, remaining)))
        self.request_count += 1
        # Redirects are not followed: the signature would go along to wherever the Location points
        # (openQA signs no host), a 307 would re-send the body and a 302 turn a POST into a GET.
        # verify is given per request: requests lets REQUESTS_CA_BUNDLE override the session's.
        kwargs = {"headers": headers, "timeout": timeout, "allow_redirects": False, "verify": self._verify,
                  "stream": True}
        import requests

        with _Watchdog(remaining) as watchdog:
            try:
                if query:
                    response = self._session.request(method, url + "?" + query, data=body, **kwargs)
                else:
                    response = self._session.request(method, url, data=body if body is not None else pairs,
                                                     **kwargs)
            except requests.exceptions.RequestException as exc:
                if not watchdog.fired:
                    raise
                raise self._past_deadline(method, path, exc) from None
        if not stream:
            response.openqa_body = self._read_body(response, method, path, give_up_at)
        return response

    def _past_deadline(self, method: str, path: str, exc: t.Optional[Exception]) -> UnreachableError:
        sent = "; the request may have reached the server" if method in MUTATING_METHODS else ""
        cause = " (the server answers too slowly: %s)" % _reason(exc) if exc else " (the server answers too slowly)"
        return UnreachableError("%s %s: no complete answer from %s within the deadline of %.0f s%s%s"
                                % (method, path, self.base_url, self.deadline, cause, sent))

    def receive(self, response: t.Any, method: str, path: str, sink: t.Callable[[bytes], t.Any], *,
                limit: t.Optional[int] = None, give_up_at: t.Optional[float] = None) -> int:
        """Hand the body of a ``stream`` answer to ``sink`` as it arrives, bounded as every answer is: at most
        ``limit`` bytes (max_answer_mb unless given; counted decoded, so a gzip bomb stops at the cap too) and
        done by ``give_up_at`` (the deadline from now unless given). Returns the byte count; raises
        AnswerTooLarge past the limit (after handing over at most ``limit`` bytes), UnreachableError past the
        deadline, and lets a broken transfer's requests exception through (the caller retries or resumes)."""
        if limit is None:
            limit = self.max_answer_mb * 1024 * 1024
        if give_up_at is None:
            give_up_at = time.monotonic() + self.deadline
        if getattr(response, "raw", None) is None:  # an answer made in memory (a test's stand-in transport)
            chunks: t.Iterable[bytes] = [response.content]
        else:
            chunks = response.iter_content(_CHUNK)
        import requests

        size = 0
        with _Watchdog(give_up_at - time.monotonic()) as watchdog:
            watchdog.connection = getattr(getattr(response, "raw", None), "connection", None)
            try:
                for chunk in chunks:
                    size += len(chunk)
                    if size > limit:
                        response.close()
                        raise AnswerTooLarge("%s %s: the answer from %s is larger than %d MB (max_answer_mb); "
                                             "raise max_answer_mb if the server is right to send that much"
                                             % (method, path, self.base_url, limit >> 20), size)
                    sink(chunk)
            except requests.exceptions.RequestException as exc:
                if not watchdog.fired:
                    raise
                raise self._past_deadline(method, path, exc) from None
            if watchdog.fired:  # a body without a length ends quietly when its connection is shut
                raise self._past_deadline(method, path, None)
        return size

    def _read_body(self, response: t.Any, method: str, path: str, give_up_at: t.Optional[float] = None) -> bytes:
        """The whole decoded body in memory, bounded like every answer (see ``receive``). BytesIO grows in
        place and hands over its buffer, so the body is held once, not once more as a join of its chunks."""
        buffer = io.BytesIO()
        self.receive(response, method, path, buffer.write, give_up_at=give_up_at)
        return buffer.getvalue()

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
        import requests

        if _plain_http_answer(exc):
            return UnreachableError(
                "TLS handshake with %s failed: the server answered in plain HTTP, not TLS (%s); if it serves "
                "only http, use %s" % (self.base_url, _snippet(_reason(exc)),
                                       "http://" + self.base_url.split("://", 1)[-1]))
        if isinstance(exc, requests.exceptions.ContentDecodingError):
            # the answer arrived (newer openQA gzips it) but its body does not inflate
            return ServerError("%s %s: %s sent broken JSON (its compressed body does not decode: %s)"
                               % (method, path, self.base_url, _snippet(str(exc))))
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

    def answer_text(self, response: t.Any) -> str:
        """The body of an answer that send() read, as text."""
        return _as_text(getattr(response, "openqa_body", None) or b"", getattr(response, "encoding", None))

    def decode(self, response: t.Any, method: str, path: str) -> t.Any:
        """The JSON of an answer, or the typed error for a failed, redirected or non-JSON one."""
        code = response.status_code
        if 300 <= code < 400:
            raise InvalidInputError(
                "%s %s: %s answered HTTP %d, a redirect to %s; openQA's API does not redirect and the signed "
                "request is not sent on: set host to the URL openQA serves (https instead of http, the right "
                "name or path prefix)" % (method, path, self.base_url, code,
                                          _snippet(display_url(response.headers.get("Location") or "nowhere"))))
        raw = getattr(response, "openqa_body", None)
        if raw is None:  # a streamed answer its caller did not read
            raw = self._read_body(response, method, path)
        content_type = response.headers.get("Content-Type", "")
        if 200 <= code < 300 and "json" in content_type and raw.strip():
            text = self._json_text(response, raw, method, path)
            # the bytes go before the text is parsed: a large answer is held as text and objects, never also
            # as bytes (with them and a text copy for messages it peaked at four times its size)
            response.openqa_body = b""
            del raw
            return self._parsed(text, code, method, path)
        text = _as_text(raw, getattr(response, "encoding", None))
        body: t.Any = None
        if "json" in content_type and raw.strip():
            body = self._parsed(self._json_text(response, raw, method, path), code, method, path)
        if 200 <= code < 300:
            if body is None:
                raise ServerError(
                    "%s %s: %s answered HTTP %d with %s instead of JSON: is it an openQA server? (%s)"
                    % (method, path, self.base_url, code, content_type or "no content type", _snippet(text)))
            return body
        raise self._http_error(response, body, raw, text, method, path)

    def _json_text(self, response: t.Any, raw: bytes, method: str, path: str) -> str:
        """The text of a JSON answer in the encoding JSON allows (UTF-8, -16 or -32, as json.loads detects)."""
        try:
            return raw.decode(json.detect_encoding(raw), "surrogatepass")
        except UnicodeDecodeError:
            raise ServerError("%s %s: %s sent broken JSON (HTTP %d, not UTF-8): %s"
                              % (method, path, self.base_url, response.status_code,
                                 _snippet(_as_text(raw, getattr(response, "encoding", None))))) from None

    def _parsed(self, text: str, code: int, method: str, path: str) -> t.Any:
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            raise ServerError("%s %s: %s sent broken JSON (HTTP %d): %s"
                              % (method, path, self.base_url, code, _snippet(text))) from None

    def _not_found(self, where: str, body: t.Any, error: str) -> OpenQAError:
        """openQA's 404 is JSON with error_status; anything else, or a host ending in the API path the
        client adds itself, means the URL is not an openQA API, not that the object is unknown."""
        doubled = urllib.parse.urlsplit(self.base_url).path.rstrip("/").endswith(API_BASE.rstrip("/"))
        if doubled or not (isinstance(body, dict) and "error_status" in body):
            hint = ("remove the trailing %s from host (the client adds it)" % API_BASE.rstrip("/") if doubled
                    else "host must be the openQA web UI's base URL, e.g. https://openqa.opensuse.org")
            return ServerError("%s: this does not look like an openQA API at %s (HTTP 404: %s); %s"
                               % (where, self.base_url, error or "no body", hint))
        return NotFoundError("%s: not found (%s)" % (where, error or "HTTP 404"))

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
            return self._not_found(where, body, error)
        if code in (401, 403):
            return AuthError(_auth_message(error or "HTTP %d" % code))
        if code == 400:
            return InvalidInputError("%s: the server rejected the parameters: %s" % (where, error))
        return ServerError("%s: HTTP %d from %s: %s" % (where, code, self.base_url, error))
