"""The provider calls contracts through the ABIs it ships, never through js/node_modules."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit import artifacts
from provider.chain.abi import PROVIDER_CONTRACTS
from provider.chain.client import ChainClient
from provider.errors import ConfigError

ROOT = Path(__file__).resolve().parents[3]
ADDRESS = "0x" + "11" * 20


@pytest.fixture
def no_node_modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("C2D_JS_DIR", str(tmp_path))
    artifacts.load_artifact.cache_clear()
    yield
    artifacts.load_artifact.cache_clear()


@pytest.mark.usefixtures("no_node_modules")
def test_the_provider_loads_its_contracts_without_node_modules() -> None:
    with pytest.raises(ConfigError, match="not found"):
        artifacts.load_artifact("Escrow")  # the npm package is really absent
    client = ChainClient("http://127.0.0.1:9")  # web3 connects lazily: no chain needed
    functions = {name: client.contract(name, ADDRESS).functions for name in PROVIDER_CONTRACTS}
    assert "createLock" in dir(functions["Escrow"])
    assert "startOrder" in dir(functions["ERC20Template"])
    assert "getMetaData" in dir(functions["ERC721Template"])
    assert "getCurrentNFTCount" in dir(functions["ERC721Factory"])


def test_every_contract_the_provider_names_is_shipped() -> None:
    named = {
        match
        for path in (ROOT / "provider").rglob("*.py")
        for match in re.findall(r"\.contract\(\s*\"(\w+)\"", path.read_text())
    }
    assert named
    assert named <= set(PROVIDER_CONTRACTS)


def test_a_contract_the_provider_does_not_ship_is_refused() -> None:
    with pytest.raises(ConfigError, match="ships no ABI for contract OceanToken"):
        ChainClient("http://127.0.0.1:9").contract("OceanToken", ADDRESS)
