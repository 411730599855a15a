"""Metadata from chain → verified DDO: hash, identity, encryption, file binding, nft facts."""

from __future__ import annotations

import hashlib
import json
import lzma
from typing import Any

import pytest
from eth_account import Account
from eth_keys.datatypes import PrivateKey

from provider.assets.ddo import did_for
from provider.assets.encryption import decrypt, encrypt
from provider.assets.onchain import MetadataEvent, NftFacts, decode_metadata
from provider.errors import BadRequest, Forbidden

NFT = "0x" + "12" * 20
DATATOKEN = "0x" + "34" * 20
PROVIDER = Account.create()
PUBLIC = PrivateKey(bytes(PROVIDER.key)).public_key.to_bytes()
FACTS = NftFacts(address=NFT, chain_id=8996, state=0, owner="0x" + "56" * 20)


def _decrypt(data: bytes) -> bytes:
    return decrypt(bytes(PROVIDER.key), data)


def ddo(files: Any = None) -> dict[str, Any]:
    bound = {"nftAddress": NFT, "datatokenAddress": DATATOKEN, "files": [{"url": "http://x/a"}]}
    return {
        "id": did_for(NFT, 8996),
        "chainId": 8996,
        "nftAddress": NFT,
        "metadata": {"type": "dataset", "name": "d"},
        "nft": {"state": 0, "owner": "0xforged"},
        "services": [
            {
                "id": "s",
                "type": "compute",
                "datatokenAddress": DATATOKEN,
                "files": files or "0x" + encrypt(PUBLIC, json.dumps(bound).encode()).hex(),
            }
        ],
    }


def event(document: dict[str, Any], *, encrypted: bool = False) -> MetadataEvent:
    plain = json.dumps(document).encode()
    data = encrypt(PUBLIC, plain) if encrypted else plain
    flags = b"\x02" if encrypted else b"\x00"
    return MetadataEvent(flags=flags, data=data, metadata_hash=hashlib.sha256(plain).digest())


def test_plain_ddo_with_encrypted_files_decodes() -> None:
    decoded = decode_metadata(event(ddo()), FACTS, _decrypt)
    service = decoded.services[0]
    assert service.plain_files() == [{"url": "http://x/a"}]
    # The owner and state come from the chain, not from what the DDO claims.
    assert decoded.publisher == FACTS.owner
    # What the algorithm sees under /data/ddos is the DDO as published: files still encrypted.
    assert decoded.as_published()["services"][0]["files"].startswith("0x")


def test_encrypted_ddo_decodes() -> None:
    assert decode_metadata(event(ddo(), encrypted=True), FACTS, _decrypt).id == did_for(NFT, 8996)


def test_hash_mismatch_is_refused() -> None:
    tampered = MetadataEvent(b"\x00", json.dumps(ddo()).encode(), b"\x00" * 32)
    with pytest.raises(Forbidden, match="does not match its hash"):
        decode_metadata(tampered, FACTS, _decrypt)


def test_ddo_claiming_another_did_is_refused() -> None:
    document = {**ddo(), "id": did_for("0x" + "99" * 20, 8996)}
    with pytest.raises(Forbidden, match="claims to be"):
        decode_metadata(event(document), FACTS, _decrypt)


def test_ddo_encrypted_for_another_provider_is_refused() -> None:
    other = PrivateKey(bytes(Account.create().key)).public_key.to_bytes()
    plain = json.dumps(ddo()).encode()
    foreign = MetadataEvent(b"\x02", encrypt(other, plain), hashlib.sha256(plain).digest())
    with pytest.raises(Forbidden, match="encrypted for another provider"):
        decode_metadata(foreign, FACTS, _decrypt)


def test_files_copied_from_another_asset_are_refused() -> None:
    stolen = {"nftAddress": "0x" + "77" * 20, "datatokenAddress": DATATOKEN, "files": []}
    files = "0x" + encrypt(PUBLIC, json.dumps(stolen).encode()).hex()
    with pytest.raises(Forbidden, match="belong to another asset"):
        decode_metadata(event(ddo(files)), FACTS, _decrypt)


def test_compressed_and_encrypted_metadata_decodes() -> None:
    plain = json.dumps(ddo()).encode()
    data = encrypt(PUBLIC, lzma.compress(plain))
    decoded = decode_metadata(
        MetadataEvent(b"\x03", data, hashlib.sha256(plain).digest()), FACTS, _decrypt
    )
    assert decoded.id == ddo()["id"]


def test_metadata_flagged_compressed_but_not_lzma_is_refused() -> None:
    with pytest.raises(BadRequest, match="not lzma data"):
        decode_metadata(MetadataEvent(b"\x01", b"plain", b""), FACTS, _decrypt)


def test_decrypt_refuses_data_for_another_key() -> None:
    other = PrivateKey(bytes(Account.create().key)).public_key.to_bytes()
    with pytest.raises(BadRequest):
        _decrypt(encrypt(other, b"secret"))
