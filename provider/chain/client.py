"""Web3 access to one chain: contracts by name (the ABIs the provider ships), and locally
signed transactions."""

from __future__ import annotations

import functools
import threading
import warnings
from collections.abc import Sequence
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractConstructor, ContractFunction
from web3.exceptions import ContractLogicError, Web3Exception
from web3.logs import DISCARD
from web3.types import TxReceipt

from provider.chain.abi import load_abi
from provider.chain.failover import FailoverProvider, RpcUnavailable

__all__ = ["ChainClient", "ChainError", "ChainUnavailable"]


class ChainError(Exception):
    """A chain call or transaction failed; the message says which and why (no secrets)."""


class ChainUnavailable(ChainError):
    """None of the chain's RPC URLs answered."""


class ChainClient:
    """``rpc``: one URL or several tried in order on failure. With ``chain_id`` (what the
    configuration says) nothing is asked of the chain until it is used."""

    def __init__(
        self, rpc: str | Sequence[str], *, timeout: float = 30.0, chain_id: int | None = None
    ) -> None:
        urls = (rpc,) if isinstance(rpc, str) else tuple(rpc)
        self.rpc = urls[0]
        self.provider = FailoverProvider(urls, chain_id=chain_id or 0, timeout=timeout)
        self.w3 = Web3(self.provider)
        if chain_id is not None:
            self.__dict__["chain_id"] = chain_id
        # One sender at a time per client: nonces are taken from the chain just before signing.
        self._send_lock = threading.Lock()

    @functools.cached_property
    def chain_id(self) -> int:
        return int(self.w3.eth.chain_id)

    def answering_chain_id(self) -> int:
        """The chain id the RPC reports now; ChainUnavailable when no URL answers."""
        try:
            return int(self.w3.eth.chain_id)
        except RpcUnavailable as error:
            raise ChainUnavailable(str(error)) from None

    def contract(self, name: str, address: str) -> Contract:
        return self.w3.eth.contract(address=Web3.to_checksum_address(address), abi=load_abi(name))

    def transact(
        self, account: LocalAccount, call: ContractFunction | ContractConstructor, what: str
    ) -> TxReceipt:
        """Sign ``call`` with ``account``, send it, wait; ChainError with the revert reason."""
        return self._send(account, call, what)

    def _send(self, account: LocalAccount, call: Any, what: str) -> TxReceipt:
        with self._send_lock:
            try:
                tx = call.build_transaction(
                    {
                        "from": account.address,
                        "nonce": self.w3.eth.get_transaction_count(account.address, "pending"),
                        "chainId": self.chain_id,
                    }
                )
                signed = account.sign_transaction(tx)
                tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
            except ContractLogicError as error:
                raise ChainError(f"{what} reverted: {_reason(error)}") from None
            except RpcUnavailable as error:
                raise ChainUnavailable(f"{what} failed: {error}") from None
            except (Web3Exception, OSError, ValueError) as error:
                raise ChainError(f"{what} failed: {error}") from None
        try:
            receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60)
        except RpcUnavailable as error:
            raise ChainUnavailable(f"{what}: sent, receipt not read: {error}") from None
        if receipt["status"] != 1:
            raise ChainError(f"{what} reverted (transaction {tx_hash.to_0x_hex()})")
        return receipt

    def events(
        self, contract: Contract, event: str, receipt: TxReceipt, *, any_emitter: bool = False
    ) -> list[Any]:
        """The decoded ``event`` logs of ``receipt`` emitted by ``contract`` (or, with
        ``any_emitter``, by any contract with the same event); other logs are skipped."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = contract.events[event]().process_receipt(receipt, errors=DISCARD)
        address = contract.address.lower()
        return [log for log in found if any_emitter or str(log["address"]).lower() == address]


def _reason(error: ContractLogicError) -> str:
    message = str(error.message or error)
    return message.removeprefix("execution reverted: ")
