"""The consumer's side of paid compute, as ocean.js does it: check that the consumer can pay,
fund and authorise the escrow, order every DID input with the fee initializeCompute signed.

Used by ``c2d submit`` (it lives with the consumer's commands, so the image, which has no
devkit, has it too), the examples and the tests (through ``devkit.consumer``). Contracts are
called through the ABIs the provider ships (``provider/chain/abi``), so this needs no
``js/node_modules``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3
from web3.types import TxReceipt

from provider.chain.client import ChainClient
from provider.errors import C2DError

__all__ = [
    "PaymentError",
    "ReportingChainClient",
    "authorize_escrow",
    "check_can_pay",
    "deposit_escrow",
    "fee_tuple",
    "format_amount",
    "fund_escrow",
    "order_inputs",
    "reuse_order",
    "start_order",
    "with_orders",
]

_ZERO = "0x" + "0" * 40
_ONE_TOKEN = 10**18  # an order spends one datatoken (18 decimals)


class PaymentError(C2DError):
    """The consumer cannot pay for the job as asked (funds, chain, datatokens)."""

    status_code = 400


class ReportingChainClient(ChainClient):
    """A ChainClient that reports every transaction it sent: what, its hash and the gas used."""

    def __init__(self, rpc: str, report: Callable[[str], None], **kwargs: Any) -> None:
        super().__init__(rpc, **kwargs)
        self._report = report

    def transact(self, account: LocalAccount, call: Any, what: str) -> TxReceipt:
        receipt = super().transact(account, call, what)
        tx = receipt["transactionHash"].to_0x_hex()
        self._report(f"{what}: tx {tx} gas {int(receipt['gasUsed']):,}")
        return receipt


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
    what: str = "startOrder",
) -> str:
    """Pay one datatoken (and the provider fee, approved first) for ``consumer``; the tx hash."""
    amount = int(provider_fee["providerFeeAmount"])
    if amount:
        fee_token = client.contract("ERC20Template", provider_fee["providerFeeToken"])
        client.transact(payer, fee_token.functions.approve(datatoken, amount), "approve fee")
    token = client.contract("ERC20Template", datatoken)
    call = token.functions.startOrder(
        Web3.to_checksum_address(consumer),
        service_index,
        fee_tuple(provider_fee),
        (_ZERO, _ZERO, 0),
    )
    return client.transact(payer, call, what)["transactionHash"].to_0x_hex()


def reuse_order(
    client: ChainClient,
    payer: LocalAccount,
    datatoken: str,
    order_tx: str,
    fee: dict[str, Any],
    what: str = "reuseOrder",
) -> str:
    token = client.contract("ERC20Template", datatoken)
    call = token.functions.reuseOrder(bytes(HexBytes(order_tx)), fee_tuple(fee))
    return client.transact(payer, call, what)["transactionHash"].to_0x_hex()


def deposit_escrow(
    client: ChainClient, payer: LocalAccount, escrow: str, token: str, amount: int
) -> None:
    erc20 = client.contract("ERC20Template", token)
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


# --- the paid flow, from initializeCompute's answer --------------------------------------------


def _entries(init: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """initializeCompute's entries that need an order, labelled as the request's fields."""
    labelled = [("algorithm", init.get("algorithm") or {})]
    labelled += [(f"datasets[{i}]", entry or {}) for i, entry in enumerate(init["datasets"])]
    return [(label, entry) for label, entry in labelled if entry.get("datatoken")]


def _needs_new_order(entry: dict[str, Any]) -> bool:
    return not entry.get("validOrder")


def check_can_pay(client: ChainClient, payer: str, init: dict[str, Any]) -> None:
    """Refuse, before any transaction, what would fail half-way: an RPC of another chain, no gas,
    too few fee tokens for the escrow, a datatoken missing for an input to order."""
    payment = init["payment"]
    chain_id = int(payment["chainId"])
    served = client.answering_chain_id()
    if served != chain_id:
        raise PaymentError(
            f"the RPC {client.rpc} serves chain {served}, the job is paid on chain {chain_id}: "
            f"give the RPC URL of chain {chain_id}"
        )
    if client.w3.eth.get_balance(Web3.to_checksum_address(payer)) == 0:
        raise PaymentError(
            f"insufficient funds: {payer} has no native token on chain {chain_id} to pay gas"
        )
    token = client.contract("ERC20Template", payment["token"])
    price = int(payment["amount"])
    available, _ = _escrow_funds(client, payment, payer)
    shortfall = max(0, price - available)
    held = int(token.functions.balanceOf(payer).call())
    if held < shortfall:
        show = functools.partial(format_amount, client, payment["token"])
        raise PaymentError(
            f"insufficient funds: the job costs {show(price)}; {payer} holds {show(held)} "
            f"({payment['token']}) and has {show(available)} available in the escrow on chain "
            f"{chain_id}"
        )
    for label, entry in _entries(init):
        datatoken = client.contract("ERC20Template", entry["datatoken"])
        if _needs_new_order(entry) and datatoken.functions.balanceOf(payer).call() < _ONE_TOKEN:
            raise PaymentError(
                f"insufficient funds: {payer} holds no datatoken {entry['datatoken']} to order "
                f"the {label} with; get one from its publisher (`c2d publish --mint-to`) or a "
                "market"
            )


def fund_escrow(client: ChainClient, payer: LocalAccount, init: dict[str, Any]) -> None:
    """Deposit what the escrow lacks for the price and authorise the provider for it, as far as
    an earlier deposit or authorisation does not already cover it."""
    payment = init["payment"]
    price = int(payment["amount"])
    escrow, token, payee = payment["escrowAddress"], payment["token"], payment["payee"]
    available, _ = _escrow_funds(client, payment, payer.address)
    if available < price:
        deposit_escrow(client, payer, escrow, token, price - available)
    contract = client.contract("Escrow", escrow)
    found = contract.functions.getAuthorizations(token, payer.address, payee).call()
    # auth: (payee, maxLockedAmount, currentLockedAmount, maxLockSeconds, maxLockCounts, locks)
    _, max_locked, locked, max_seconds, max_counts, locks = found[0] if found else (0,) * 6
    seconds = int(payment["minLockSeconds"])
    if max_locked - locked >= price and max_seconds >= seconds and max_counts > locks:
        return
    authorize_escrow(
        client,
        payer,
        escrow,
        token,
        payee,
        max_locked=max(max_locked, locked + price),
        max_seconds=max(max_seconds, seconds),
        max_counts=max(max_counts, locks + 1),
    )


def order_inputs(client: ChainClient, payer: LocalAccount, init: dict[str, Any]) -> dict[str, str]:
    """Order each DID input as initializeCompute says: keep an order still valid, renew its fee
    with reuseOrder, or start a new one; the transferTxId per label."""
    orders: dict[str, str] = {}
    for label, entry in _entries(init):
        fee = entry.get("providerFee")
        if entry.get("validOrder") and not fee:
            orders[label] = str(entry["validOrder"])
        elif entry.get("validOrder"):
            orders[label] = reuse_order(
                client,
                payer,
                entry["datatoken"],
                str(entry["validOrder"]),
                fee or {},
                f"reuseOrder {label}",
            )
        else:
            orders[label] = start_order(
                client,
                payer,
                entry["datatoken"],
                consumer=entry["consumerAddress"],
                service_index=int(entry.get("serviceIndex", 0)),
                provider_fee=fee or {},
                what=f"startOrder {label}",
            )
    return orders


def with_orders(body: dict[str, Any], orders: dict[str, str]) -> dict[str, Any]:
    """The start request with each input's ``transferTxId`` (labels of ``order_inputs``)."""
    algorithm = dict(body["algorithm"])
    if "algorithm" in orders:
        algorithm["transferTxId"] = orders["algorithm"]
    datasets = []
    for index, dataset in enumerate(body["datasets"]):
        entry = dict(dataset)
        if f"datasets[{index}]" in orders:
            entry["transferTxId"] = orders[f"datasets[{index}]"]
        datasets.append(entry)
    return {**body, "algorithm": algorithm, "datasets": datasets}


def _escrow_funds(client: ChainClient, payment: dict[str, Any], payer: str) -> tuple[int, int]:
    escrow = client.contract("Escrow", payment["escrowAddress"])
    available, locked = escrow.functions.getUserFunds(payer, payment["token"]).call()
    return int(available), int(locked)


def format_amount(client: ChainClient, token: str, wei: int) -> str:
    """``wei`` of ``token`` in its units with its symbol, e.g. ``3.2 OCEAN``."""
    erc20 = client.contract("ERC20Template", token)
    symbol, decimals = erc20.functions.symbol().call(), int(erc20.functions.decimals().call())
    whole, rest = divmod(wei, 10**decimals)
    fraction = str(rest).rjust(decimals, "0").rstrip("0")
    return f"{whole}.{fraction} {symbol}" if fraction else f"{whole} {symbol}"
