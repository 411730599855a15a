"""The real client on an access service: ocean.js 8.0.0 initializes, orders and downloads,
then downloads a byte range of the same order with userdata."""

from __future__ import annotations

from pathlib import Path

from devkit.launch import ServerProcess
from devkit.publish import AssetDraft
from tests.chain.market import Market
from tests.e2e.oceanjs import run_oceanjs


def test_oceanjs_orders_and_downloads_an_access_service(
    market: Market, paid_server: ServerProcess, chain_home: Path
) -> None:
    source = market.files.url("weather.csv")
    asset = market.publish(
        AssetDraft(
            name="weather",
            type="dataset",
            files=[{"type": "url", "url": source, "method": "GET"}],
            service_type="access",
        )
    )
    consumer = market.new_consumer()
    market.give_datatokens(asset, consumer.address, 1)
    summary = run_oceanjs(
        "oceanjs_access.mjs",
        {
            "PROVIDER_URL": paid_server.url,
            "RPC": market.chain.rpc,
            "ADDRESS_FILE": str(chain_home / "chain" / "addresses.json"),
            "CONSUMER_KEY": "0x" + bytes(consumer.key).hex(),
            "DID": asset.did,
            "SERVICE_ID": asset.ddo["services"][0]["id"],
            "DATATOKEN": asset.datatoken,
            "RANGE": "bytes=-25",
        },
    )
    assert summary["ok"] is True, summary
    assert summary["datatoken"] == asset.datatoken
    expected = (market.files.folder / "weather.csv").read_text()  # type: ignore[attr-defined]
    assert summary["text"] == expected
    assert summary["fileInfo"]["contentLength"] == str(len(expected.encode()))
    assert summary["fileInfo"]["checksum"].startswith("sha256:")
    # The consumer's link leads to this provider, never to the file's own address.
    assert summary["downloadUrl"].startswith(paid_server.url + "/api/services/download?")
    assert source not in summary["downloadUrl"]
    # A second download of the same order, with userdata, for the last 25 bytes (the test
    # file server has no ranges: the provider slices what it sends).
    size = len(expected.encode())
    assert summary["ranged"] == {
        "status": 206,
        "contentRange": f"bytes {size - 25}-{size - 1}/{size}",
        "text": expected.encode()[-25:].decode(),
    }
