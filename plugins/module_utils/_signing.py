# -*- coding: utf-8 -*-
# Copyright: openqa.client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to this collection: no API promise, it may change in any release.
"""HMAC signing as openQA checks it: the query string rebuilt the way the server rebuilds it, and the hash."""

from __future__ import annotations

import hashlib
import hmac
import typing as t
import urllib.parse


_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789*-._")


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


def wire_path(url: str) -> str:
    """The path of ``url`` as requests puts it on the wire (percent-encoded, ``%7E`` as ``~``, dot segments
    resolved): openQA checks the signature over the path it receives, so that form is signed, never the one
    before encoding (the query is signed as the server rebuilds it, see canonical_query)."""
    import requests

    prepared = requests.PreparedRequest()
    prepared.prepare_url(url, None)
    return urllib.parse.urlsplit(str(prepared.url)).path
