"""The asset index on its own anvil with the real Ocean contracts: publish, update and state
changes followed; compressed and encrypted DDOs read; a wrong hash refused; a restart resumes
from the stored cursor; a reorg (evm_snapshot / evm_revert) removes what it undid."""

from __future__ import annotations

import hashlib
import json
import lzma
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_keys.datatypes import PrivateKey

from devkit.anvil import anvil_keys, start_anvil, stop_anvil
from devkit.deploy import deploy_ocean
from devkit.launch import free_port
from devkit.publish import create_tokens
from provider.assets.ddo import did_for
from provider.assets.encryption import decrypt, encrypt
from provider.chain.client import ChainClient
from provider.chain.files import ChainFiles, DevChain
from provider.errors import Forbidden, NotFound
from provider.indexer.follower import ChainIndexer
from provider.indexer.resolver import IndexResolver
from provider.indexer.store import IndexStore

CHAIN = 31340
PROVIDER = Account.create()
STRANGER = Account.create()


def _public(account: LocalAccount) -> bytes:
    return PrivateKey(bytes(account.key)).public_key.to_bytes()


def _decrypt(data: bytes) -> bytes:
    return decrypt(bytes(PROVIDER.key), data)


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevChain]:
    files = ChainFiles(tmp_path_factory.mktemp("index-chain"))
    rpc = start_anvil(files, free_port(), chain_id=CHAIN)
    try:
        yield deploy_ocean(ChainClient(rpc), anvil_keys(files))
    finally:
        stop_anvil(files)


@pytest.fixture(scope="module")
def client(chain: DevChain) -> ChainClient:
    return ChainClient(chain.rpc)


@pytest.fixture(scope="module")
def publisher(chain: DevChain) -> LocalAccount:
    account: LocalAccount = Account.from_key(chain.accounts[1].private_key)
    return account


def _index(chain: DevChain, db: Path, step: int = 2000) -> tuple[ChainIndexer, IndexResolver]:
    store = IndexStore(db)
    indexer = ChainIndexer(
        ChainClient(chain.rpc),
        store,
        factory=chain.address("ERC721Factory"),
        start_block=chain.start_block,
        decrypt=_decrypt,
        step=step,
    )
    return indexer, IndexResolver(indexer, store, _decrypt)


def _ddo(nft: str, name: str) -> dict[str, Any]:
    return {
        "id": did_for(nft, CHAIN),
        "version": "4.1.0",
        "chainId": CHAIN,
        "nftAddress": nft,
        "metadata": {"type": "dataset", "name": name},
        "services": [
            {"id": "s", "type": "compute", "files": {"files": [{"url": "http://x/a.csv"}]}}
        ],
    }


def _set_metadata(
    client: ChainClient,
    publisher: LocalAccount,
    nft: str,
    name: str,
    *,
    flags: int = 0,
    reader: LocalAccount = PROVIDER,
    hashed: bytes | None = None,
) -> None:
    plain = json.dumps(_ddo(nft, name)).encode()
    data = lzma.compress(plain) if flags & 1 else plain
    data = encrypt(_public(reader), data) if flags & 2 else data
    digest = hashlib.sha256(hashed or plain).digest()
    call = client.contract("ERC721Template", nft).functions.setMetaData(
        0, "http://provider", PROVIDER.address, bytes([flags]), data, digest, []
    )
    client.transact(publisher, call, "setMetaData")


def _publish(
    client: ChainClient, chain: DevChain, publisher: LocalAccount, name: str, **options: Any
) -> str:
    nft, _datatoken = create_tokens(client, chain, publisher, name)
    _set_metadata(client, publisher, nft, name, **options)
    return did_for(nft, CHAIN)


def _head(client: ChainClient) -> int:
    return int(client.w3.eth.block_number)


