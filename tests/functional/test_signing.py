"""HMAC signing accepted by the real server for awkward query values.

Public GETs are not checked, so these sign GET isos/N, which needs an operator: the server
verifies the signature over its own re-serialisation of the query (extra parameters are
ignored by the route), so a 200 proves our canonical query and a wrong one gives 403.
"""

from __future__ import annotations

import pytest

from ansible_collections.openqa.client.plugins.module_utils.client import OpenQAClient
from ansible_collections.openqa.client.plugins.module_utils.envelope import AuthError

AWKWARD = [
    "with space", "plus+sign", "tilde~", "star*", "slash/", "colon:", "unicodé ✓", "percent%25",
    "amp&eq=", "quote'\"", "brackets[]()", "comma,semi;", "at@dollar$", "hash#", "question?", "",
]


@pytest.fixture
def signed(server):
    return OpenQAClient(server.url, server.keys["admin"]["key"], server.keys["admin"]["secret"], retries=0)


@pytest.fixture
def product_path(server):
    return "isos/%d" % server.fixture["scheduled_product_ids"][0]


@pytest.mark.parametrize("value", AWKWARD)
def test_awkward_value_is_accepted(signed, product_path, value):
    assert signed.get(product_path, [("awkward", value)])["id"]


def test_repeated_keys_keep_their_order(signed, product_path):
    assert signed.get(product_path, [("k", "b*"), ("k", "a~"), ("j", "x y"), ("k", "c/")])["id"]


def test_a_wrong_secret_is_rejected_with_a_hint(server, product_path):
    bad = OpenQAClient(server.url, server.keys["admin"]["key"], "wrong", retries=0)
    with pytest.raises(AuthError, match="check api_secret"):
        bad.get(product_path, {"k": "v"})


def test_the_python_clients_star_encoding_would_be_rejected(server, signed, product_path, monkeypatch):
    """Proves the test can fail: signing %2A (as openqa_client does) instead of * gives 403."""
    from ansible_collections.openqa.client.plugins.module_utils import _signing

    monkeypatch.setattr(_signing, "_UNRESERVED", _signing._UNRESERVED - {ord("*")})
    with pytest.raises(AuthError):
        signed.get(product_path, {"k": "a*b"})
