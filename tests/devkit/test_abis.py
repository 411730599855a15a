"""The ABIs the provider ships are those of the npm package js/ pins (no drift after a bump)."""

from __future__ import annotations

import json

from devkit.artifacts import contracts_version, load_artifact
from provider.chain.abi import ABI_DIR, PROVIDER_CONTRACTS


def test_the_shipped_abis_match_the_pinned_contracts_package() -> None:
    for name in PROVIDER_CONTRACTS:
        assert json.loads((ABI_DIR / f"{name}.json").read_text()) == load_artifact(name).abi, name
    assert f"version {contracts_version()}" in (ABI_DIR / "SOURCE.md").read_text()


def test_the_shipped_abis_carry_no_bytecode() -> None:
    for path in ABI_DIR.glob("*.json"):
        assert isinstance(json.loads(path.read_text()), list), path.name
