"""The dev chain's files in ``C2D_HOME/chain``: addresses.json, accounts.json, the anvil pid."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provider.errors import ConfigError

__all__ = ["NETWORK", "ChainAccount", "ChainFiles", "DevChain", "load_dev_chain"]

# The network name ocean.js' ConfigHelper.getAddressesFromEnv looks the deployment up by.
NETWORK = "development"


@dataclass(frozen=True)
class ChainAccount:
    address: str
    private_key: str


@dataclass(frozen=True)
class DevChain:
    """A deployment as addresses.json records it, plus its funded accounts."""

    chain_id: int
    rpc: str
    start_block: int
    addresses: dict[str, Any]
    accounts: tuple[ChainAccount, ...]

    def address(self, name: str) -> str:
        value = self.addresses[name]
        return str(value["1"] if isinstance(value, dict) else value)

    @property
    def ocean(self) -> str:
        return self.address("Ocean")

    @property
    def escrow(self) -> str:
        return self.address("Escrow")


@dataclass(frozen=True)
class ChainFiles:
    folder: Path

    @classmethod
    def under(cls, home: Path) -> ChainFiles:
        return cls(home / "chain")

    @property
    def addresses(self) -> Path:
        return self.folder / "addresses.json"

    @property
    def accounts(self) -> Path:
        return self.folder / "accounts.json"

    @property
    def pid(self) -> Path:
        return self.folder / "anvil.pid"

    @property
    def log(self) -> Path:
        return self.folder / "anvil.log"

    def write(self, chain: DevChain) -> None:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        entry = {
            "chainId": chain.chain_id,
            "startBlock": chain.start_block,
            "RPC": chain.rpc,
            **chain.addresses,
        }
        self.addresses.write_text(json.dumps({NETWORK: entry}, indent=2) + "\n")
        keys = [{"address": a.address, "privateKey": a.private_key} for a in chain.accounts]
        self.accounts.touch(mode=0o600)
        self.accounts.write_text(json.dumps(keys, indent=2) + "\n")

    def remove(self) -> None:
        for path in (self.addresses, self.accounts, self.pid):
            path.unlink(missing_ok=True)


def load_dev_chain(home: Path) -> DevChain | None:
    """The dev chain recorded in ``home/chain``, or None when there is none."""
    files = ChainFiles.under(home)
    if not files.addresses.exists():
        return None
    try:
        entry = json.loads(files.addresses.read_text())[NETWORK]
        accounts = json.loads(files.accounts.read_text()) if files.accounts.exists() else []
        addresses = {
            key: value
            for key, value in entry.items()
            if key not in ("chainId", "startBlock", "RPC")
        }
        return DevChain(
            chain_id=int(entry["chainId"]),
            rpc=str(entry["RPC"]),
            start_block=int(entry.get("startBlock", 0)),
            addresses=addresses,
            accounts=tuple(ChainAccount(a["address"], a["privateKey"]) for a in accounts),
        )
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ConfigError(f"{files.addresses} is not a dev chain deployment: {error!r}") from None
