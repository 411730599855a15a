"""The real client on the paid path: ocean.js 8.0.0 orders, pays through Escrow, gets results."""

from __future__ import annotations

from pathlib import Path

from devkit.launch import ServerProcess
from tests.chain.market import UNIT, Market, oceanjs_paid_job


def test_oceanjs_paid_compute_flow(
    market: Market, paid_server: ServerProcess, chain_home: Path
) -> None:
    summary = oceanjs_paid_job(market, chain_home / "chain" / "addresses.json")
    assert summary["ok"] is True
    # Wei as a decimal string (Ocean Node's form), which ocean.js converts to 3.2 tokens.
    assert summary["payment"]["amount"] == str(32 * UNIT // 10)
    assert summary["amountInUnits"] == "3.2"
    assert summary["resultBytes"] > 0
    # One started minute claimed (1.6); the rest of the 3.2 deposit is available again.
    assert int(summary["escrowLocked"]) == 0
    assert int(summary["escrowAvailable"]) == int(1.6 * UNIT)
