"""A DDO as the data NFT's metadata event carries it → a verified Ddo. Pure (decrypt injected).

Flags bit 1 = encrypted for the decryptor (this provider, via ``POST /api/services/encrypt``),
bit 0 = lzma-compressed; a publisher compresses first and encrypts second, so reading undoes
them in the other order. The hash on chain is sha256 of the plain DDO. Encrypted service
files are ``{"nftAddress", "datatokenAddress", "files": [...]}``; the addresses bind them to
their service, so files cannot be copied into another asset.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from provider.assets.ddo import Ddo, ServiceFiles, did_for, did_hex
from provider.assets.documents import COMPRESSED, ENCRYPTED, LzmaRefused, inflate
from provider.errors import BadRequest, C2DError, Forbidden

__all__ = [
    "MAX_DDO_BYTES",
    "HashMismatch",
    "MetadataEvent",
    "NftFacts",
    "UnreadableMetadata",
    "decode_metadata",
    "decrypt_service_files",
    "open_metadata",
    "parse_ddo",
    "with_nft",
]

Decrypt = Callable[[bytes], bytes]

# A DDO is a few kilobytes; a compressed one may not inflate past this (a zip bomb on chain).
MAX_DDO_BYTES = 4 * 1024 * 1024


class UnreadableMetadata(Forbidden):
    """The DDO is encrypted for another provider's key."""


class HashMismatch(Forbidden):
    """The DDO is not the one whose hash the chain holds."""


@dataclass(frozen=True)
class MetadataEvent:
    flags: bytes
    data: bytes
    metadata_hash: bytes


@dataclass(frozen=True)
class NftFacts:
    address: str
    chain_id: int
    state: int
    owner: str


def decode_metadata(event: MetadataEvent, nft: NftFacts, decrypt: Decrypt) -> Ddo:
    """The DDO of ``nft`` from its latest metadata event; Forbidden if it does not verify."""
    did = did_for(nft.address, nft.chain_id)
    document = parse_ddo(open_metadata(event, did=did, decrypt=decrypt), nft=nft)
    return decrypt_service_files(with_nft(document, nft), decrypt)


def open_metadata(event: MetadataEvent, *, did: str, decrypt: Decrypt) -> bytes:
    """The plain DDO bytes of ``event``, decrypted and inflated as its flags say, verified
    against its hash: UnreadableMetadata, HashMismatch or BadRequest otherwise."""
    flag = event.flags[0] if event.flags else 0
    data = event.data
    if flag & ENCRYPTED:
        try:
            data = decrypt(data)
        except C2DError:
            raise UnreadableMetadata(
                f"asset {did}: its metadata is encrypted for another provider"
            ) from None
    if flag & COMPRESSED:
        data = _inflate(data, did)
    if hashlib.sha256(data).digest() != event.metadata_hash:
        raise HashMismatch(f"asset {did}: the metadata does not match its hash on chain")
    return data


def parse_ddo(plain: bytes, *, nft: NftFacts) -> Ddo:
    """``plain`` as a Ddo of ``nft``; BadRequest if it is none, Forbidden if it names another."""
    did = did_for(nft.address, nft.chain_id)
    try:
        ddo = Ddo.model_validate(json.loads(plain))
    except (ValueError, ValidationError):
        raise BadRequest(f"asset {did}: the metadata on chain is not a valid DDO") from None
    if did_hex(ddo.id) != did_hex(did) or ddo.chain_id != nft.chain_id:
        raise Forbidden(f"asset {did}: the DDO on chain claims to be {ddo.id}")
    return ddo


def with_nft(ddo: Ddo, nft: NftFacts) -> Ddo:
    """``ddo`` with its nft block (address, state, owner) from the chain, not from the DDO."""
    nft_block: dict[str, Any] = {
        **(ddo.nft or {}),
        "address": nft.address,
        "state": nft.state,
        "owner": nft.owner,
    }
    return ddo.model_copy(update={"nft": nft_block})


def _inflate(data: bytes, did: str) -> bytes:
    try:
        return inflate(data, MAX_DDO_BYTES)
    except LzmaRefused as refused:
        if refused.not_lzma:
            raise BadRequest(f"asset {did}: its compressed metadata is not lzma data") from None
        raise BadRequest(
            f"asset {did}: its compressed metadata inflates past {MAX_DDO_BYTES} bytes"
            " or is truncated"
        ) from None


def decrypt_service_files(ddo: Ddo, decrypt: Decrypt) -> Ddo:
    """Replace the encrypted files of each service this provider can read with the plain ones."""
    services = []
    for service in ddo.services:
        if not isinstance(service.files, str) or not service.files.startswith("0x"):
            services.append(service)
            continue
        try:
            raw = json.loads(decrypt(bytes.fromhex(service.files[2:])))
        except (C2DError, ValueError):
            services.append(service)  # for another provider: admission says it cannot read it
            continue
        label = f"asset {ddo.id}, service {service.id}"
        if not isinstance(raw, dict):
            raise BadRequest(f"{label}: the encrypted files are not a files object")
        bound_nft = str(raw.get("nftAddress") or ddo.nft_address)
        bound_token = str(raw.get("datatokenAddress") or service.datatoken_address)
        if (
            bound_nft.lower() != ddo.nft_address.lower()
            or bound_token.lower() != service.datatoken_address.lower()
        ):
            raise Forbidden(f"{label}: the encrypted files belong to another asset")
        files = ServiceFiles.model_validate({"files": raw.get("files") or []})
        services.append(
            service.model_copy(update={"files": files, "encrypted_files": service.files})
        )
    return ddo.model_copy(update={"services": services})
