"""The consumer's side of paid compute: order a datatoken, fund and authorise the escrow."""

from __future__ import annotations

from typing import Any

from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3

from devkit import artifacts
from provider.chain.client import ChainClient

__all__ = ["authorize_escrow", "deposit_escrow", "fee_tuple", "reuse_order", "start_order"]

_ZERO = "0x" + "0" * 40


def fee_tuple(fee: dict[str, Any]) -> tuple[Any, ...]:
    """initializeCompute's ``providerFee`` → the ProviderFee struct ``startOrder`` takes."""
    return (
        Web3.to_checksum_address(fee["providerFeeAddress"]),
        Web3.to_checksum_address(fee["providerFeeToken"]),
        int(fee["providerFeeAmount"]),
        int(fee["v"]),
        bytes(HexBytes(fee["r"])),
        bytes(HexBytes(fee["s"])),
        int(fee["validUntil"]),
        bytes(HexBytes(fee["providerData"])),
    )


def start_order(
    client: ChainClient,
    payer: LocalAccount,
    datatoken: str,
    *,
    consumer: str,
    service_index: int,
    provider_fee: dict[str, Any],
) -> str:
    """Pay one datatoken (and the provider fee, approved first) for ``consumer``; the tx hash."""
    amount = int(provider_fee["providerFeeAmount"])
    if amount:
        fee_token = artifacts.contract(client, "OceanToken", provider_fee["providerFeeToken"])
        client.transact(payer, fee_token.functions.approve(datatoken, amount), "approve fee")
    token = client.contract("ERC20Template", datatoken)
    call = token.functions.startOrder(
        Web3.to_checksum_address(consumer),
        service_index,
        fee_tuple(provider_fee),
        (_ZERO, _ZERO, 0),
    )
    return client.transact(payer, call, "startOrder")["transactionHash"].to_0x_hex()


def reuse_order(
    client: ChainClient, payer: LocalAccount, datatoken: str, order_tx: str, fee: dict[str, Any]
) -> str:
    token = client.contract("ERC20Template", datatoken)
    call = token.functions.reuseOrder(bytes(HexBytes(order_tx)), fee_tuple(fee))
    return client.transact(payer, call, "reuseOrder")["transactionHash"].to_0x_hex()


def deposit_escrow(
    client: ChainClient, payer: LocalAccount, escrow: str, token: str, amount: int
) -> None:
    erc20 = artifacts.contract(client, "OceanToken", token)
    client.transact(payer, erc20.functions.approve(escrow, amount), "approve escrow")
    contract = client.contract("Escrow", escrow)
    client.transact(payer, contract.functions.deposit(token, amount), "escrow deposit")


def authorize_escrow(
    client: ChainClient,
    payer: LocalAccount,
    escrow: str,
    token: str,
    payee: str,
    *,
    max_locked: int,
    max_seconds: int,
    max_counts: int,
) -> None:
    contract = client.contract("Escrow", escrow)
    call = contract.functions.authorize(token, payee, max_locked, max_seconds, max_counts)
    client.transact(payer, call, "escrow authorize")
