"""``GET /api/aquarius/assets/ddo/{did}`` on a provider serving the dev chain: an asset as
published, its state changes, unknown and malformed DIDs; the index's progress in /metrics."""

from __future__ import annotations

import re

import httpx

from devkit.launch import ServerProcess
from provider.assets.ddo import did_for
from tests.chain.market import Market

_ROUTE = "/api/aquarius/assets/ddo/"


def test_published_asset_is_served_with_its_state(
    paid_server: ServerProcess, market: Market
) -> None:
    dataset = market.dataset(None)
    answer = httpx.get(paid_server.url + _ROUTE + dataset.did)
    assert answer.status_code == 200, answer.text
    ddo = answer.json()
    assert ddo["id"] == dataset.did
    assert ddo["metadata"]["name"] == "weather"
    # Served as published: the service files stay encrypted for the provider.
    assert ddo["services"][0]["files"] == dataset.ddo["services"][0]["files"]
    assert ddo["nft"]["address"].lower() == dataset.nft.lower()
    assert ddo["nft"]["owner"] == market.publisher.address
    assert ddo["nft"]["state"] == 0
    assert ddo["event"]["tx"] == dataset.tx

    nft = market.client.contract("ERC721Template", dataset.nft)
    market.client.transact(market.publisher, nft.functions.setMetaDataState(3), "revoke")
    revoked = httpx.get(paid_server.url + _ROUTE + dataset.did).json()
    assert revoked["nft"]["state"] == 3
    assert revoked["event"]["tx"] == dataset.tx  # the DDO itself did not change

    metrics = httpx.get(paid_server.url + "/metrics").text
    found = re.search(r'^c2d_index_block\{chain="8996"\} (\S+)$', metrics, re.MULTILINE)
    assert found is not None, metrics
    assert float(found.group(1)) >= int(market.client.w3.eth.block_number)
    assert 'c2d_index_failing{chain="8996"} 0.0' in metrics


def test_unknown_and_malformed_dids(paid_server: ServerProcess, market: Market) -> None:
    unknown = did_for("0x" + "ab" * 20, market.chain.chain_id)
    missing = httpx.get(paid_server.url + _ROUTE + unknown)
    assert missing.status_code == 404
    assert missing.json()["error"] == f"asset {unknown} not found on chain 8996"
    malformed = httpx.get(paid_server.url + _ROUTE + "did:op:123")
    assert malformed.status_code == 400
    assert "malformed DID" in malformed.json()["error"]
    # Past the path's cap (a DID is 71 characters), before the route reads it.
    long = httpx.get(paid_server.url + _ROUTE + "did:op:" + "a" * 200)
    assert long.status_code == 400
    assert "at most 100 characters" in long.json()["error"], long.text
