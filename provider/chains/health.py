"""What an operator watches per chain: the RPC in use, its head, the provider's gas."""

from __future__ import annotations

from dataclasses import dataclass

from web3 import Web3

from provider.chain.client import ChainClient, ChainUnavailable
from provider.chain.failover import RpcUnavailable

__all__ = ["CLAIM_GAS", "ChainHealth", "chain_health"]

# Gas a claimLockAndWithdraw takes, with room (about 120,000 on anvil).
CLAIM_GAS = 250_000


@dataclass(frozen=True)
class ChainHealth:
    chain_id: int
    address: str
    rpc: str | None = None  # the URL that answered; None: none did
    error: str = ""
    head: int = 0
    balance: int = 0  # wei of the native token
    claim_cost: int = 0  # wei one claim costs at the current gas price

    @property
    def can_pay_claim(self) -> bool:
        return self.rpc is not None and self.balance >= self.claim_cost

    def describe(self) -> str:
        if self.rpc is None:
            prefix = f"chain {self.chain_id}: "
            return self.error if self.error.startswith(prefix) else prefix + self.error
        line = (
            f"chain {self.chain_id}: provider {self.address} has"
            f" {Web3.from_wei(self.balance, 'ether')} native tokens for gas; block {self.head}"
            f" at {self.rpc}"
        )
        if not self.can_pay_claim:
            line += (
                f"; cannot pay for a claim (needs about"
                f" {Web3.from_wei(self.claim_cost, 'ether')} at the current gas price)"
            )
        return line


def chain_health(client: ChainClient, address: str) -> ChainHealth:
    try:
        w3 = client.w3
        balance = int(w3.eth.get_balance(Web3.to_checksum_address(address)))
        return ChainHealth(
            chain_id=client.chain_id,
            address=address,
            rpc=client.provider.current_url,
            head=int(w3.eth.block_number),
            balance=balance,
            claim_cost=int(w3.eth.gas_price) * CLAIM_GAS,
        )
    except (RpcUnavailable, ChainUnavailable) as error:
        return ChainHealth(chain_id=client.chain_id, address=address, error=str(error))
