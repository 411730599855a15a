"""Signatures are recovered by libsecp256k1 (coincurve), not eth-keys' pure-Python fallback,
which takes milliseconds of CPU per signed request (admission throughput depends on it)."""

from __future__ import annotations

from eth_keys.backends import get_backend
from eth_keys.backends.coincurve import CoinCurveECCBackend


def test_the_c_backend_is_the_one_in_use() -> None:
    assert isinstance(get_backend(), CoinCurveECCBackend)
