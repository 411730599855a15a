"""An Ocean AccessList (ERC-721) deployed on the dev chain: whoever holds one of its tokens is on
the list."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount

from devkit.artifacts import contract, deploy
from provider.chain.client import ChainClient


class AccessList:
    def __init__(self, client: ChainClient, owner: LocalAccount) -> None:
        self.client, self.owner = client, owner
        self.address = deploy(client, owner, "AccessList")
        self._contract = contract(client, "AccessList", self.address)
        client.transact(
            owner,
            self._contract.functions.initialize(owner.address, "Gate", "GT", False, [], []),
            "initialize the access list",
        )

    def mint(self, to: str) -> None:
        self.client.transact(self.owner, self._contract.functions.mint(to, ""), "mint")
