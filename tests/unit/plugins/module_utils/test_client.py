"""Canonical query and signing, and the retry rules, with a stub transport for faults only."""

from __future__ import annotations

import hashlib
import hmac

import pytest
import requests

from ansible_collections.openqa.client.plugins.module_utils import client as client_module
from ansible_collections.openqa.client.plugins.module_utils.client import (
    OpenQAClient,
)
from ansible_collections.openqa.client.plugins.module_utils._signing import (
    canonical_query,
    encode_component,
    param_pairs,
)
from ansible_collections.openqa.client.plugins.module_utils.envelope import (
    AuthError,
    InvalidInputError,
    NotFoundError,
    OpenQAError,
    ServerError,
    UnreachableError,
)


@pytest.mark.parametrize("raw, encoded", [
    ("a b", "a+b"), ("a+b", "a%2Bb"), ("~", "%7E"), ("*", "*"), ("/:", "%2F%3A"), ("é", "%C3%A9"),
    ("-._", "-._"), ("[]", "%5B%5D"), ("", ""),
])
def test_encode_component_matches_the_server(raw, encoded):
    assert encode_component(raw) == encoded


def test_pairs_keep_order_repeat_lists_and_drop_none():
    assert param_pairs({"jobs": [3, 1], "force": True, "skip": None, "x": False}) == [
        ("jobs", "3"), ("jobs", "1"), ("force", "1"), ("x", "0")]
    assert canonical_query([("b", "2"), ("a", "x y")]) == "b=2&a=x+y"


class _Response:
    def __init__(self, status, body=b'{"ok": 1}', content_type="application/json", headers=None):
        self.status_code = status
        self.content = body
        self.text = body.decode("utf-8", "replace")
        self.headers = dict({"Content-Type": content_type}, **(headers or {}))
        self.ok = 200 <= status < 300
        self.reason = "R"

    def json(self):
        import json
        return json.loads(self.text)


class _Session:
    """Answers from a script; records what was sent."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.sent = []
        self.headers = {}
        self.verify = True

    def request(self, method, url, **kwargs):
        self.sent.append((method, url, kwargs))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    monkeypatch.setattr(client_module.time, "sleep", lambda seconds: None)


def _client(session, **kwargs):
    return OpenQAClient("http://openqa.test", "KEY", "SECRET", session=session, **kwargs)


def _refused():
    from urllib3.exceptions import MaxRetryError, NewConnectionError
    return requests.exceptions.ConnectionError(MaxRetryError(None, "/", NewConnectionError(None, "refused")))


def test_signature_covers_path_and_canonical_query():
    session = _Session(_Response(200))
    _client(session).get("jobs", [("build", "a*b~")])
    method, url, kwargs = session.sent[0]
    headers = kwargs["headers"]
    message = "/api/v1/jobs?build=a*b%7E" + headers["X-API-Microtime"]
    assert headers["X-API-Hash"] == hmac.new(b"SECRET", message.encode(), hashlib.sha1).hexdigest()
    assert url == "http://openqa.test/api/v1/jobs?build=a*b%7E"


def test_post_sends_a_form_body_and_signs_only_the_path():
    session = _Session(_Response(200))
    _client(session).post("jobs/1/cancel", {"reason": "x y"})
    method, url, kwargs = session.sent[0]
    assert (method, url, kwargs["data"]) == ("POST", "http://openqa.test/api/v1/jobs/1/cancel", [("reason", "x y")])
    message = "/api/v1/jobs/1/cancel" + kwargs["headers"]["X-API-Microtime"]
    assert kwargs["headers"]["X-API-Hash"] == hmac.new(b"SECRET", message.encode(), hashlib.sha1).hexdigest()


def test_get_retries_5xx_and_429_honouring_retry_after(monkeypatch):
    waits = []
    monkeypatch.setattr(client_module.time, "sleep", waits.append)
    session = _Session(_Response(503), _Response(429, headers={"Retry-After": "2"}), _Response(200))
    notes = []
    assert _client(session, on_retry=notes.append).get("jobs") == {"ok": 1}
    assert len(session.sent) == 3 and waits[1] == 2.0 and len(notes) == 2


def test_get_gives_up_after_the_retry_budget():
    session = _Session(*[_Response(502)] * 3)
    with pytest.raises(ServerError, match="HTTP 502"):
        _client(session, retries=2).get("jobs")
    assert len(session.sent) == 3


def test_retry_after_beyond_the_deadline_is_not_waited_for():
    session = _Session(_Response(503, headers={"Retry-After": "3600"}))
    with pytest.raises(ServerError):
        _client(session, deadline=10).get("jobs")
    assert len(session.sent) == 1


def test_post_is_not_resent_after_a_502():
    session = _Session(_Response(502), _Response(200))
    with pytest.raises(ServerError):
        _client(session).post("isos", {"BUILD": "1"})
    assert len(session.sent) == 1


def test_post_is_not_resent_after_a_reset():
    session = _Session(requests.exceptions.ConnectionError("Connection reset by peer"), _Response(200))
    with pytest.raises(UnreachableError, match="may have reached"):
        _client(session).post("isos")
    assert len(session.sent) == 1


def test_post_is_resent_when_the_connection_was_refused():
    session = _Session(_refused(), _Response(200))
    assert _client(session).post("isos") == {"ok": 1}
    assert len(session.sent) == 2


@pytest.mark.parametrize("status, body, error, text", [
    (404, b'{"error_status": 404}', NotFoundError, "not found"),
    (403, b'{"error": "unknown error (wrong secret?)"}', AuthError, "check api_secret"),
    (403, b'{"error": "timestamp mismatch - check whether clocks on the local host"}', AuthError, "clock"),
    (403, b'{"error": "api key expired"}', AuthError, "expired"),
    (403, b'{"error": "Administrator level required"}', AuthError, "rights"),
    (400, b'{"error": "Erroneous parameters (limit invalid)"}', InvalidInputError, "limit invalid"),
])
def test_http_errors_are_typed(status, body, error, text):
    with pytest.raises(error, match=text):
        _client(_Session(_Response(status, body))).get("jobs")


def test_html_and_garbage_are_server_errors_with_short_messages():
    page = b"<html>" + b"x" * 65000 + b"</html>"
    with pytest.raises(ServerError) as caught:
        _client(_Session(_Response(200, page, "text/html"))).get("jobs")
    assert "is it an openQA server" in caught.value.message and len(caught.value.message) < 400
    with pytest.raises(ServerError, match="broken JSON"):
        _client(_Session(_Response(200, b'{"jobs": [', "application/json"))).get("jobs")
    with pytest.raises(ServerError, match="HTML page of"):
        _client(_Session(_Response(500, page, "text/html")), retries=0).get("jobs")


def test_check_mode_refuses_to_send_mutations():
    session = _Session()
    with pytest.raises(OpenQAError, match="check mode"):
        _client(session, check_mode=True).post("jobs/1/restart")
    assert session.sent == []


def test_the_secret_is_not_in_repr():
    assert "SECRET" not in repr(_client(_Session()))