def test_publish_update_and_state_change_are_followed(
    chain: DevChain, client: ChainClient, publisher: LocalAccount, tmp_path: Path
) -> None:
    indexer, resolver = _index(chain, tmp_path / "index.sqlite")
    nft, _datatoken = create_tokens(client, chain, publisher, "followed")
    did = did_for(nft, CHAIN)
    with pytest.raises(NotFound, match="not found on chain 31340"):
        resolver.resolve(did)

    _set_metadata(client, publisher, nft, "first")
    # Resolving catches the index up itself: what was just published is found.
    assert resolver.resolve(did).metadata.name == "first"
    _set_metadata(client, publisher, nft, "second")
    assert resolver.resolve(did).metadata.name == "second"
    assert resolver.record(did).metadata.kind == "updated"

    template = client.contract("ERC721Template", nft)
    client.transact(publisher, template.functions.setMetaDataState(3), "setMetaDataState")
    with pytest.raises(Forbidden, match="revoked"):
        resolver.resolve(did)
    assert resolver.record(did).state == 3
    assert indexer.catch_up().events == 0


@pytest.mark.parametrize(("flags", "what"), [(1, "compressed"), (2, "encrypted"), (3, "both")])
def test_compressed_and_encrypted_ddos_resolve(
    chain: DevChain,
    client: ChainClient,
    publisher: LocalAccount,
    tmp_path: Path,
    flags: int,
    what: str,
) -> None:
    did = _publish(client, chain, publisher, what, flags=flags)
    _indexer, resolver = _index(chain, tmp_path / "index.sqlite")
    assert resolver.resolve(did).metadata.name == what


@pytest.mark.parametrize(
    ("options", "message", "status"),
    [
        ({"flags": 2, "reader": STRANGER}, "encrypted for another provider", "unreadable"),
        ({"hashed": b"another document"}, "does not match its hash on chain", "hash-mismatch"),
    ],
)
def test_a_ddo_the_index_cannot_trust_is_kept_refused(
    chain: DevChain,
    client: ChainClient,
    publisher: LocalAccount,
    tmp_path: Path,
    options: dict[str, Any],
    message: str,
    status: str,
) -> None:
    did = _publish(client, chain, publisher, status, **options)
    _indexer, resolver = _index(chain, tmp_path / "index.sqlite")
    with pytest.raises(Forbidden, match=message):
        resolver.resolve(did)
    assert resolver.record(did).metadata.status == status


def test_restart_resumes_from_the_stored_cursor(
    chain: DevChain, client: ChainClient, publisher: LocalAccount, tmp_path: Path
) -> None:
    db = tmp_path / "index.sqlite"
    before = _publish(client, chain, publisher, "before restart")
    first, _resolver = _index(chain, db, step=7)
    done = first.catch_up()
    assert done.start == chain.start_block
    assert done.end == _head(client)
    stored = IndexStore(db).cursor(CHAIN)
    assert stored is not None and stored.block == done.end

    after = _publish(client, chain, publisher, "after restart")
    # A new indexer over the same file: what a provider started again builds.
    again, resolver = _index(chain, db, step=7)
    resumed = again.catch_up()
    assert resumed.start == stored.block + 1
    assert resumed.end == _head(client)
    assert resumed.events == 1
    assert resolver.resolve(before).metadata.name == "before restart"
    assert resolver.resolve(after).metadata.name == "after restart"


def test_reorg_removes_the_asset_it_undid(
    chain: DevChain, client: ChainClient, publisher: LocalAccount, tmp_path: Path
) -> None:
    kept = _publish(client, chain, publisher, "kept")
    indexer, resolver = _index(chain, tmp_path / "index.sqlite", step=5)
    indexer.catch_up()
    fork = _head(client)
    snapshot = client.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    undone = _publish(client, chain, publisher, "undone")
    assert resolver.resolve(undone).metadata.name == "undone"
    replaced_to = _head(client)

    assert client.w3.provider.make_request("evm_revert", [snapshot])["result"] is True  # type: ignore[arg-type]
    # The other branch grows longer than the one indexed, as a real reorg's does.
    client.w3.provider.make_request("anvil_mine", [hex(replaced_to - fork + 3)])  # type: ignore[arg-type]

    again = indexer.catch_up()
    assert again.rolled_back_to == fork
    assert again.end == _head(client)
    with pytest.raises(NotFound):
        resolver.resolve(undone)
    stored = IndexStore(tmp_path / "index.sqlite").cursor(CHAIN)
    assert stored is not None and stored.block == _head(client)
    assert resolver.resolve(kept).metadata.name == "kept"
