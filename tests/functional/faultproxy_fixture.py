"""The ``proxy`` fixture: a FaultProxy (tests/faultproxy.py) in front of the test openQA, and helpers
the reliability tests share. Imported by the test files (conftest.py is not ours to extend)."""

from __future__ import annotations

import importlib.util
import sys
import typing as t
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[1] / "faultproxy.py"
_SPEC = importlib.util.spec_from_file_location("faultproxy", _PATH)
faultproxy = importlib.util.module_from_spec(_SPEC)
sys.modules["faultproxy"] = faultproxy
_SPEC.loader.exec_module(faultproxy)

Fault = faultproxy.Fault
FaultProxy = faultproxy.FaultProxy


@pytest.fixture
def proxy(server: t.Any) -> t.Iterator[t.Any]:
    """A fresh proxy per test: its faults and records never leak between tests."""
    with FaultProxy(server.url, lifetime=300) as running:
        yield running


class KeyRecorder(FaultProxy):
    """A pass-through proxy that notes the X-API-Key of every request it forwards."""

    def __init__(self, upstream: str) -> None:
        self.keys: t.List[t.Optional[str]] = []
        super().__init__(upstream, lifetime=300)

    def forward(self, method: str, path: str, headers: t.Mapping[str, str], body: bytes) -> t.Any:
        self.keys.append({k.lower(): v for k, v in headers.items()}.get("x-api-key"))
        return super().forward(method, path, headers, body)
