"""``c2d chain up|down``: a local anvil chain with the Ocean contracts, recorded in C2D_HOME."""

from __future__ import annotations

import argparse

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "chain"
HELP = "start (up) or stop (down) a local dev chain with the Ocean contracts"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("up", "down"))
    parser.add_argument("--port", type=int, default=8545, help="anvil's port on 127.0.0.1")


def run(args: argparse.Namespace) -> int:
    from devkit.devchain import chain_down, chain_up
    from provider.settings import load_settings

    home = load_settings().home
    if args.action == "down":
        stopped = chain_down(home)
        print("dev chain stopped" if stopped else "no dev chain was running")
        return 0
    result = chain_up(home, args.port)
    chain = result.chain
    state = "started" if result.started else "already running"
    print(f"dev chain {state}: {chain.rpc} (chainId {chain.chain_id})")
    print(f"addresses: {home / 'chain' / 'addresses.json'}")
    print(f"accounts:  {home / 'chain' / 'accounts.json'} ({len(chain.accounts)} funded)")
    return 0
