"""The chains a provider serves, from the config file's ``chains:`` or the dev chain."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from provider.chain.files import DevChain, load_dev_chain
from provider.chains.address_book import ChainAddresses, load_addresses
from provider.chains.config import ChainConfig

__all__ = ["ServedChain", "served_chains"]


@dataclass(frozen=True)
class ServedChain:
    chain_id: int
    rpcs: tuple[str, ...]
    addresses: ChainAddresses
    start_block: int
    confirmations: int
    dev: bool  # the anvil chain of `c2d chain up`: the only one given gas by the provider

    @property
    def name(self) -> str:
        return f"chain {self.chain_id}"

    @classmethod
    def configured(cls, index: int, config: ChainConfig) -> ServedChain:
        addresses = load_addresses(
            config.addresses, config.chain_id, where=f"chains.{index}.addresses"
        )
        start = config.start_block if config.start_block is not None else addresses.start_block
        return cls(
            chain_id=config.chain_id,
            rpcs=config.rpc,
            addresses=addresses,
            start_block=start,
            confirmations=config.confirmations,
            dev=False,
        )

    @classmethod
    def of_dev_chain(cls, chain: DevChain) -> ServedChain:
        entry = {"chainId": chain.chain_id, "startBlock": chain.start_block, **chain.addresses}
        return cls(
            chain_id=chain.chain_id,
            rpcs=(chain.rpc,),
            addresses=ChainAddresses(entry),
            start_block=chain.start_block,
            confirmations=1,
            dev=True,
        )


def served_chains(configured: tuple[ChainConfig, ...], home: Path) -> list[ServedChain]:
    """The configured chains; with none configured, the dev chain of ``home`` if it has one."""
    if configured:
        return [ServedChain.configured(i, chain) for i, chain in enumerate(configured)]
    dev = load_dev_chain(home)
    return [ServedChain.of_dev_chain(dev)] if dev else []
