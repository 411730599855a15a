"""Access services on the dev chain: initialize, order, download; each refusal by its rule."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import httpx
import pytest
from eth_account.signers.local import LocalAccount

from devkit.client import C2DClient
from devkit.consumer import start_order
from devkit.launch import free_port
from devkit.publish import AssetDraft, Published
from provider.chain.client import ChainClient
from tests.chain.market import Market


def access_asset(market: Market, url: str | None = None, **changes: Any) -> Published:
    files = [{"type": "url", "url": url or market.files.url("weather.csv"), "method": "GET"}]
    draft = AssetDraft(
        name="weather", type="dataset", files=files, service_type="access", **changes
    )
    return market.publish(draft)


def initialize(market: Market, consumer: LocalAccount, asset: Published) -> httpx.Response:
    params = {
        "documentId": asset.did,
        "serviceId": asset.ddo["services"][0]["id"],
        "consumerAddress": consumer.address,
        "fileIndex": 0,
    }
    return httpx.get(f"{market.provider_url}/api/services/initialize", params=params)


def order(market: Market, consumer: LocalAccount, asset: Published) -> str:
    answer = initialize(market, consumer, asset)
    assert answer.status_code == 200, answer.text
    assert answer.json()["datatoken"] == asset.datatoken
    market.give_datatokens(asset, consumer.address, 1)
    return start_order(
        market.client,
        consumer,
        asset.datatoken,
        consumer=consumer.address,
        service_index=0,
        provider_fee=answer.json()["providerFee"],
    )


def download_params(
    market: Market, consumer: LocalAccount, asset: Published, tx: str
) -> dict[str, Any]:
    with C2DClient(market.provider_url, consumer) as c2d:
        signed = c2d.signed("download")
    return {
        "documentId": asset.did,
        "serviceId": asset.ddo["services"][0]["id"],
        "consumerAddress": consumer.address,
        "fileIndex": 0,
        "transferTxId": tx,
        **signed,
    }


def download(market: Market, consumer: LocalAccount, asset: Published, tx: str) -> httpx.Response:
    params = download_params(market, consumer, asset, tx)
    return httpx.get(f"{market.provider_url}/api/services/download", params=params, timeout=60)


@pytest.fixture(scope="module")
def asset(market: Market) -> Published:
    return access_asset(market)


def test_ordered_file_is_downloaded(market: Market, buyer: LocalAccount, asset: Published) -> None:
    tx = order(market, buyer, asset)
    answer = download(market, buyer, asset, tx)
    assert answer.status_code == 200, answer.text
    assert answer.content == (market.files.folder / "weather.csv").read_bytes()  # type: ignore[attr-defined]
    assert "attachment" in answer.headers["content-disposition"]


def test_download_without_an_order_is_refused(
    market: Market, buyer: LocalAccount, asset: Published
) -> None:
    answer = download(market, buyer, asset, "0x" + "ab" * 32)
    assert answer.status_code == 400
    assert "is not on chain" in answer.json()["error"]


def test_order_of_another_asset_is_refused(
    market: Market, buyer: LocalAccount, asset: Published
) -> None:
    other = access_asset(market)
    tx = order(market, buyer, other)
    answer = download(market, buyer, asset, tx)
    assert answer.status_code == 400
    assert "started no order" in answer.json()["error"] or "datatoken" in answer.json()["error"]


def test_someone_elses_order_is_refused(
    market: Market, buyer: LocalAccount, asset: Published
) -> None:
    tx = order(market, buyer, asset)
    stranger = market.new_consumer()
    answer = download(market, stranger, asset, tx)
    assert answer.status_code == 403
    assert "was neither made nor paid by" in answer.json()["error"]


def test_expired_order_is_refused(market: Market, buyer: LocalAccount) -> None:
    short = access_asset(market, timeout=1)
    tx = order(market, buyer, short)
    time.sleep(2.5)  # past the service's one-second timeout; the refusal is what is asserted
    answer = download(market, buyer, short, tx)
    assert answer.status_code == 400
    assert "expired" in answer.json()["error"]


def test_compute_service_is_not_downloadable(market: Market, buyer: LocalAccount) -> None:
    dataset = market.dataset({"allowRawAlgorithm": True})
    answer = initialize(market, buyer, dataset)
    assert answer.status_code == 400
    assert "is a compute service, not access" in answer.json()["error"]


def test_disabled_asset_is_refused(market: Market, buyer: LocalAccount) -> None:
    disabled = access_asset(market)
    tx = order(market, buyer, disabled)
    client: ChainClient = market.client
    nft = client.contract("ERC721Template", disabled.nft)
    client.transact(market.publisher, nft.functions.setMetaDataState(1), "state")
    answer = download(market, buyer, disabled, tx)
    assert answer.status_code == 403
    assert "cannot be used" in answer.json()["error"]


def test_private_source_is_refused_without_its_address(market: Market, buyer: LocalAccount) -> None:
    private = access_asset(market, url="http://10.11.12.13/secret.csv")
    tx = order(market, buyer, private)
    answer = download(market, buyer, private, tx)
    assert answer.status_code == 503
    assert "cannot be fetched" in answer.json()["error"]
    assert "10.11.12.13" not in answer.text


def test_replayed_download_signature_is_refused(
    market: Market, buyer: LocalAccount, asset: Published
) -> None:
    tx = order(market, buyer, asset)
    params = download_params(market, buyer, asset, tx)
    url = f"{market.provider_url}/api/services/download"
    assert httpx.get(url, params=params, timeout=60).status_code == 200
    again = httpx.get(url, params=params, timeout=60)
    assert again.status_code == 401
    assert "nonce" in again.json()["error"]


def test_userdata_that_is_not_a_json_object_is_refused(
    market: Market, buyer: LocalAccount, asset: Published
) -> None:
    params = {
        "documentId": asset.did,
        "serviceId": asset.ddo["services"][0]["id"],
        "consumerAddress": buyer.address,
        "userdata": "[1, 2]",
    }
    answer = httpx.get(f"{market.provider_url}/api/services/initialize", params=params)
    assert answer.status_code == 400
    assert answer.json()["error"] == "userdata: expected a JSON object"


def test_file_info_of_an_asset_hides_its_address(market: Market, asset: Published) -> None:
    body = {"did": asset.did, "serviceId": asset.ddo["services"][0]["id"], "checksum": True}
    answer = httpx.post(f"{market.provider_url}/api/services/fileInfo", json=body, timeout=60)
    assert answer.status_code == 200, answer.text
    content = (market.files.folder / "weather.csv").read_bytes()  # type: ignore[attr-defined]
    [info] = answer.json()
    assert info["valid"] is True
    assert info["contentLength"] == str(len(content))
    assert info["checksum"] == "sha256:" + hashlib.sha256(content).hexdigest()
    assert market.files.url("weather.csv") not in answer.text


def test_file_info_of_a_raw_url(market: Market) -> None:
    url = market.files.url("weather.csv")
    body = {"type": "url", "url": url, "method": "GET"}
    answer = httpx.post(f"{market.provider_url}/api/services/fileInfo", json=body, timeout=60)
    assert answer.status_code == 200, answer.text
    [info] = answer.json()
    size = (market.files.folder / "weather.csv").stat().st_size  # type: ignore[attr-defined]
    assert info["valid"] is True and info["contentLength"] == str(size)
    assert info["name"] == "weather.csv" and "checksum" not in info


def test_file_info_of_a_private_or_bad_url(market: Market) -> None:
    url = f"{market.provider_url}/api/services/fileInfo"
    private = httpx.post(url, json={"type": "url", "url": "http://10.11.12.13/x"}, timeout=60)
    assert private.status_code == 200
    assert private.json()[0]["valid"] is False
    bad = httpx.post(url, json={"type": "url", "url": "ftp://example.com/x"})
    assert bad.status_code == 400
    assert "url must start with http:// or https://" in bad.json()["error"]


def test_origin_down_is_a_clear_503(market: Market, buyer: LocalAccount) -> None:
    down = access_asset(market, url=f"http://127.0.0.1:{free_port()}/weather.csv")
    tx = order(market, buyer, down)
    answer = download(market, buyer, down, tx)
    assert answer.status_code == 503
    assert answer.json()["error"] == "file 0 cannot be fetched: connection refused"
