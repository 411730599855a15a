"""One dev chain per session (anvil + Ocean contracts), a provider serving it, and a market
helper that publishes, orders and starts paid jobs the way a consumer's tools would."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from devkit.demo import assets
from devkit.demo.files import FileServer
from devkit.devchain import chain_down, chain_up
from devkit.launch import ServerProcess, free_port, start_server
from provider.chain.client import ChainClient
from provider.chain.files import DevChain
from tests.chain.market import Market

# The provider fetches the test files from loopback, which its download guard refuses unless
# told otherwise.
SERVER_ENV = {"C2D_SOURCE_NETWORKS": "127.0.0.0/8"}


@pytest.fixture(scope="session")
def chain_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("c2d-chain-home")
    chain_up(home, free_port())
    yield home
    chain_down(home)


@pytest.fixture(scope="session")
def dev_chain(chain_home: Path) -> DevChain:
    from provider.chain.files import load_dev_chain

    chain = load_dev_chain(chain_home)
    assert chain is not None
    return chain


@pytest.fixture(scope="session")
def paid_server(chain_home: Path, chain_files: FileServer) -> Iterator[ServerProcess]:
    # The test file server is the operator's ipfs and arweave gateway as well.
    gateway = chain_files.url("").rstrip("/")
    env = {**SERVER_ENV, "C2D_IPFS_GATEWAY": gateway, "C2D_ARWEAVE_GATEWAY": gateway}
    server = start_server(chain_home, env=env)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def chain_files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FileServer]:
    folder = tmp_path_factory.mktemp("chain-files")
    assets.write_csv(folder / "weather.csv", rows=30)
    (folder / "stats.py").write_text(assets.ALGORITHM_CODE)
    (folder / "fail.py").write_text("raise SystemExit(3)\n")
    server = FileServer(folder)
    server.folder = folder  # type: ignore[attr-defined]
    yield server
    server.close()


@pytest.fixture(scope="session")
def market(
    dev_chain: DevChain, paid_server: ServerProcess, chain_files: FileServer
) -> Iterator[Market]:
    publisher = Account.from_key(dev_chain.accounts[1].private_key)
    with Market(ChainClient(dev_chain.rpc), dev_chain, paid_server.url, publisher) as helper:
        helper.files = chain_files
        yield helper


@pytest.fixture
def buyer(dev_chain: DevChain, market: Market) -> LocalAccount:
    """A fresh consumer with gas and fee tokens (sent from the funded accounts)."""
    return market.new_consumer()


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
