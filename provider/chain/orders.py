"""Order verification on plain facts: is this order good for this input, caller and job?

Pure: the facts come from the chain (``provider.chain.order_reader``); every refusal names the
input, the order and the rule it breaks.
"""

from __future__ import annotations

from dataclasses import dataclass

from provider.chain.fees import ProviderFee, parse_fee_data, recover_fee_signer
from provider.errors import BadRequest, Forbidden

__all__ = ["OrderExpectation", "OrderFacts", "check_order", "check_order_itself"]


@dataclass(frozen=True)
class OrderFacts:
    """An order as the chain recorded it (a reuse already followed to its original order)."""

    tx: str
    succeeded: bool
    datatoken: str | None  # the contract that emitted OrderStarted; None: no OrderStarted
    consumer: str
    payer: str
    service_index: int
    timestamp: int  # of the original order's block
    provider_fee: ProviderFee | None  # of the latest start or reuse


@dataclass(frozen=True)
class OrderExpectation:
    """What the order must be to pay for one input of one job."""

    label: str
    datatoken: str
    service_index: int
    service_id: str
    service_timeout: int  # seconds an order stays usable; 0 = forever
    caller: str
    provider: str
    environment: str
    now: int


def check_order(facts: OrderFacts, want: OrderExpectation) -> None:
    """Return when ``facts`` pay for ``want``; BadRequest/Forbidden naming the rule otherwise."""
    check_order_itself(facts, want)
    _check_fee(facts.provider_fee, want, f"{want.label}: order {facts.tx}")


def check_order_itself(facts: OrderFacts, want: OrderExpectation) -> None:
    """The order's own rules, without its provider fee (a reuse can renew an expired fee)."""
    where = f"{want.label}: order {facts.tx}"
    if not facts.succeeded:
        raise BadRequest(f"{where} failed on chain")
    if facts.datatoken is None:
        raise BadRequest(f"{where} started no order (no OrderStarted event)")
    if facts.datatoken.lower() != want.datatoken.lower():
        raise BadRequest(
            f"{where} is an order of datatoken {facts.datatoken}, not {want.datatoken}"
        )
    if facts.service_index != want.service_index:
        raise BadRequest(
            f"{where} is for service index {facts.service_index}, not {want.service_index}"
        )
    caller = want.caller.lower()
    if caller not in (facts.consumer.lower(), facts.payer.lower()):
        raise Forbidden(f"{where} was neither made nor paid by {want.caller}")
    if want.service_timeout and facts.timestamp + want.service_timeout < want.now:
        raise BadRequest(
            f"{where} expired: the service timeout of {want.service_timeout} s ended at"
            f" {facts.timestamp + want.service_timeout}"
        )


def _check_fee(fee: ProviderFee | None, want: OrderExpectation, where: str) -> None:
    if fee is None:
        raise BadRequest(f"{where} carries no provider fee")
    if fee.address.lower() != want.provider.lower():
        raise Forbidden(f"{where}: the provider fee is from {fee.address}, not this provider")
    signer = recover_fee_signer(fee)
    if signer is None or signer.lower() != want.provider.lower():
        raise Forbidden(f"{where}: the provider fee signature is invalid")
    data = parse_fee_data(fee.provider_data)
    if data is None:
        raise BadRequest(f"{where}: the provider fee's providerData is not this provider's")
    if data.environment != want.environment:
        raise BadRequest(
            f"{where}: the provider fee is for environment {data.environment},"
            f" not {want.environment}"
        )
    if data.datatoken.lower() != want.datatoken.lower() or data.service_id != want.service_id:
        raise BadRequest(f"{where}: the provider fee is for another datatoken or service")
    if fee.valid_until < want.now:
        raise BadRequest(f"{where}: the provider fee expired at {fee.valid_until}")
