"""Contract ABIs and bytecode from the ``@oceanprotocol/contracts`` npm package's artifacts."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

from provider.errors import ConfigError

__all__ = ["ANVIL_BINARY", "Artifact", "js_dir", "load_artifact"]

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
    return Path(configured) if configured else Path(__file__).resolve().parents[2] / "js"


@functools.cache
def load_artifact(name: str) -> Artifact:
    base = js_dir() / "node_modules" / "@oceanprotocol" / "contracts" / "artifacts" / "contracts"
    path = base / _PATHS[name]
    try:
        raw = json.loads(path.read_text())
    except OSError as error:
        raise ConfigError(
            f"contract artifact {name} not found at {path}: run `npm ci` in js/ ({error.strerror})"
        ) from None
    return Artifact(name, raw["abi"], raw.get("bytecode", ""))
