"""``chain up`` / ``chain down`` as functions: idempotent start, deploy, record, stop."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from devkit.anvil import DEV_CHAIN_ID, anvil_keys, start_anvil, stop_anvil
from devkit.deploy import deploy_ocean
from provider.chain.client import ChainClient
from provider.chain.files import ChainFiles, DevChain, load_dev_chain
from provider.chain.rpc import rpc_answers

__all__ = ["ChainUp", "chain_down", "chain_up"]


@dataclass(frozen=True)
class ChainUp:
    chain: DevChain
    started: bool  # False: it was already up and is reused as is


def chain_up(home: Path, port: int) -> ChainUp:
    """Start anvil and deploy, or return the running deployment recorded in ``home``."""
    files = ChainFiles.under(home)
    existing = load_dev_chain(home)
    if existing is not None and _alive(existing):
        return ChainUp(existing, started=False)
    # Whatever was recorded is gone (anvil keeps no state across restarts): start afresh.
    stop_anvil(files)
    files.remove()
    rpc = start_anvil(files, port)
    try:
        chain = deploy_ocean(ChainClient(rpc), anvil_keys(files))
    except BaseException:
        stop_anvil(files)
        raise
    files.write(chain)
    return ChainUp(chain, started=True)


def chain_down(home: Path) -> bool:
    """Stop the dev chain of ``home`` and forget its deployment; False if none was running."""
    files = ChainFiles.under(home)
    stopped = stop_anvil(files)
    files.remove()
    return stopped


def _alive(chain: DevChain) -> bool:
    if rpc_answers(chain.rpc) != DEV_CHAIN_ID:
        return False
    code = ChainClient(chain.rpc).w3.eth.get_code(chain.escrow)  # type: ignore[arg-type]
    return len(code) > 0
