"""Order verification on plain facts: one test per rule, each naming input, order and rule."""

from __future__ import annotations

import dataclasses

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from provider.chain.fees import FeeData, ProviderFee, sign_provider_fee
from provider.chain.orders import OrderExpectation, OrderFacts, check_order
from provider.errors import BadRequest, C2DError, Forbidden

NOW = 1_800_000_000
TOKEN = "0x" + "11" * 20
FEE_TOKEN = "0x" + "22" * 20
TX = "0x" + "ab" * 32


@pytest.fixture(scope="module")
def provider() -> LocalAccount:
    account: LocalAccount = Account.create()
    return account


@pytest.fixture(scope="module")
def consumer() -> LocalAccount:
    account: LocalAccount = Account.create()
    return account


def fee(
    account: LocalAccount, *, env: str = "paid", valid_until: int = NOW + 60, dt: str = TOKEN
) -> ProviderFee:
    data = FeeData(environment=env, datatoken=dt, service_id="svc", timestamp=NOW)
    return sign_provider_fee(account, data, token=FEE_TOKEN, amount=0, valid_until=valid_until)


def facts(provider: LocalAccount, consumer: LocalAccount, **changes: object) -> OrderFacts:
    base = OrderFacts(
        tx=TX,
        succeeded=True,
        datatoken=TOKEN,
        consumer=provider.address,
        payer=consumer.address,
        service_index=0,
        timestamp=NOW - 10,
        provider_fee=fee(provider),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def want(provider: LocalAccount, consumer: LocalAccount, **changes: object) -> OrderExpectation:
    base = OrderExpectation(
        label="datasets[0]",
        datatoken=TOKEN.upper().replace("0X", "0x"),
        service_index=0,
        service_id="svc",
        service_timeout=0,
        caller=consumer.address,
        provider=provider.address,
        environment="paid",
        now=NOW,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def refusal(order: OrderFacts, expected: OrderExpectation) -> C2DError:
    with pytest.raises(C2DError) as caught:
        check_order(order, expected)
    assert caught.value.message.startswith(f"datasets[0]: order {TX}")
    return caught.value


def test_a_good_order_passes(provider: LocalAccount, consumer: LocalAccount) -> None:
    check_order(facts(provider, consumer), want(provider, consumer))


def test_the_consumer_of_the_order_may_be_the_caller(
    provider: LocalAccount, consumer: LocalAccount
) -> None:
    order = dataclasses.replace(
        facts(provider, consumer), consumer=consumer.address, payer=provider.address
    )
    check_order(order, want(provider, consumer))


def test_failed_transaction(provider: LocalAccount, consumer: LocalAccount) -> None:
    error = refusal(facts(provider, consumer, succeeded=False), want(provider, consumer))
    assert isinstance(error, BadRequest) and "failed on chain" in error.message


def test_no_order_started(provider: LocalAccount, consumer: LocalAccount) -> None:
    error = refusal(facts(provider, consumer, datatoken=None), want(provider, consumer))
    assert "no OrderStarted" in error.message


def test_order_of_another_datatoken(provider: LocalAccount, consumer: LocalAccount) -> None:
    other = "0x" + "33" * 20
    error = refusal(facts(provider, consumer, datatoken=other), want(provider, consumer))
    assert f"datatoken {other}" in error.message


def test_wrong_service_index(provider: LocalAccount, consumer: LocalAccount) -> None:
    error = refusal(facts(provider, consumer, service_index=1), want(provider, consumer))
    assert "service index 1, not 0" in error.message


def test_neither_consumer_nor_payer_is_the_caller(
    provider: LocalAccount, consumer: LocalAccount
) -> None:
    stranger = Account.create().address
    error = refusal(facts(provider, consumer), want(provider, consumer, caller=stranger))
    assert isinstance(error, Forbidden) and f"neither made nor paid by {stranger}" in error.message


def test_service_timeout_over(provider: LocalAccount, consumer: LocalAccount) -> None:
    order = facts(provider, consumer, timestamp=NOW - 100)
    error = refusal(order, want(provider, consumer, service_timeout=60))
    assert "service timeout of 60 s" in error.message


def test_no_provider_fee(provider: LocalAccount, consumer: LocalAccount) -> None:
    error = refusal(facts(provider, consumer, provider_fee=None), want(provider, consumer))
    assert "no provider fee" in error.message


def test_fee_from_another_provider(provider: LocalAccount, consumer: LocalAccount) -> None:
    other = Account.create()
    error = refusal(facts(provider, consumer, provider_fee=fee(other)), want(provider, consumer))
    assert isinstance(error, Forbidden) and f"from {other.address}" in error.message


def test_fee_signature_invalid(provider: LocalAccount, consumer: LocalAccount) -> None:
    forged = dataclasses.replace(fee(provider), valid_until=NOW + 10_000)  # signed for NOW + 60
    error = refusal(facts(provider, consumer, provider_fee=forged), want(provider, consumer))
    assert "signature is invalid" in error.message


def test_fee_for_another_environment(provider: LocalAccount, consumer: LocalAccount) -> None:
    order = facts(provider, consumer, provider_fee=fee(provider, env="gpu"))
    error = refusal(order, want(provider, consumer))
    assert "for environment gpu, not paid" in error.message


def test_fee_for_another_datatoken(provider: LocalAccount, consumer: LocalAccount) -> None:
    order = facts(provider, consumer, provider_fee=fee(provider, dt="0x" + "44" * 20))
    error = refusal(order, want(provider, consumer))
    assert "another datatoken or service" in error.message


def test_fee_expired(provider: LocalAccount, consumer: LocalAccount) -> None:
    order = facts(provider, consumer, provider_fee=fee(provider, valid_until=NOW - 1))
    error = refusal(order, want(provider, consumer))
    assert f"expired at {NOW - 1}" in error.message
