"""Ocean access lists read on chain: an ERC-721 contract whose holders are let in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from web3.exceptions import ContractLogicError, Web3Exception

from provider.chain.client import ChainClient
from provider.environment_access import AccessConfig
from provider.errors import ConfigError, ServiceUnavailable

__all__ = ["ChainAccessLists", "check_access_chains"]


class ChainAccessLists:
    """``holds``: ``balanceOf(address) > 0`` on the access-list contract, as Ocean Node asks."""

    def __init__(self, clients: Mapping[int, ChainClient]) -> None:
        self._clients = dict(clients)

    def holds(self, chain_id: int, contract: str, address: str) -> bool:
        client = self._clients.get(chain_id)
        if client is None:
            # check_access_chains refuses such a configuration at start.
            raise ServiceUnavailable(f"chain {chain_id} of an access list is not served here")
        # The standard ERC-721 balanceOf, which the shipped NFT template's ABI has.
        token = client.contract("ERC721Template", contract)
        try:
            balance = int(token.functions.balanceOf(client.w3.to_checksum_address(address)).call())
        except ContractLogicError:
            # Not an ERC-721 there (or it reverts): nobody holds a token of it.
            return False
        except (Web3Exception, OSError, ValueError) as error:
            raise ServiceUnavailable(f"chain {chain_id} cannot be read now: {error}") from None
        return balance > 0


def check_access_chains(accesses: Iterable[tuple[str, AccessConfig]], served: set[int]) -> None:
    """ConfigError when an environment's access list is on a chain this provider does not serve
    (the check could never pass; it would refuse everyone)."""
    for env_id, access in accesses:
        for chain, _ in access.contracts():
            if int(chain) not in served:
                shown = ", ".join(map(str, sorted(served))) or "none"
                raise ConfigError(
                    f"environment {env_id}: access list on chain {chain}, which is not served"
                    f" (served: {shown})"
                )
