"""A second provider's home on the session's dev chain: its own key and state, the chain's
address book and funded accounts copied from the session's home."""

from __future__ import annotations

import shutil
from pathlib import Path

__all__ = ["provider_home"]


def provider_home(chain_home: Path, home: Path) -> Path:
    (home / "chain").mkdir(parents=True)
    for name in ("addresses.json", "accounts.json"):
        shutil.copy(chain_home / "chain" / name, home / "chain" / name)
    return home
