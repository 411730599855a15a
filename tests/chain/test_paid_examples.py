"""examples/: the Python and the ocean.js consumer pay for a job on anvil with the Ocean
contracts, as a user runs them (their own process, their own folder)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from devkit.launch import ServerProcess
from tests.chain.market import Market

_EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _run_example(
    argv: list[str], market: Market, server: ServerProcess, chain_home: Path, cwd: Path
) -> str:
    """Its output, once it ran a paid job of a fresh consumer (gas, OCEAN and one datatoken
    of each asset, as a market would sell them) to the end."""
    algorithm = market.algorithm()
    dataset = market.dataset(market.trusting(algorithm))
    consumer = market.new_consumer()
    market.give_datatokens(algorithm, consumer.address, 1)
    market.give_datatokens(dataset, consumer.address, 1)
    env = {
        **os.environ,
        "PROVIDER_URL": server.url,
        "RPC": market.chain.rpc,
        "ADDRESS_FILE": str(chain_home / "chain" / "addresses.json"),
        "CONSUMER_KEY": consumer.key.hex(),
        "ALGO_DID": algorithm.did,
        "DATASET_DID": dataset.did,
    }
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    # It paid: a deposit and an order per asset, each a mined transaction of this consumer.
    for what in ("escrow deposit", "escrow authorize", "startOrder algorithm"):
        found = re.search(rf"^{what}: tx (0x[0-9a-f]{{64}}) gas \d+", output, re.M)
        assert found, (what, output)
        receipt = market.client.w3.eth.get_transaction_receipt(found[1])  # type: ignore[arg-type]
        assert receipt["status"] == 1 and receipt["from"] == consumer.address
    assert "job ended: 70 Job finished" in output
    # The provider claimed its cost: nothing is left locked, the rest is the consumer's again.
    available, locked = market.escrow_funds(consumer.address)
    assert locked == 0 and available > 0
    assert f"escrow after the claim: {available} available, 0 locked (wei)" in output
    return output


def _stats_in(archive: Path) -> bool:
    with tarfile.open(archive) as tar:
        return any(name.endswith("stats.json") for name in tar.getnames())


def test_the_paid_python_consumer(
    market: Market, paid_server: ServerProcess, chain_home: Path, tmp_path: Path
) -> None:
    argv = [sys.executable, str(_EXAMPLES / "paid_job.py")]
    _run_example(argv, market, paid_server, chain_home, tmp_path)
    (archive,) = tmp_path.glob("results-*/outputs.tar")
    assert _stats_in(archive)


@pytest.mark.node
def test_the_paid_oceanjs_consumer(
    market: Market, paid_server: ServerProcess, chain_home: Path, tmp_path: Path
) -> None:
    argv = ["node", str(_EXAMPLES / "paid_job.mjs")]
    _run_example(argv, market, paid_server, chain_home, tmp_path)
    (archive,) = tmp_path.glob("results-*.tar")
    assert _stats_in(archive)
