"""The real client on the paid path: ocean.js 8.0.0 orders, pays through Escrow, gets results."""

from __future__ import annotations

from pathlib import Path

from devkit.launch import ServerProcess
from tests.chain.market import UNIT, Market
from tests.e2e.oceanjs import run_oceanjs


def test_oceanjs_paid_compute_flow(
    market: Market, paid_server: ServerProcess, chain_home: Path
) -> None:
    algorithm = market.algorithm()
    dataset = market.dataset(market.trusting(algorithm))
    consumer = market.new_consumer()
    market.give_datatokens(algorithm, consumer.address, 1)
    market.give_datatokens(dataset, consumer.address, 1)
    summary = run_oceanjs(
        "oceanjs_paid.mjs",
        {
            "PROVIDER_URL": paid_server.url,
            "RPC": market.chain.rpc,
            "ADDRESS_FILE": str(chain_home / "chain" / "addresses.json"),
            "CONSUMER_KEY": "0x" + bytes(consumer.key).hex(),
            "ALGO_DID": algorithm.did,
            "ALGO_SERVICE_ID": algorithm.ddo["services"][0]["id"],
            "ALGO_DATATOKEN": algorithm.datatoken,
            "DATASET_DID": dataset.did,
            "DATASET_SERVICE_ID": dataset.ddo["services"][0]["id"],
            "DATASET_DATATOKEN": dataset.datatoken,
        },
    )
    assert summary["ok"] is True
    # Wei as a decimal string (Ocean Node's form), which ocean.js converts to 3.2 tokens.
    assert summary["payment"]["amount"] == str(32 * UNIT // 10)
    assert summary["amountInUnits"] == "3.2"
    assert summary["resultBytes"] > 0
    # One started minute claimed (1.6); the rest of the 3.2 deposit is available again.
    assert int(summary["escrowLocked"]) == 0
    assert int(summary["escrowAvailable"]) == int(1.6 * UNIT)
