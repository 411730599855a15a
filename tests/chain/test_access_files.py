"""Access downloads on the dev chain as a consumer's tools make them: byte ranges (curl-style
``Range`` headers) from an origin with ranges and from one without, userdata reaching the
origin, and every file type the provider reads: s3 (ministack, SigV4 checked), ftp (pyftpdlib),
ipfs and arweave (a loopback gateway); a type it cannot read is refused by name."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account.signers.local import LocalAccount

from devkit.publish import AssetDraft, Published
from tests.chain.market import Market
from tests.chain.test_access_on_chain import download_params, initialize, order
from tests.http_origin import Origin
from tests.storage_servers import FtpServer, S3Server

CONTENT = bytes(range(256)) * 20  # 5120 bytes, every offset distinguishable
CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
TXID = "Jj3b4o5ZbX7zXQbQ0yRk1mXyW3_8s7vDkq9H2oPzY-c"


@pytest.fixture(scope="module")
def origin() -> Iterator[Origin]:
    server = Origin({"data.bin": CONTENT})
    yield server
    server.close()


def publish(market: Market, file: dict[str, Any]) -> Published:
    draft = AssetDraft(name="data", type="dataset", files=[file], service_type="access")
    return market.publish(draft)


def get(
    market: Market,
    consumer: LocalAccount,
    asset: Published,
    tx: str,
    headers: dict[str, str] | None = None,
    **extra: str,
) -> httpx.Response:
    params = {**download_params(market, consumer, asset, tx), **extra}
    url = f"{market.provider_url}/api/services/download"
    return httpx.get(url, params=params, headers=headers, timeout=60)


@pytest.fixture(scope="module")
def ranged(market: Market, origin: Origin) -> tuple[Published, LocalAccount, str]:
    asset = publish(market, {"type": "url", "url": origin.url("data.bin"), "method": "GET"})
    consumer = market.new_consumer()
    return asset, consumer, order(market, consumer, asset)


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [("bytes=100-199", 100, 199), ("bytes=5000-", 5000, 5119), ("bytes=-20", 5100, 5119)],
)
def test_a_byte_range_is_a_206(
    market: Market, ranged: tuple[Published, LocalAccount, str], header: str, first: int, last: int
) -> None:
    asset, consumer, tx = ranged
    answer = get(market, consumer, asset, tx, {"Range": header})
    assert answer.status_code == 206, answer.text
    assert answer.headers["content-range"] == f"bytes {first}-{last}/{len(CONTENT)}"
    assert answer.headers["accept-ranges"] == "bytes"
    assert answer.content == CONTENT[first : last + 1]


def test_a_range_past_the_end_is_416(
    market: Market, ranged: tuple[Published, LocalAccount, str]
) -> None:
    asset, consumer, tx = ranged
    answer = get(market, consumer, asset, tx, {"Range": "bytes=99999-"})
    assert answer.status_code == 416
    assert answer.headers["content-range"] == f"bytes */{len(CONTENT)}"
    assert "past the file's end" in answer.json()["error"]


@pytest.mark.parametrize(
    "headers",
    [{"Range": "bytes=0-9,20-29"}, {"Range": "bytes=0-9", "If-Range": '"an-etag"'}],
)
def test_several_ranges_or_an_if_range_answer_the_whole_file(
    market: Market, ranged: tuple[Published, LocalAccount, str], headers: dict[str, str]
) -> None:
    asset, consumer, tx = ranged
    answer = get(market, consumer, asset, tx, headers)
    assert answer.status_code == 200
    assert answer.content == CONTENT


def test_a_range_from_an_origin_without_ranges(market: Market, buyer: LocalAccount) -> None:
    # The chain tests' file server (Python's http.server) ignores Range: sliced by the provider.
    asset = publish(market, {"type": "url", "url": market.files.url("weather.csv")})
    whole = (market.files.folder / "weather.csv").read_bytes()  # type: ignore[attr-defined]
    tx = order(market, buyer, asset)
    answer = get(market, buyer, asset, tx, {"Range": "bytes=-10"})
    assert answer.status_code == 206
    assert (
        answer.headers["content-range"] == f"bytes {len(whole) - 10}-{len(whole) - 1}/{len(whole)}"
    )
    assert answer.content == whole[-10:]


def test_userdata_reaches_the_origin(
    market: Market, origin: Origin, ranged: tuple[Published, LocalAccount, str]
) -> None:
    asset, consumer, tx = ranged
    answer = get(market, consumer, asset, tx, userdata='{"city": "Berlin", "rows": 3}')
    assert answer.status_code == 200, answer.text
    assert ("/data.bin?city=Berlin&rows=3", None) in origin.requests


def test_policy_server_is_refused_saying_why(
    market: Market, ranged: tuple[Published, LocalAccount, str]
) -> None:
    asset, consumer, tx = ranged
    answer = get(market, consumer, asset, tx, policyServer='{"sessionId": "x"}')
    assert answer.status_code == 400
    assert answer.json()["error"].startswith("policyServer: this provider runs no policy server")


def test_s3_file(market: Market, buyer: LocalAccount, s3: S3Server) -> None:
    s3.s3.create_bucket(Bucket="sold")
    s3.s3.put_object(Bucket="sold", Key="sets/data.bin", Body=CONTENT)
    asset = publish(market, {"type": "s3", "s3Access": s3.access("sold", "sets/data.bin")})
    tx = order(market, buyer, asset)
    assert get(market, buyer, asset, tx).content == CONTENT
    part = get(market, buyer, asset, tx, {"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == CONTENT[10:20]
    info = httpx.post(
        f"{market.provider_url}/api/services/fileInfo",
        json={"did": asset.did, "serviceId": asset.ddo["services"][0]["id"]},
        timeout=60,
    )
    assert info.status_code == 200
    assert info.json()[0]["contentLength"] == str(len(CONTENT))
    assert s3.secret_access_key not in info.text


def test_ftp_file(market: Market, buyer: LocalAccount, tmp_path: Path) -> None:
    server = FtpServer(tmp_path / "ftp")
    try:
        (server.root / "data.bin").write_bytes(CONTENT)
        asset = publish(market, {"type": "ftp", "url": server.url("data.bin")})
        tx = order(market, buyer, asset)
        answer = get(market, buyer, asset, tx)
        assert answer.status_code == 200 and answer.content == CONTENT
    finally:
        server.close()


@pytest.mark.parametrize(
    ("kind", "field", "path"), [("ipfs", "hash", f"ipfs/{CID}"), ("arweave", "transactionId", TXID)]
)
def test_gateway_file(
    market: Market, buyer: LocalAccount, kind: str, field: str, path: str
) -> None:
    folder: Path = market.files.folder  # type: ignore[attr-defined]
    (folder / path).parent.mkdir(parents=True, exist_ok=True)
    (folder / path).write_bytes(CONTENT)
    asset = publish(market, {"type": kind, field: path.rsplit("/", 1)[-1]})
    tx = order(market, buyer, asset)
    answer = get(market, buyer, asset, tx)
    assert answer.status_code == 200 and answer.content == CONTENT


@pytest.mark.parametrize("kind", ["graphql", "smartcontract"])
def test_a_type_without_a_reader_is_refused_by_name(
    market: Market, buyer: LocalAccount, kind: str
) -> None:
    asset = publish(market, {"type": kind, "url": "https://example.com/graphql", "query": "{}"})
    answer = initialize(market, buyer, asset)
    assert answer.status_code == 400
    assert f"file type '{kind}' is not supported" in answer.json()["error"]
