"""ERC-1271: whether a contract wallet (a smart account) signed a message, asked of the
contract itself on each served chain where the address has code."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from web3 import Web3
from web3.exceptions import Web3Exception

from provider.chain.client import ChainClient

__all__ = ["MAGIC_VALUE", "Erc1271Signers"]

# bytes4(keccak256("isValidSignature(bytes32,bytes)")): what a wallet answers to "yes".
MAGIC_VALUE = bytes.fromhex("1626ba7e")
_ABI: list[dict[str, Any]] = [
    {
        "name": "isValidSignature",
        "type": "function",
        "stateMutability": "view",
        "inputs": [{"name": "hash", "type": "bytes32"}, {"name": "signature", "type": "bytes"}],
        "outputs": [{"name": "magicValue", "type": "bytes4"}],
    }
]


class Erc1271Signers:
    def __init__(self, clients: Mapping[int, ChainClient]) -> None:
        self._clients = dict(clients)

    def signed_by(self, address: str, digests: Sequence[bytes], signature: bytes) -> bool:
        """Whether the contract at ``address`` accepts ``signature`` over one of ``digests``
        on a served chain. A chain that cannot be read now proves nothing."""
        try:
            wallet = Web3.to_checksum_address(address)
        except ValueError:
            return False
        for client in self._clients.values():
            try:
                if not client.w3.eth.get_code(wallet):
                    continue
                contract = client.w3.eth.contract(address=wallet, abi=_ABI)
                for digest in digests:
                    if _answers_yes(contract, digest, signature):
                        return True
            except (Web3Exception, OSError, ValueError):
                continue
        return False


def _answers_yes(contract: Any, digest: bytes, signature: bytes) -> bool:
    try:
        answer = contract.functions.isValidSignature(digest, signature).call()
    except (Web3Exception, ValueError):
        return False  # a revert is a "no"
    return bytes(answer) == MAGIC_VALUE
