"""Wire the served chains in at start-up: per chain a client, indexer, order gate and escrow."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3

from provider.assets.encryption import decrypt
from provider.assets.resolver import AssetResolver, FirstFound
from provider.chain.client import ChainClient, ChainUnavailable
from provider.chain.escrow import EscrowClient
from provider.chains.config import ChainConfig
from provider.chains.health import chain_health
from provider.chains.served import ServedChain, served_chains
from provider.errors import ConfigError
from provider.indexer.follower import ChainIndexer
from provider.indexer.resolver import IndexResolver
from provider.indexer.runner import AssetIndex
from provider.indexer.store import IndexStore
from provider.payments.base import NoPayments, PaymentGate
from provider.payments.by_chain import PaymentsByChain
from provider.payments.chain_gate import ChainPayments
from provider.payments.settlement import Settler
from provider.payments.store import SettlementStore
from provider.statedb.base import Database
from provider.statedb.leader import Leadership

__all__ = ["DEV_PRICES", "ChainSetup", "build_chain_setup", "dev_fees", "fund_gas"]

_log = logging.getLogger("c2d.chain")

# Gas for the provider's own transactions (locks, claims) on the dev chain, in wei.
_DEV_GAS = 100 * 10**18

# Per-minute prices of the dev chain's paid environment, in its OCEAN per unit of resource.
DEV_PRICES = {"cpu": 1.0, "ram": 0.5, "disk": 0.1}


@dataclass(frozen=True)
class ChainSetup:
    resolver: AssetResolver
    payments: PaymentGate
    settler: Settler | None
    chains: tuple[ServedChain, ...]
    fees: dict[str, Any] | None  # the dev chain's paid environment's fees, when it is served
    # The client of each chain served, by chain id (the access routes read orders with it).
    clients: dict[int, ChainClient] = field(default_factory=dict)
    # The index of the served chains' assets (its thread is started by the app).
    index: AssetIndex | None = None


def dev_fees(chain: ServedChain) -> dict[str, Any]:
    prices = [{"id": resource, "price": price} for resource, price in DEV_PRICES.items()]
    return {str(chain.chain_id): [{"feeToken": chain.addresses.address("Ocean"), "prices": prices}]}


def build_chain_setup(
    home: Path,
    account: LocalAccount,
    registry: AssetResolver,
    database: Path | Database,
    configured: tuple[ChainConfig, ...] = (),
    *,
    settlement_retry: float = 30.0,
    leader: Leadership | None = None,
    orphan_grace: float = 0.0,
    index_interval: float = 5.0,
    served: list[ServedChain] | None = None,
) -> ChainSetup:
    """Serve the configured chains, else the dev chain recorded in ``home``, else none."""
    # ``served``: already read (as root, before the privilege split drops to the API user:
    # the address books and the dev chain's record may be files only root can read).
    chains = served if served is not None else served_chains(configured, home)
    if not chains:
        return ChainSetup(
            resolver=registry, payments=NoPayments(), settler=None, chains=(), fees=None
        )
    store = SettlementStore(database)
    # The asset index is this process's own cache of the chains (never shared between
    # replicas: each reads the chain itself), so always a file beside the other state.
    index_store = IndexStore(home / "state" / "index.sqlite")
    indexers: list[ChainIndexer] = []
    resolvers: list[IndexResolver] = []

    def decrypt_ours(data: bytes) -> bytes:
        return decrypt(bytes(account.key), data)

    clients: dict[int, ChainClient] = {}
    escrows: dict[int, EscrowClient] = {}
    gates: dict[int, ChainPayments] = {}
    for chain in chains:
        client = ChainClient(chain.rpcs, chain_id=chain.chain_id)
        if _check_answers(chain, client):
            if chain.dev:
                fund_gas(client, account.address)
            report_gas(chain, client, account.address)
        escrow = EscrowClient(client, chain.addresses.address("Escrow"), account)
        clients[chain.chain_id] = client
        escrows[chain.chain_id] = escrow
        gates[chain.chain_id] = ChainPayments(
            client=client,
            escrow=escrow,
            account=account,
            store=store,
            clock=time.time,
            confirmations=chain.confirmations,
        )
        indexer = ChainIndexer(
            client,
            index_store,
            factory=chain.addresses.address("ERC721Factory"),
            start_block=chain.start_block,
            decrypt=decrypt_ours,
        )
        indexers.append(indexer)
        resolvers.append(IndexResolver(indexer, index_store, decrypt_ours))
    settler = Settler(
        escrows=escrows,
        store=store,
        clock=time.time,
        retry=settlement_retry,
        leader=leader,
        orphan_grace=orphan_grace,
    )
    dev = [chain for chain in chains if chain.dev]
    return ChainSetup(
        resolver=FirstFound(*resolvers, registry),
        payments=PaymentsByChain(gates, clients, settler),
        settler=settler,
        chains=tuple(chains),
        fees=dev_fees(dev[0]) if dev else None,
        clients=clients,
        index=AssetIndex(indexers, resolvers, index_store, interval=index_interval),
    )


def _check_answers(chain: ServedChain, client: ChainClient) -> bool:
    """Whether the chain answers now; ConfigError when an RPC serves another chain, or when
    the dev chain is gone (a configured chain that is down is served once it answers)."""
    try:
        answered = client.answering_chain_id()
    except ChainUnavailable as error:
        if chain.dev:
            raise ConfigError(
                f"the dev chain does not answer at {chain.rpcs[0]}: run `c2d chain up` again,"
                " or `c2d chain down` to serve no chain"
            ) from None
        _log.warning(
            "%s: no RPC answers now (%s); paid starts on it answer 503 until one does",
            chain.name,
            error,
        )
        return False
    if answered != chain.chain_id:
        raise ConfigError(
            f"{chain.name}: the RPC {client.provider.current_url} serves chain {answered}"
        )
    return True


def report_gas(chain: ServedChain, client: ChainClient, address: str) -> None:
    """Log the provider's address and gas on ``chain``; warn when it cannot pay for a claim."""
    health = chain_health(client, address)
    if health.can_pay_claim:
        _log.info("%s", health.describe())
    else:
        _log.warning("%s; fund it before selling compute", health.describe())


def fund_gas(client: ChainClient, address: str) -> None:
    """Give ``address`` gas on the dev chain (anvil only) when it has none."""
    if int(client.w3.eth.get_balance(Web3.to_checksum_address(address))) > 0:
        return
    client.w3.provider.make_request("anvil_setBalance", [address, hex(_DEV_GAS)])  # type: ignore[arg-type]
