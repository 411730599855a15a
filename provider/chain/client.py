"""Web3 access to one chain: contracts by name (the ABIs the provider ships), and locally
signed transactions."""

from __future__ import annotations

import functools
import threading
import warnings
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractConstructor, ContractFunction
from web3.exceptions import ContractLogicError, Web3Exception
from web3.logs import DISCARD
from web3.types import TxReceipt

from provider.chain.abi import load_abi

__all__ = ["ChainClient", "ChainError"]


class ChainError(Exception):
    """A chain call or transaction failed; the message says which and why (no secrets)."""


class ChainClient:
    def __init__(self, rpc: str, *, timeout: float = 30.0) -> None:
        self.rpc = rpc
        self.w3 = Web3(Web3.HTTPProvider(rpc, request_kwargs={"timeout": timeout}))
        # One sender at a time per client: nonces are taken from the chain just before signing.
        self._send_lock = threading.Lock()

    @functools.cached_property
    def chain_id(self) -> int:
        return int(self.w3.eth.chain_id)

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
            except (Web3Exception, OSError, ValueError) as error:
                raise ChainError(f"{what} failed: {error}") from None
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60)
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
