"""``python -m bench --index``: how long the asset indexer takes per 10,000 blocks of a chain
(anvil with the Ocean contracts on loopback), empty and holding published assets, beside the
bare ``eth_getLogs`` calls over the same ranges."""

from __future__ import annotations

import time
from pathlib import Path

from eth_account import Account
from eth_keys.datatypes import PrivateKey

from bench.figures import Figure
from devkit.anvil import anvil_keys, start_anvil, stop_anvil
from devkit.deploy import deploy_ocean
from devkit.launch import free_port
from devkit.publish import AssetDraft, publish_asset
from provider.assets.encryption import decrypt, encrypt
from provider.chain.block_ranges import block_ranges
from provider.chain.client import ChainClient
from provider.chain.files import ChainFiles, DevChain
from provider.indexer.follower import ChainIndexer
from provider.indexer.store import IndexStore

__all__ = ["measure_index"]

_CHAIN_ID = 31350
_PER = 10_000


def measure_index(work: Path, *, blocks: int, assets: int) -> list[Figure]:
    files = ChainFiles(work / "chain")
    rpc = start_anvil(files, free_port(), chain_id=_CHAIN_ID)
    try:
        chain = deploy_ocean(ChainClient(rpc), anvil_keys(files))
        client = ChainClient(rpc)
        empty_from = _head(client) + 1
        _mine(client, blocks)
        empty = _timed_index(chain, work / "empty.sqlite", empty_from)
        empty_bare = _bare_logs(chain, work / "bare.sqlite", empty_from, _head(client))
        full_from = _head(client) + 1
        _publish_spread(client, chain, blocks, assets)
        full = _timed_index(chain, work / "full.sqlite", full_from)
        full_bare = _bare_logs(chain, work / "bare.sqlite", full_from, _head(client))
    finally:
        stop_anvil(files)
    scale = _PER / blocks
    return [
        Figure(
            "index_empty_s_per_10k_blocks",
            empty * scale,
            "s",
            empty_bare * scale,
            target="(context: public RPCs add their latency per call)",
        ),
        Figure(
            f"index_{assets}_assets_s_per_10k_blocks",
            full * scale,
            "s",
            full_bare * scale,
            target="< 60 s",
        ),
    ]


def _head(client: ChainClient) -> int:
    return int(client.w3.eth.block_number)


def _mine(client: ChainClient, blocks: int) -> None:
    # In batches: anvil answers one request for 10,000 blocks slower than the RPC timeout.
    for first, last in block_ranges(1, blocks, 100):
        client.w3.provider.make_request("anvil_mine", [hex(last - first + 1)])  # type: ignore[arg-type]


def _indexer(chain: DevChain, db: Path, start: int) -> ChainIndexer:
    key = Account.create()
    return ChainIndexer(
        ChainClient(chain.rpc),
        IndexStore(db),
        factory=chain.address("ERC721Factory"),
        start_block=start,
        decrypt=lambda data: decrypt(bytes(key.key), data),
    )


def _timed_index(chain: DevChain, db: Path, start: int) -> float:
    indexer = _indexer(chain, db, start)
    began = time.perf_counter()
    indexer.catch_up()
    return time.perf_counter() - began


def _bare_logs(chain: DevChain, db: Path, start: int, end: int) -> float:
    """The floor: the indexer's eth_getLogs requests alone, nothing done with their answers."""
    indexer = _indexer(chain, db, start)
    client = ChainClient(chain.rpc)
    began = time.perf_counter()
    for first, last in block_ranges(start, end):
        client.w3.eth.get_logs(indexer.log_filter(first, last))
    return time.perf_counter() - began


def _publish_spread(client: ChainClient, chain: DevChain, blocks: int, assets: int) -> None:
    """``assets`` assets (two transactions, two blocks, each) spread over ``blocks`` blocks."""
    publisher = Account.from_key(chain.accounts[1].private_key)
    provider = Account.create()
    public = PrivateKey(bytes(provider.key)).public_key.to_bytes()
    gap = max(0, blocks // max(assets, 1) - 2)
    for number in range(assets):
        draft = AssetDraft(
            name=f"bench asset {number}",
            type="dataset",
            files=[{"type": "url", "url": "http://127.0.0.1/data.csv", "method": "GET"}],
        )
        publish_asset(
            client,
            chain,
            publisher,
            draft,
            provider_url="http://127.0.0.1",
            provider_address=provider.address,
            encrypt=lambda data: "0x" + encrypt(public, data).hex(),
        )
        _mine(client, gap)
