"""Contract addresses of a chain: a network of the shipped address.json, or a file like it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from provider.errors import ConfigError

__all__ = ["SHIPPED", "ChainAddresses", "load_addresses"]

SHIPPED = Path(__file__).with_name("address.json")

# What paid compute needs of a deployment.
_REQUIRED = ("ERC721Factory", "Escrow", "Ocean")


class ChainAddresses:
    """One network's entry of an address.json: chainId, startBlock and contract addresses."""

    def __init__(self, entry: dict[str, Any]) -> None:
        self.entry = entry

    @property
    def chain_id(self) -> int:
        return int(self.entry["chainId"])

    @property
    def start_block(self) -> int:
        return int(self.entry.get("startBlock", 0))

    def address(self, name: str) -> str:
        value = self.entry[name]
        # Templates are written {"1": address}; other contracts as a plain address.
        return str(value["1"] if isinstance(value, dict) else value)


def load_addresses(source: str, chain_id: int, *, where: str) -> ChainAddresses:
    """The deployment for ``chain_id`` named by ``source`` (network name or file path);
    ConfigError naming ``where`` (the config field) when there is none usable."""
    book = _read(SHIPPED)
    if source in book:
        entries = {source: book[source]}
    else:
        path = Path(source).expanduser()
        if not path.is_file():
            known = ", ".join(sorted(book))
            raise ConfigError(
                f"{where}: {source!r} is neither a network of Ocean's address.json ({known})"
                " nor a file"
            )
        entries = _read(path)
    matching = [
        (name, entry)
        for name, entry in entries.items()
        if isinstance(entry, dict) and _chain_id(entry) == chain_id
    ]
    if not matching:
        found = sorted({str(_chain_id(e)) for e in entries.values() if isinstance(e, dict)})
        raise ConfigError(
            f"{where}: {source!r} has no deployment on chain {chain_id}"
            f" (it has chains {', '.join(found) or 'none'})"
        )
    name, entry = matching[0]
    missing = [contract for contract in _REQUIRED if contract not in entry]
    if missing:
        raise ConfigError(
            f"{where}: network {name!r} of {source!r} has no {', '.join(missing)} contract;"
            " paid compute needs them"
        )
    return ChainAddresses(entry)


def _chain_id(entry: dict[str, Any]) -> int | None:
    try:
        return int(entry["chainId"])
    except (KeyError, TypeError, ValueError):
        return None


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ConfigError(f"cannot read addresses from {path}: {error}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} is not an address.json (an object of networks)")
    return data
