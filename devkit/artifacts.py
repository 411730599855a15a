"""Contract ABIs and bytecode from the ``@oceanprotocol/contracts`` npm package's artifacts.

For deployment and the consumer side (OceanToken, FactoryRouter, ...); the provider itself reads
the ABIs it ships (provider.chain.abi), never js/node_modules.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract

from provider.chain.client import ChainClient
from provider.errors import ConfigError

__all__ = [
    "ANVIL_BINARY",
    "Artifact",
    "contract",
    "contracts_version",
    "deploy",
    "js_dir",
    "load_artifact",
]

# Where each contract's Hardhat artifact lives under artifacts/contracts/.
_PATHS = {
    "OceanToken": "utils/OceanToken.sol/OceanToken.json",
    "FactoryRouter": "pools/FactoryRouter.sol/FactoryRouter.json",
    "ERC721Template": "templates/ERC721Template.sol/ERC721Template.json",
    "ERC20Template": "templates/ERC20Template.sol/ERC20Template.json",
    "ERC721Factory": "ERC721Factory.sol/ERC721Factory.json",
    "FixedRateExchange": "pools/fixedRate/FixedRateExchange.sol/FixedRateExchange.json",
    "Dispenser": "pools/dispenser/Dispenser.sol/Dispenser.json",
    "Escrow": "escrow/Escrow.sol/Escrow.json",
    "AccessList": "accesslists/AccessList.sol/AccessList.json",
}
ANVIL_BINARY = "@foundry-rs/anvil-linux-amd64/bin/anvil"


class Artifact:
    def __init__(self, name: str, abi: list[dict[str, Any]], bytecode: str) -> None:
        self.name = name
        self.abi = abi
        self.bytecode = bytecode


def js_dir() -> Path:
    """The folder whose node_modules holds the npm packages (``C2D_JS_DIR``, else the repo's)."""
    configured = os.environ.get("C2D_JS_DIR")
    return Path(configured) if configured else Path(__file__).resolve().parents[1] / "js"


def _package() -> Path:
    return js_dir() / "node_modules" / "@oceanprotocol" / "contracts"


def contracts_version() -> str:
    return str(json.loads((_package() / "package.json").read_text())["version"])


@functools.cache
def load_artifact(name: str) -> Artifact:
    path = _package() / "artifacts" / "contracts" / _PATHS[name]
    try:
        raw = json.loads(path.read_text())
    except OSError as error:
        raise ConfigError(
            f"contract artifact {name} not found at {path}: run `npm ci` in js/ ({error.strerror})"
        ) from None
    return Artifact(name, raw["abi"], raw.get("bytecode", ""))


def contract(client: ChainClient, name: str, address: str) -> Contract:
    """Any deployed Ocean contract by name (``client.contract`` knows only what the provider
    ships)."""
    return client.w3.eth.contract(
        address=Web3.to_checksum_address(address), abi=load_artifact(name).abi
    )


def deploy(client: ChainClient, account: LocalAccount, name: str, *args: Any) -> str:
    """Deploy contract ``name`` with constructor ``args``; its address."""
    artifact = load_artifact(name)
    factory = client.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    receipt = client.transact(account, factory.constructor(*args), f"deploy {name}")
    address = receipt["contractAddress"]
    assert address is not None
    return str(address)
