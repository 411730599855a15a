"""Wire the chain in at start-up: the dev chain of C2D_HOME → resolver, gate and paid fees."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount

from provider.assets.chain_resolver import ChainResolver, FirstFound
from provider.assets.encryption import decrypt
from provider.assets.resolver import AssetResolver
from provider.chain.client import ChainClient
from provider.chain.escrow import EscrowClient
from provider.chain.files import DevChain, load_dev_chain
from provider.chain.rpc import rpc_answers
from provider.errors import ConfigError
from provider.payments.base import NoPayments, PaymentGate
from provider.payments.chain_gate import ChainPayments
from provider.payments.store import SettlementStore

__all__ = ["DEV_PRICES", "ChainSetup", "build_chain_setup", "dev_fees", "fund_gas"]

# Gas for the provider's own transactions (locks, claims) on the dev chain, in wei.
_DEV_GAS = 100 * 10**18

# Per-minute prices of the dev chain's paid environment, in its OCEAN per unit of resource.
DEV_PRICES = {"cpu": 1.0, "ram": 0.5, "disk": 0.1}


@dataclass(frozen=True)
class ChainSetup:
    resolver: AssetResolver
    payments: PaymentGate
    settler: ChainPayments | None
    fees: dict[str, Any] | None  # the paid environment's fees, when a chain is served
    client: ChainClient | None = None  # the chain served, for the access routes' orders


def dev_fees(chain: DevChain) -> dict[str, Any]:
    prices = [{"id": resource, "price": price} for resource, price in DEV_PRICES.items()]
    return {str(chain.chain_id): [{"feeToken": chain.ocean, "prices": prices}]}


def build_chain_setup(
    home: Path, account: LocalAccount, registry: AssetResolver, db_path: Path
) -> ChainSetup:
    """Serve the dev chain recorded in ``home`` (ConfigError if it does not answer), else none."""
    chain = load_dev_chain(home)
    if chain is None:
        return ChainSetup(resolver=registry, payments=NoPayments(), settler=None, fees=None)
    if rpc_answers(chain.rpc, timeout=3) != chain.chain_id:
        raise ConfigError(
            f"the dev chain recorded in {home / 'chain'} does not answer at {chain.rpc}:"
            " run `c2d chain up` again, or `c2d chain down` to serve no chain"
        )
    client = ChainClient(chain.rpc)
    fund_gas(client, account.address)
    resolver = ChainResolver(
        client,
        factory=chain.address("ERC721Factory"),
        start_block=chain.start_block,
        decrypt=lambda data: decrypt(bytes(account.key), data),
    )
    gate = ChainPayments(
        client=client,
        escrow=EscrowClient(client, chain.escrow, account),
        account=account,
        store=SettlementStore(db_path),
        clock=time.time,
    )
    return ChainSetup(
        resolver=FirstFound(resolver, registry),
        payments=gate,
        settler=gate,
        fees=dev_fees(chain),
        client=client,
    )


def fund_gas(client: ChainClient, address: str) -> None:
    """Give ``address`` gas on the dev chain (anvil only) when it has none."""
    if int(client.w3.eth.get_balance(address)) > 0:  # type: ignore[arg-type]
        return
    client.w3.provider.make_request("anvil_setBalance", [address, hex(_DEV_GAS)])  # type: ignore[arg-type]
