"""The ABIs of the Ocean contracts the provider calls, shipped with the package.

The JSON files beside this module are the ``abi`` member of the ``@oceanprotocol/contracts``
artifacts (no bytecode), written by ``python -m devkit.export_abis``; SOURCE.md names the npm
version. Only what the running provider calls is here: deployment reads the full artifacts from
js/node_modules (devkit.artifacts).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from provider.errors import ConfigError

__all__ = ["ABI_DIR", "PROVIDER_CONTRACTS", "load_abi"]

ABI_DIR = Path(__file__).resolve().parent

# What the provider reads or calls at run time: the asset resolver (factory, NFT), the order
# reader (datatoken) and the escrow client.
PROVIDER_CONTRACTS = ("ERC20Template", "ERC721Factory", "ERC721Template", "Escrow")


@functools.cache
def load_abi(name: str) -> list[dict[str, Any]]:
    if name not in PROVIDER_CONTRACTS:
        raise ConfigError(f"the provider ships no ABI for contract {name}")
    abi: list[dict[str, Any]] = json.loads((ABI_DIR / f"{name}.json").read_text())
    return abi
