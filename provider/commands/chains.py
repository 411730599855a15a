"""``c2d chains``: per served chain, the RPC answering, its head, the provider's gas, and how far
the provider's asset index has read it."""

from __future__ import annotations

import argparse

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "chains"
HELP = (
    "show each served chain: RPC in use, head block, the provider's gas (exit 1 if short),"
    " the asset index's progress"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser  # no options: C2D_HOME, C2D_CONFIG and the provider key say what is served


def run(args: argparse.Namespace) -> int:
    from provider.chain.client import ChainClient
    from provider.chains.health import chain_health
    from provider.chains.served import served_chains
    from provider.environments import load_config
    from provider.indexer.store import IndexStore
    from provider.keys import load_provider_account
    from provider.settings import load_settings

    settings = load_settings()
    configured = load_config(settings.config).chains if settings.config else ()
    chains = served_chains(configured, settings.home)
    if not chains:
        print("no chain is served (free jobs only): configure chains: in C2D_CONFIG")
        return 0
    key = settings.provider_private_key
    account = load_provider_account(key.get_secret_value() if key else None, settings.key_file)
    healthy = True
    heads: dict[int, int | None] = {}
    for chain in chains:
        client = ChainClient(chain.rpcs, chain_id=chain.chain_id, timeout=10)
        health = chain_health(client, account.address)
        healthy = healthy and health.can_pay_claim
        heads[chain.chain_id] = health.head if health.rpc else None
        print(health.describe())
    index = settings.state_dir / "index.sqlite"
    cursors = {c.chain_id: c for c in IndexStore(index).cursors()} if index.exists() else {}
    for chain_id, head in heads.items():
        cursor = cursors.get(chain_id)
        if cursor is None:
            print(f"chain {chain_id}: assets not indexed yet (`c2d serve` indexes them)")
        else:
            print(cursor.describe(head))
    return 0 if healthy else 1
