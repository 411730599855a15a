"""A DDO as the data NFT's metadata event carries it → a verified Ddo. Pure (decrypt injected).

Flags as ``provider.assets.documents`` reads them (bit 0 lzma-compressed, bit 1 encrypted for
this provider, via ``POST /api/services/encrypt``). The hash on chain is sha256 of the plain DDO.
Encrypted service files are ``{"nftAddress", "datatokenAddress", "files": [...]}``; the
addresses bind them to their service, so files cannot be copied into another asset.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from provider.assets.ddo import Ddo, ServiceFiles, did_for, did_hex
from provider.assets.documents import COMPRESSED, ENCRYPTED, open_document
from provider.errors import BadRequest, C2DError, Forbidden

__all__ = ["MetadataEvent", "NftFacts", "decode_metadata", "decrypt_service_files"]

Decrypt = Callable[[bytes], bytes]


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
    flag = event.flags[0] if event.flags else 0
    try:
        plain = open_document(flag & ENCRYPTED, event.data, decrypt)
    except C2DError:
        raise Forbidden(f"asset {did}: its metadata is encrypted for another provider") from None
    try:
        plain = open_document(flag & COMPRESSED, plain, decrypt)
    except C2DError as error:
        raise BadRequest(f"asset {did}: {error}") from None
    if hashlib.sha256(plain).digest() != event.metadata_hash:
        raise Forbidden(f"asset {did}: the metadata does not match its hash on chain")
    try:
        ddo = Ddo.model_validate(json.loads(plain))
    except (ValueError, ValidationError):
        raise BadRequest(f"asset {did}: the metadata on chain is not a valid DDO") from None
    if did_hex(ddo.id) != did_hex(did) or ddo.chain_id != nft.chain_id:
        raise Forbidden(f"asset {did}: the DDO on chain claims to be {ddo.id}")
    nft_block: dict[str, Any] = {
        **(ddo.nft or {}),
        "address": nft.address,
        "state": nft.state,
        "owner": nft.owner,
    }
    ddo = ddo.model_copy(update={"nft": nft_block})
    return decrypt_service_files(ddo, decrypt)


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
