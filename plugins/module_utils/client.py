# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTTP client: one requests session, HMAC signing, timeouts, retries, typed errors.

The public face of three private parts: _signing (the canonical query and the hash), _transport (what may be
retried, the deadline watchdog, transport errors) and _answers (JSON or the typed error of an answer).
"""

from __future__ import annotations

import importlib.util
import io
import random
import time
import typing as t
import urllib.parse

from ansible_collections.openqa.client.plugins.module_utils.config import DEFAULT_MAX_ANSWER_MB

from ansible_collections.openqa.client.plugins.module_utils.envelope import (
    AuthError,
    InvalidInputError,
    NotFoundError,
    OpenQAError,
    ServerError,
    UnreachableError,
)
from ansible_collections.openqa.client.plugins.module_utils._answers import (
    API_BASE,
    AnswerTooLarge,
    as_text,
    decode_answer,
)
from ansible_collections.openqa.client.plugins.module_utils._signing import (
    Params,
    canonical_query,
    param_pairs,
    sign,
    wire_path,
)
from ansible_collections.openqa.client.plugins.module_utils._transport import (
    CHUNK,
    Watchdog,
    never_sent,
    reason,
    retry_after,
    transport_error,
    unresolvable,
    watched_adapter,
)

# requests is imported when the first client is built, not with this module: help, --version and
# input errors answer without paying for it (it is most of a call's start-up time)
HAS_REQUESTS = importlib.util.find_spec("requests") is not None

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
MUTATING_METHODS = frozenset({"POST", "PUT", "DELETE"})


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


# What a server offers beyond openQA 4.6, probed once per process and host: {(base_url, feature): bool}.
_FEATURES: t.Dict[t.Tuple[str, str], bool] = {}
# The API routes a server lists (GET /api/v1/routes), per process and host: {base_url: routes}.
_ROUTES: t.Dict[str, t.FrozenSet[str]] = {}


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
            session.mount("http://", watched_adapter())
            session.mount("https://", watched_adapter())
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
                if method in MUTATING_METHODS and not never_sent(exc):
                    raise self._transport_error(exc, method, path) from None
                wait = self._backoff(attempt)
                # a certificate that failed verification (or a plain-http answer) fails the same way on a retry
                if unresolvable(exc) or isinstance(exc, requests.exceptions.SSLError) \
                        or not self._may_retry(attempt, wait, give_up_at):
                    raise self._transport_error(exc, method, path) from None
                self._note_retry(method, path, type(exc).__name__, attempt, wait)
            else:
                if response.status_code in RETRY_STATUSES and method not in MUTATING_METHODS:
                    after = retry_after(response)
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
        signed_path = wire_path(url) + ("?" + query if query else "")
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

        with Watchdog(remaining) as watchdog:
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
        cause = " (the server answers too slowly: %s)" % reason(exc) if exc else " (the server answers too slowly)"
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
            chunks = response.iter_content(CHUNK)
        import requests

        size = 0
        with Watchdog(give_up_at - time.monotonic()) as watchdog:
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
        return transport_error(exc, method, path, self.base_url, self.read_timeout)

    def answer_text(self, response: t.Any) -> str:
        """The body of an answer that send() read, as text."""
        return as_text(getattr(response, "openqa_body", None) or b"", getattr(response, "encoding", None))

    def decode(self, response: t.Any, method: str, path: str) -> t.Any:
        """The JSON of an answer, or the typed error for a failed, redirected or non-JSON one."""
        return decode_answer(response, method, path, self.base_url, lambda: self._read_body(response, method, path))
