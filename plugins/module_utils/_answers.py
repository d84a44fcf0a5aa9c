# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to this collection: no API promise, it may change in any release.
"""Reading openQA's answers: JSON or the typed error for a redirect, a non-JSON body, a 4xx or 5xx; error texts
cut to a size a person reads."""

from __future__ import annotations

import json
import typing as t
import urllib.parse

from ansible_collections.openqa.client.plugins.module_utils.config import display_url
from ansible_collections.openqa.client.plugins.module_utils.envelope import (
    AuthError,
    InvalidInputError,
    NotFoundError,
    OpenQAError,
    ServerError,
)


API_BASE = "/api/v1/"


_SNIPPET = 200


# A server's error text longer than this is cut: a message is for people, not a transport for megabytes.
MAX_ERROR_TEXT = 1000


def snippet(text: str) -> str:
    text = " ".join(text[:_SNIPPET * 4].split())  # cut first: the text may be a whole answer of many MB
    return text if len(text) <= _SNIPPET else text[:_SNIPPET] + "..."


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


def as_text(raw: bytes, encoding: t.Optional[str]) -> str:
    try:
        return raw.decode(encoding or "utf-8", "replace")
    except LookupError:  # a charset no codec knows
        return raw.decode("utf-8", "replace")


class AnswerTooLarge(ServerError):
    """An answer that grew past its size cap while it arrived; ``size`` is what had arrived by then."""

    def __init__(self, message: str, size: int) -> None:
        super().__init__(message)
        self.size = size


def decode_answer(response: t.Any, method: str, path: str, base_url: str, read_body: t.Callable[[], bytes]) -> t.Any:
    """The JSON of an answer, or the typed error for a failed, redirected or non-JSON one."""
    code = response.status_code
    if 300 <= code < 400:
        raise InvalidInputError(
            "%s %s: %s answered HTTP %d, a redirect to %s; openQA's API does not redirect and the signed "
            "request is not sent on: set host to the URL openQA serves (https instead of http, the right "
            "name or path prefix)" % (method, path, base_url, code,
                                      snippet(display_url(response.headers.get("Location") or "nowhere"))))
    raw = getattr(response, "openqa_body", None)
    if raw is None:  # a streamed answer its caller did not read
        raw = read_body()
    content_type = response.headers.get("Content-Type", "")
    if 200 <= code < 300 and "json" in content_type and raw.strip():
        text = _json_text(response, raw, method, path, base_url)
        # the bytes go before the text is parsed: a large answer is held as text and objects, never also
        # as bytes (with them and a text copy for messages it peaked at four times its size)
        response.openqa_body = b""
        del raw
        return _parsed(text, code, method, path, base_url)
    text = as_text(raw, getattr(response, "encoding", None))
    body: t.Any = None
    if "json" in content_type and raw.strip():
        body = _parsed(_json_text(response, raw, method, path, base_url), code, method, path, base_url)
    if 200 <= code < 300:
        if body is None:
            raise ServerError(
                "%s %s: %s answered HTTP %d with %s instead of JSON: is it an openQA server? (%s)"
                % (method, path, base_url, code, content_type or "no content type", snippet(text)))
        return body
    raise _http_error(response, body, raw, text, method, path, base_url)


def _json_text(response: t.Any, raw: bytes, method: str, path: str, base_url: str) -> str:
    """The text of a JSON answer in the encoding JSON allows (UTF-8, -16 or -32, as json.loads detects)."""
    try:
        return raw.decode(json.detect_encoding(raw), "surrogatepass")
    except UnicodeDecodeError:
        raise ServerError("%s %s: %s sent broken JSON (HTTP %d, not UTF-8): %s"
                          % (method, path, base_url, response.status_code,
                             snippet(as_text(raw, getattr(response, "encoding", None))))) from None


def _parsed(text: str, code: int, method: str, path: str, base_url: str) -> t.Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise ServerError("%s %s: %s sent broken JSON (HTTP %d): %s"
                          % (method, path, base_url, code, snippet(text))) from None


def _not_found(where: str, body: t.Any, error: str, base_url: str) -> OpenQAError:
    """openQA's 404 is JSON with error_status; anything else, or a host ending in the API path the
    client adds itself, means the URL is not an openQA API, not that the object is unknown."""
    doubled = urllib.parse.urlsplit(base_url).path.rstrip("/").endswith(API_BASE.rstrip("/"))
    if doubled or not (isinstance(body, dict) and "error_status" in body):
        hint = ("remove the trailing %s from host (the client adds it)" % API_BASE.rstrip("/") if doubled
                else "host must be the openQA web UI's base URL, e.g. https://openqa.opensuse.org")
        return ServerError("%s: this does not look like an openQA API at %s (HTTP 404: %s); %s"
                           % (where, base_url, error or "no body", hint))
    return NotFoundError("%s: not found (%s)" % (where, error or "HTTP 404"))


def _http_error(response: t.Any, body: t.Any, raw: bytes, text: str, method: str, path: str,
                base_url: str) -> OpenQAError:
    code = response.status_code
    if isinstance(body, dict) and body.get("error"):
        error = str(body["error"]).strip()
        if len(error) > MAX_ERROR_TEXT:
            error = "%s... (%d characters cut)" % (error[:MAX_ERROR_TEXT], len(error) - MAX_ERROR_TEXT)
    elif "html" in response.headers.get("Content-Type", "") and text.lstrip().startswith("<"):
        # openQA labels its plain-text errors text/html too; only a real page is summarised
        error = "an HTML page of %d bytes" % len(raw)
    else:
        error = snippet(text) or response.reason or ""
    where = "%s %s" % (method, path)
    if code == 404:
        return _not_found(where, body, error, base_url)
    if code in (401, 403):
        return AuthError(_auth_message(error or "HTTP %d" % code))
    if code == 400:
        return InvalidInputError("%s: the server rejected the parameters: %s" % (where, error))
    return ServerError("%s: HTTP %d from %s: %s" % (where, code, base_url, error))
