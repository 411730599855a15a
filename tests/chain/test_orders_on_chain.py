"""computeStart verifies every order on chain: one test per rule, plus escrow shortfalls."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from devkit.consumer import reuse_order, start_order
from devkit.publish import Published
from provider.chain.fees import FeeData, sign_provider_fee
from tests.chain.market import Market, job_body


@pytest.fixture(scope="module")
def provider_key(chain_home: Path, market: Market) -> LocalAccount:
    account: LocalAccount = Account.from_key((chain_home / "provider.key").read_text().strip())
    assert account.address == market.provider_address
    return account


@pytest.fixture(scope="module")
def assets(market: Market) -> tuple[Published, Published]:
    algorithm = market.algorithm()
    return algorithm, market.dataset(market.trusting(algorithm))


def fee_for(
    signer: LocalAccount, market: Market, asset: Published, *, env: str = "paid", valid: int = 3600
) -> dict[str, Any]:
    data = FeeData(env, asset.datatoken, asset.ddo["services"][0]["id"], int(time.time()))
    fee = sign_provider_fee(
        signer, data, token=market.chain.ocean, amount=0, valid_until=int(time.time()) + valid
    )
    return fee.to_wire()


def order(
    market: Market,
    payer: LocalAccount,
    asset: Published,
    fee: dict[str, Any],
    *,
    consumer: str | None = None,
    index: int = 0,
) -> str:
    market.give_datatokens(asset, payer.address, 1)
    return start_order(
        market.client,
        payer,
        asset.datatoken,
        consumer=consumer or market.provider_address,
        service_index=index,
        provider_fee=fee,
    )


def start_with(
    market: Market, buyer: LocalAccount, assets: tuple[Published, Published], algo_tx: str, tx: str
) -> tuple[int, str]:
    algorithm, dataset = assets
    body = job_body(algorithm, [dataset], duration=60)
    body["algorithm"]["transferTxId"] = algo_tx
    body["datasets"][0]["transferTxId"] = tx
    answer = market.start(buyer, body)
    return answer.status_code, answer.json()["error"] if answer.status_code != 200 else ""


@pytest.fixture
def funded(market: Market, buyer: LocalAccount) -> LocalAccount:
    market.fund_escrow(buyer, deposit=10, authorize=10)
    return buyer


@pytest.fixture
def algo_tx(market: Market, funded: LocalAccount, provider_key: LocalAccount, assets: Any) -> str:
    return order(market, funded, assets[0], fee_for(provider_key, market, assets[0]))


def test_a_good_order_starts_the_job(
    market: Market, funded: LocalAccount, provider_key: LocalAccount, assets: Any, algo_tx: str
) -> None:
    tx = order(market, funded, assets[1], fee_for(provider_key, market, assets[1]))
    assert start_with(market, funded, assets, algo_tx, tx) == (200, "")


def test_missing_transfer_tx_is_refused(market: Market, funded: LocalAccount, assets: Any) -> None:
    answer = market.start(funded, job_body(assets[0], [assets[1]]))
    assert answer.status_code == 400
    assert answer.json()["error"].startswith("algorithm: transferTxId is missing")


def test_order_of_someone_else_is_refused(
    market: Market, funded: LocalAccount, provider_key: LocalAccount, assets: Any, algo_tx: str
) -> None:
    other = market.new_consumer()
    tx = order(market, other, assets[1], fee_for(provider_key, market, assets[1]))
    status, error = start_with(market, funded, assets, algo_tx, tx)
    assert status == 403 and error.endswith(f"was neither made nor paid by {funded.address}")


def test_order_for_another_service_index_is_refused(
    market: Market, funded: LocalAccount, provider_key: LocalAccount, assets: Any, algo_tx: str
) -> None:
    tx = order(market, funded, assets[1], fee_for(provider_key, market, assets[1]), index=1)
    status, error = start_with(market, funded, assets, algo_tx, tx)
    assert status == 400 and error.endswith("is for service index 1, not 0")


def test_order_of_another_datatoken_is_refused(
    market: Market, funded: LocalAccount, provider_key: LocalAccount, assets: Any, algo_tx: str
) -> None:
    status, error = start_with(market, funded, assets, algo_tx, algo_tx)
    assert status == 400 and f"is an order of datatoken {assets[0].datatoken}" in error


def test_fee_of_another_provider_is_refused(
    market: Market, funded: LocalAccount, assets: Any, algo_tx: str
) -> None:
    stranger: LocalAccount = Account.create()
    tx = order(market, funded, assets[1], fee_for(stranger, market, assets[1]))
    status, error = start_with(market, funded, assets, algo_tx, tx)
    assert status == 403 and f"the provider fee is from {stranger.address}" in error


def test_fee_for_another_environment_is_refused(
    market: Market, funded: LocalAccount, provider_key: LocalAccount, assets: Any, algo_tx: str
) -> None:
    tx = order(market, funded, assets[1], fee_for(provider_key, market, assets[1], env="free"))
    status, error = start_with(market, funded, assets, algo_tx, tx)
    assert status == 400 and "the provider fee is for environment free, not paid" in error


def test_expired_fee_is_refused_although_the_chain_took_it(
    market: Market, funded: LocalAccount, provider_key: LocalAccount, assets: Any, algo_tx: str
) -> None:
    tx = order(market, funded, assets[1], fee_for(provider_key, market, assets[1], valid=-5))
    status, error = start_with(market, funded, assets, algo_tx, tx)
    assert status == 400 and "the provider fee expired at" in error


def test_service_timeout_is_respected(
    market: Market, funded: LocalAccount, provider_key: LocalAccount, assets: Any, algo_tx: str
) -> None:
    short = market.dataset(market.trusting(assets[0]), timeout=1)
    tx = order(market, funded, short, fee_for(provider_key, market, short))
    time.sleep(2.1)
    status, error = start_with(market, funded, (assets[0], short), algo_tx, tx)
    assert status == 400 and "expired: the service timeout of 1 s" in error


def test_reuse_is_followed_to_the_original_order(
    market: Market, funded: LocalAccount, provider_key: LocalAccount, assets: Any, algo_tx: str
) -> None:
    original = order(market, funded, assets[1], fee_for(provider_key, market, assets[1], valid=-5))
    fresh = fee_for(provider_key, market, assets[1])
    reused = reuse_order(market.client, funded, assets[1].datatoken, original, fresh)
    assert start_with(market, funded, assets, algo_tx, reused) == (200, "")


def test_reuse_of_someone_elses_order_is_refused(
    market: Market, funded: LocalAccount, provider_key: LocalAccount, assets: Any, algo_tx: str
) -> None:
    other = market.new_consumer()
    original = order(market, other, assets[1], fee_for(provider_key, market, assets[1]))
    fresh = fee_for(provider_key, market, assets[1])
    reused = reuse_order(market.client, funded, assets[1].datatoken, original, fresh)
    status, error = start_with(market, funded, assets, algo_tx, reused)
    assert status == 403 and "neither made nor paid" in error


def test_initialize_reports_a_still_valid_order(
    market: Market, funded: LocalAccount, provider_key: LocalAccount, assets: Any, algo_tx: str
) -> None:
    body = job_body(assets[0], [assets[1]])
    body["algorithm"]["transferTxId"] = algo_tx
    answer = market.initialize(funded, body).json()
    assert answer["algorithm"]["validOrder"] == algo_tx
    assert "providerFee" not in answer["algorithm"]
    assert answer["datasets"][0]["validOrder"] is False
    assert answer["datasets"][0]["providerFee"]["providerFeeAddress"] == market.provider_address


def test_no_escrow_deposit_is_refused_with_the_amount(
    market: Market, buyer: LocalAccount, provider_key: LocalAccount, assets: Any
) -> None:
    algo = order(market, buyer, assets[0], fee_for(provider_key, market, assets[0]))
    tx = order(market, buyer, assets[1], fee_for(provider_key, market, assets[1]))
    status, error = start_with(market, buyer, assets, algo, tx)
    assert status == 400
    assert error.startswith(f"insufficient escrow funds: {buyer.address} has 0 available")
    assert "the job needs 1.6: deposit 1.6 more" in error


def test_no_escrow_authorisation_is_refused(
    market: Market, buyer: LocalAccount, provider_key: LocalAccount, assets: Any
) -> None:
    market.fund_escrow(buyer, deposit=5, authorize=0)
    algo = order(market, buyer, assets[0], fee_for(provider_key, market, assets[0]))
    tx = order(market, buyer, assets[1], fee_for(provider_key, market, assets[1]))
    status, error = start_with(market, buyer, assets, algo, tx)
    assert status == 400 and error.startswith("escrow authorisation missing")
    assert f"payee {market.provider_address}" in error and "maxLockedAmount >= 1.6" in error
