"""The real client on the paid path: ocean.js 8.0.0 orders, pays through Escrow, gets results."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from provider.launch import ServerProcess
from tests.chain.market import UNIT, Market

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "tests" / "e2e" / "js" / "oceanjs_paid.mjs"
JS_DIR = REPO / "js"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_oceanjs_paid_compute_flow(
    market: Market, paid_server: ServerProcess, chain_home: Path
) -> None:
    algorithm = market.algorithm()
    dataset = market.dataset(market.trusting(algorithm))
    consumer = market.new_consumer()
    market.give_datatokens(algorithm, consumer.address, 1)
    market.give_datatokens(dataset, consumer.address, 1)
    done = subprocess.run(
        ["node", str(SCRIPT)],
        env={
            **os.environ,
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
            "C2D_JS_DIR": str(JS_DIR),
        },
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["ok"] is True
    assert summary["payment"]["amount"] == 3.2
    assert summary["resultBytes"] > 0
    # One started minute claimed (1.6); the rest of the 3.2 deposit is available again.
    assert int(summary["escrowLocked"]) == 0
    assert int(summary["escrowAvailable"]) == int(1.6 * UNIT)
