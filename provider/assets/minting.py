"""Mint an asset: data NFT + datatoken, files encrypted by the provider, DDO on chain.

Used by publishers' tooling (devkit) and by this provider itself when it publishes a job's
results as an asset of their own (provider/assets/results.py).

The DDO itself is stored plain (flags 0) so that anyone can read an asset's policy; its
service files are encrypted for the provider (``POST /api/services/encrypt``), bound to the
NFT and datatoken, as Ocean does.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eth_account.signers.local import LocalAccount

from provider.assets.ddo import did_for
from provider.chain.client import ChainClient

__all__ = [
    "AssetDraft",
    "Published",
    "create_tokens",
    "mint_datatokens",
    "publish_asset",
    "transfer_nft",
]

Encrypt = Callable[[bytes], str]  # plain bytes → "0x…" ciphertext only the provider reads


@dataclass(frozen=True)
class AssetDraft:
    """What a publisher decides; everything else (ids, addresses, hash) is derived."""

    name: str
    type: str  # "dataset" or "algorithm"
    files: list[dict[str, Any]]
    service_type: str = "compute"  # "compute" or "access"
    # Further services over the same files and datatoken, after the first (a result published
    # for access and compute).
    more_service_types: tuple[str, ...] = ()
    timeout: int = 0
    compute: dict[str, Any] | None = None  # the policy of its compute services
    container: dict[str, str] | None = None  # algorithms: entrypoint, image, tag, checksum
    credentials: dict[str, Any] | None = None
    description: str = ""
    author: str = "c2d publisher"
    license: str = "CC-BY-4.0"
    extra_metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Published:
    did: str
    nft: str
    datatoken: str
    ddo: dict[str, Any]
    tx: str


def publish_asset(
    client: ChainClient,
    publisher: LocalAccount,
    draft: AssetDraft,
    *,
    factory: str,
    chain_id: int,
    provider_url: str,
    provider_address: str,
    encrypt: Encrypt,
) -> Published:
    """Create the NFT and its datatoken (``factory``: the chain's ERC721Factory), then set the
    DDO, whose files only ``encrypt``'s provider can read."""
    nft, datatoken = create_tokens(client, factory, publisher, draft.name)
    encrypted_files = encrypt(
        json.dumps(
            {"nftAddress": nft, "datatokenAddress": datatoken, "files": draft.files}
        ).encode()
    )
    ddo = _ddo(draft, nft, datatoken, chain_id, encrypted_files, provider_url)
    data = json.dumps(ddo, separators=(",", ":")).encode()
    contract = client.contract("ERC721Template", nft)
    call = contract.functions.setMetaData(
        0, provider_url, provider_address, b"\x00", data, hashlib.sha256(data).digest(), []
    )
    receipt = client.transact(publisher, call, "setMetaData")
    return Published(ddo["id"], nft, datatoken, ddo, receipt["transactionHash"].to_0x_hex())


def mint_datatokens(
    client: ChainClient, publisher: LocalAccount, datatoken: str, to: str, amount: int
) -> None:
    token = client.contract("ERC20Template", datatoken)
    client.transact(publisher, token.functions.mint(to, amount), "mint datatokens")


def transfer_nft(client: ChainClient, owner: LocalAccount, nft: str, to: str) -> str:
    """Give the data NFT (Ocean's templates have the one token id 1) to ``to``; the tx hash."""
    contract = client.contract("ERC721Template", nft)
    call = contract.functions.transferFrom(owner.address, to, 1)
    return client.transact(owner, call, "transfer the data NFT")["transactionHash"].to_0x_hex()


def create_tokens(
    client: ChainClient, factory_address: str, publisher: LocalAccount, name: str
) -> tuple[str, str]:
    factory = client.contract("ERC721Factory", factory_address)
    zero = "0x" + "0" * 40
    nft_data = (name, "C2D-NFT", 1, "", True, publisher.address)
    token_data: tuple[Any, ...] = (
        1,
        [f"{name} datatoken", "C2D-DT"],
        [publisher.address, zero, zero, zero],
        [10**30, 0],
        [],
    )
    receipt = client.transact(
        publisher, factory.functions.createNftWithErc20(nft_data, token_data), "createNftWithErc20"
    )
    nft = client.events(factory, "NFTCreated", receipt)[0]["args"]["newTokenAddress"]
    token = client.events(factory, "TokenCreated", receipt)[0]["args"]["newTokenAddress"]
    return str(nft), str(token)


def _ddo(
    draft: AssetDraft,
    nft: str,
    datatoken: str,
    chain_id: int,
    encrypted_files: str,
    provider_url: str,
) -> dict[str, Any]:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    metadata: dict[str, Any] = {
        "created": now,
        "updated": now,
        "type": draft.type,
        "name": draft.name,
        "description": draft.description or draft.name,
        "author": draft.author,
        "license": draft.license,
        **draft.extra_metadata,
    }
    if draft.container is not None:
        metadata["algorithm"] = {
            "language": "python",
            "version": "0.1",
            "container": draft.container,
        }
    services = [
        _service(kind, draft, datatoken, encrypted_files, provider_url)
        for kind in (draft.service_type, *draft.more_service_types)
    ]
    ddo: dict[str, Any] = {
        "@context": ["https://w3id.org/did/v1"],
        "id": did_for(nft, chain_id),
        "version": "4.1.0",
        "chainId": chain_id,
        "nftAddress": nft,
        "metadata": metadata,
        "services": services,
    }
    if draft.credentials is not None:
        ddo["credentials"] = draft.credentials
    return ddo


def _service(
    kind: str, draft: AssetDraft, datatoken: str, encrypted_files: str, provider_url: str
) -> dict[str, Any]:
    # One datatoken for every service, as Ocean's DDOs allow: an order names its service by
    # index (startOrder's serviceIndex, which the provider checks), so a token spent on one
    # service never pays for another, and an owner holding tokens may use either.
    service: dict[str, Any] = {
        "id": hashlib.sha256(f"{datatoken}{kind}".encode()).hexdigest(),
        "type": kind,
        "files": encrypted_files,
        "datatokenAddress": datatoken,
        "serviceEndpoint": provider_url,
        "timeout": draft.timeout,
    }
    if kind == "compute" and draft.compute is not None:
        service["compute"] = draft.compute
    return service
