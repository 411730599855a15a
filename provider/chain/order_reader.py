"""Read an order from the chain: its receipt, OrderStarted, ProviderFee, OrderReused followed."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from hexbytes import HexBytes
from web3.exceptions import TransactionNotFound, Web3Exception

from provider.chain.client import ChainClient
from provider.chain.fees import ProviderFee
from provider.chain.orders import OrderFacts
from provider.errors import BadRequest, ServiceUnavailable

__all__ = ["read_order"]

_TX = re.compile(r"0x[0-9a-fA-F]{64}")
# A reuse of a reuse of ... is followed this many times before giving up.
_MAX_REUSE_DEPTH = 4


def read_order(
    client: ChainClient, tx: str, datatoken: str, *, label: str, confirmations: int = 1
) -> OrderFacts:
    """The facts of order ``tx`` as seen from ``datatoken``; BadRequest when there is none,
    or when its block is not yet ``confirmations`` deep (a reorg could still undo it)."""
    if not _TX.fullmatch(tx or ""):
        raise BadRequest(f"{label}: transferTxId {tx[:80]!r} is not a transaction hash")
    facts = _read(client, tx, datatoken, label=label, depth=0)
    if confirmations > 1:
        _deep_enough(client, tx, label=label, confirmations=confirmations)
    return facts


def _deep_enough(client: ChainClient, tx: str, *, label: str, confirmations: int) -> None:
    try:
        mined = int(client.w3.eth.get_transaction_receipt(HexBytes(tx))["blockNumber"])
        latest = int(client.w3.eth.block_number)
    except (Web3Exception, OSError) as error:
        raise ServiceUnavailable(f"chain {client.chain_id} cannot be read now: {error}") from None
    depth = latest - mined + 1
    if depth < confirmations:
        raise BadRequest(
            f"{label}: order {tx} is {depth} block(s) deep; chain {client.chain_id} accepts"
            f" orders {confirmations} blocks deep: start again after"
            f" {confirmations - depth} more block(s)"
        )


def _read(client: ChainClient, tx: str, datatoken: str, *, label: str, depth: int) -> OrderFacts:
    try:
        receipt = client.w3.eth.get_transaction_receipt(HexBytes(tx))
    except TransactionNotFound:
        raise BadRequest(f"{label}: order {tx} is not on chain {client.chain_id}") from None
    except (Web3Exception, OSError) as error:
        raise ServiceUnavailable(f"chain {client.chain_id} cannot be read now: {error}") from None
    token = client.contract("ERC20Template", datatoken)
    failed = OrderFacts(tx, False, None, "", "", -1, 0, None)
    if receipt["status"] != 1:
        return failed
    fees = client.events(token, "ProviderFee", receipt)
    fee = _fee(fees[-1]["args"]) if fees else None
    started = client.events(token, "OrderStarted", receipt, any_emitter=True)
    if started:
        event = started[0]
        args = event["args"]
        return OrderFacts(
            tx=tx,
            succeeded=True,
            datatoken=str(event["address"]),
            consumer=str(args["consumer"]),
            payer=str(args["payer"]),
            service_index=int(args["serviceIndex"]),
            timestamp=int(args["timestamp"]),
            provider_fee=fee,
        )
    reused = client.events(token, "OrderReused", receipt)
    if reused and depth < _MAX_REUSE_DEPTH:
        original_tx = "0x" + bytes(reused[0]["args"]["orderTxId"]).hex()
        original = _read(client, original_tx, datatoken, label=label, depth=depth + 1)
        return replace(original, tx=tx, provider_fee=fee or original.provider_fee)
    return replace(failed, succeeded=True)


def _fee(args: Any) -> ProviderFee:
    return ProviderFee(
        address=str(args["providerFeeAddress"]),
        token=str(args["providerFeeToken"]),
        amount=int(args["providerFeeAmount"]),
        provider_data=bytes(args["providerData"]),
        v=int(args["v"]),
        r=bytes(args["r"]),
        s=bytes(args["s"]),
        valid_until=int(args["validUntil"]),
    )
