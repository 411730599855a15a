"""initializeCompute while the chain cannot be read: a 503 saying so, not a request to pay again."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from eth_account import Account

from provider.errors import ServiceUnavailable
from provider.payments import chain_gate
from provider.payments.chain_gate import ChainPayments
from provider.payments.inputs import PaidInput


def _gate() -> ChainPayments:
    # Only what _order_entry reads before it reaches the chain; no chain client is built.
    gate = ChainPayments.__new__(ChainPayments)
    gate._account = Account.create()
    gate._client = SimpleNamespace(chain_id=8996)
    gate._clock = lambda: 1_800_000_000.0
    return gate


def test_an_unreadable_chain_is_503_not_an_invalid_order(monkeypatch: pytest.MonkeyPatch) -> None:
    def chain_down(*_: Any, **__: Any) -> None:
        raise ServiceUnavailable("the chain cannot be read now: connection refused")

    monkeypatch.setattr(chain_gate, "read_order", chain_down)
    item = PaidInput(
        label="datasets[0]",
        did="did:op:" + "ab" * 32,
        chain_id=8996,
        datatoken="0x" + "cd" * 20,
        service_id="compute",
        service_index=0,
        service_timeout=0,
        transfer_tx="0x" + "ef" * 32,
    )
    request = SimpleNamespace(consumer_address="0x" + "12" * 20)
    environment = SimpleNamespace(id="paid")
    terms = SimpleNamespace(chain_id=8996)
    with pytest.raises(ServiceUnavailable, match="cannot be read"):
        _gate()._order_entry(item, request, environment, terms)  # type: ignore[arg-type]
