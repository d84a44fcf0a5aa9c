"""Properties (hypothesis) of the signing canonicalisation and of the CLI parser.

Signing: for any text, encode_component keeps only the characters the server keeps literal
(``A-Z a-z 0-9 * - . _``, ``+`` for space, upper-case ``%XX``) and decodes back to the text;
canonical_query decodes back to the same pairs in the same order. Parser: any argv gives an
envelope or one of our typed errors, never another exception ("internal error").
"""

from __future__ import annotations

import io
import json
import re
import typing as t
from contextlib import redirect_stderr, redirect_stdout
from unittest import mock
from urllib.parse import parse_qsl, unquote_plus

import pytest

hypothesis = pytest.importorskip("hypothesis")  # ansible-test units' venv may not have it
from hypothesis import given, settings  # noqa: E402  pylint: disable=wrong-import-position
from hypothesis import strategies as st  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.openqa.client.cli import openqa_ctl  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.openqa.client.plugins.module_utils._signing import (  # noqa: E402  pylint: disable=wrong-import-position
    canonical_query,
    encode_component,
    sign,
)
from ansible_collections.openqa.client.plugins.module_utils.config import resolve_connection  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.openqa.client.plugins.module_utils.envelope import (  # noqa: E402  pylint: disable=wrong-import-position
    InvalidInputError,
    OpenQAError,
    Result,
    Status,
)
from ansible_collections.openqa.client.plugins.module_utils._runner import (  # noqa: E402  pylint: disable=wrong-import-position
    CONNECTION_NAMES,
    connection_values,
)
from ansible_collections.openqa.client.plugins.module_utils._spec import (  # noqa: E402  pylint: disable=wrong-import-position
    Option,
    parse_duration,
    parse_key_values,
)

ENCODED = re.compile(r"^(?:[A-Za-z0-9*\-._+]|%[0-9A-F]{2})*$")
EXAMPLES = settings(max_examples=300, deadline=None)


# ------------------------------------------------------------------ signing canonicalisation


@EXAMPLES
@given(st.text())
def test_encode_component_keeps_only_allowed_characters_and_decodes_back(text):
    encoded = encode_component(text)
    assert ENCODED.match(encoded), encoded
    assert unquote_plus(encoded) == text


@EXAMPLES
@given(st.lists(st.tuples(st.text(min_size=1), st.text())))
def test_canonical_query_decodes_to_the_same_pairs_in_order(pairs):
    query = canonical_query(pairs)
    assert parse_qsl(query, keep_blank_values=True) == pairs
    assert query == canonical_query(parse_qsl(query, keep_blank_values=True))  # a fixed point


@EXAMPLES
@given(st.text(), st.text(), st.text(alphabet="0123456789.", min_size=1))
def test_signature_is_lowercase_hex_and_depends_on_every_part(secret, path, stamp):
    digest = sign(secret, path, stamp)
    assert re.fullmatch(r"[0-9a-f]{40}", digest)
    assert sign(secret, path + "x", stamp) != digest and sign(secret + "x", path, stamp) != digest


# ------------------------------------------------------------------ option parsing


@EXAMPLES
@given(st.one_of(st.text(), st.integers(), st.floats(), st.booleans(), st.none(),
                 st.lists(st.text(), max_size=3), st.dictionaries(st.text(), st.text(), max_size=2)))
def test_value_parsers_raise_only_invalid_input(value):
    parsers: t.List[t.Callable[[t.Any], t.Any]] = [
        lambda v: parse_duration(v, "since"),
        lambda v: parse_key_values(v, "vars"),
        Option("id", "", type="int", multiple=True).coerce,
        Option("prio", "", type="int", minimum=-(2 ** 31)).coerce,
        Option("force", "", type="bool").coerce,
        Option("state", "", multiple=True, choices=("done", "running")).coerce,
        Option("since", "", type="duration").coerce,
        Option("name", "").coerce,
    ]
    for parse in parsers:
        try:
            parse(value)
        except InvalidInputError as error:
            assert error.status == Status.INVALID_INPUT and error.message


def _validate_only(entry: t.Any, raw: t.Mapping[str, t.Any], **_kwargs: t.Any) -> Result:
    """runner.execute without the network: the validation the real one does before connecting."""
    action = entry.action(raw.get("action"))
    entry.prepare(action, {k: v for k, v in raw.items() if k not in CONNECTION_NAMES})
    resolve_connection(connection_values(raw), environ={})
    return Result()


def _tokens() -> t.List[str]:
    tokens = {"--json-data", "--check", "--pretty", "--", "-"}
    for entry in openqa_ctl.ENTRIES.values():
        tokens.add(entry.name)
        tokens.update(action.name for action in entry.actions)
        for option in entry.options:
            tokens.update(option.flags)
            tokens.update(option.choices)
    tokens.update(["--host", "--retries", "--deadline", "--validate-certs", "--no-validate-certs"])
    return sorted(tokens)


ARGV = st.lists(st.one_of(st.sampled_from(_tokens()), st.text(max_size=12),
                          st.integers(min_value=-5, max_value=2 ** 64).map(str)), max_size=8)


@EXAMPLES
@given(ARGV)
def test_parser_raises_only_typed_errors(argv):
    with mock.patch.object(openqa_ctl, "execute", _validate_only), redirect_stdout(io.StringIO()), \
            redirect_stderr(io.StringIO()):
        try:
            openqa_ctl.run(argv)
        except OpenQAError as error:
            assert error.status in (Status.INVALID_INPUT, Status.AMBIGUOUS, Status.NOT_FOUND), error.message
        except SystemExit as done:  # --help/--version (argparse accepts abbreviations such as --v)
            assert done.code == 0


@EXAMPLES
@given(ARGV)
def test_main_always_prints_one_envelope(argv):
    out = io.StringIO()
    with mock.patch.object(openqa_ctl, "execute", _validate_only), redirect_stdout(out), \
            redirect_stderr(io.StringIO()):
        try:
            status = openqa_ctl.main(argv)
        except SystemExit as done:  # --help/--version printed their text, not an envelope
            assert done.code == 0
            return
    envelope = json.loads(out.getvalue())
    assert envelope["invocation"]["status"] == status and status in set(Status)
    assert not envelope["invocation"]["message"].startswith("internal error"), envelope
