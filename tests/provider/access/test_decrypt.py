"""DdoDecrypter with real keys, a real nonce store and documents encrypted for the provider.

The chain is a table here (one factory-made NFT, its state): what DdoDecrypter does with the
chain's answers. tests/chain/test_decrypt_on_chain.py asks a real chain."""

from __future__ import annotations

import hashlib
import json
import lzma
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_keys.datatypes import PrivateKey
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from pydantic import ValidationError

from provider.access.decrypt import DdoDecrypter, DecryptRequest
from provider.assets.ddo import did_for
from provider.assets.encryption import decrypt, encrypt
from provider.assets.onchain import MetadataEvent
from provider.auth.nonces import NonceStore
from provider.errors import (
    BadRequest,
    ConfigError,
    Forbidden,
    ServiceUnavailable,
    Unauthorized,
)
from provider.settings import Settings

PROVIDER = Account.create()
PUBLIC = PrivateKey(bytes(PROVIDER.key)).public_key.to_bytes()
NFT = "0x" + "ab" * 20
CHAIN = 8996
DDO = json.dumps({"id": did_for(NFT, CHAIN), "chainId": CHAIN, "metadata": {"name": "d"}})


class Chain:
    """One data NFT from the factory, in ``state``; no transactions."""

    def __init__(self, state: int = 0) -> None:
        self.state = state

    def factory_made(self, address: str) -> bool:
        return address.lower() == NFT.lower()

    def metadata_state(self, address: str) -> int:
        return self.state

    def receipt(self, tx: str) -> Any:
        return None

    def document_event(self, receipt: Any, nft: str) -> MetadataEvent | None:
        return None


def signed(
    indexer: LocalAccount,
    nonce: int,
    *,
    document: str = DDO,
    flags: int = 2,
    hex_text: bool = False,
    command_form: bool = False,
) -> DecryptRequest:
    """Signed as Ocean Node documents it, built here from the spec rather than the module."""
    plain = document.encode()
    payload = lzma.compress(plain) if flags & 1 else plain
    # transactionId (empty) + dataNftAddress + decrypterAddress + chainId + nonce; Ocean Node 3's
    # indexer signs decrypterAddress + nonce + the command instead.
    message = f"{to_checksum_address(NFT)}{indexer.address}{CHAIN}{nonce}"
    if command_form:
        message = f"{indexer.address}{nonce}decryptDDO"
    digest = keccak(text=message)
    form = encode_defunct(text="0x" + digest.hex()) if hex_text else encode_defunct(digest)
    return DecryptRequest(
        decrypter=indexer.address if command_form else indexer.address.lower(),
        chain_id=CHAIN,
        nonce=nonce,
        signature="0x" + bytes(indexer.sign_message(form).signature).hex(),
        nft_address=NFT,
        document=MetadataEvent(
            flags=bytes([flags]),
            data=encrypt(PUBLIC, payload) if flags & 2 else payload,
            metadata_hash=hashlib.sha256(plain).digest(),
        ),
    )


@pytest.fixture
def indexer() -> LocalAccount:
    return Account.create()


def decrypter(tmp_path: Path, *allowed: str, chain: Chain | None = None) -> DdoDecrypter:
    return DdoDecrypter(
        allowed=frozenset(allowed),
        own_address=PROVIDER.address,
        nonces=NonceStore(tmp_path / "auth.sqlite"),
        decrypt=lambda data: decrypt(bytes(PROVIDER.key), data),
        chains={CHAIN: chain or Chain()},
    )


def test_an_allowed_indexer_gets_the_plain_ddo(tmp_path: Path, indexer: LocalAccount) -> None:
    service = decrypter(tmp_path, indexer.address)
    assert service.decrypt(signed(indexer, 1)) == DDO
    assert service.decrypt(signed(indexer, 2, hex_text=True)) == DDO


def test_ocean_node_3s_signed_command_is_accepted(tmp_path: Path, indexer: LocalAccount) -> None:
    # What Ocean Node's indexer signs since 3.0 (its BaseProcessor.decryptDDO).
    service = decrypter(tmp_path, indexer.address)
    assert service.decrypt(signed(indexer, 1, command_form=True)) == DDO
    assert service.decrypt(signed(indexer, 2, command_form=True, hex_text=True)) == DDO


def test_compressed_then_encrypted_and_plain_compressed_documents_open(
    tmp_path: Path, indexer: LocalAccount
) -> None:
    service = decrypter(tmp_path, indexer.address)
    assert service.decrypt(signed(indexer, 1, flags=3)) == DDO
    assert service.decrypt(signed(indexer, 2, flags=1)) == DDO


def test_the_provider_itself_may_decrypt_with_no_list(tmp_path: Path) -> None:
    assert decrypter(tmp_path).decrypt(signed(PROVIDER, 1)) == DDO


def test_an_address_not_on_the_list_is_forbidden(tmp_path: Path, indexer: LocalAccount) -> None:
    with pytest.raises(Forbidden, match="not allowed"):
        decrypter(tmp_path, Account.create().address).decrypt(signed(indexer, 1))


def test_a_replayed_nonce_is_refused(tmp_path: Path, indexer: LocalAccount) -> None:
    service = decrypter(tmp_path, indexer.address)
    request = signed(indexer, 5)
    service.decrypt(request)
    with pytest.raises(Unauthorized, match="nonce 5"):
        service.decrypt(request)
    with pytest.raises(Unauthorized, match="nonce 4"):
        service.decrypt(signed(indexer, 4))


def test_a_signature_over_other_fields_is_refused(tmp_path: Path, indexer: LocalAccount) -> None:
    service = decrypter(tmp_path, indexer.address)
    for forged in (
        replace(signed(indexer, 1), nonce=2),
        replace(signed(indexer, 1), nft_address="0x" + "cd" * 20),
        replace(signed(indexer, 1), signature=signed(Account.create(), 1).signature),
    ):
        with pytest.raises(Unauthorized, match="does not match decrypterAddress"):
            service.decrypt(forged)
    # A forged request did not spend the nonce.
    assert service.decrypt(signed(indexer, 2)) == DDO


def test_a_wrong_hash_is_refused(tmp_path: Path, indexer: LocalAccount) -> None:
    document = signed(indexer, 1).document
    assert document is not None
    request = replace(signed(indexer, 1), document=replace(document, metadata_hash=bytes(32)))
    with pytest.raises(BadRequest, match="does not match documentHash"):
        decrypter(tmp_path, indexer.address).decrypt(request)


def test_a_ddo_of_another_nft_is_refused(tmp_path: Path, indexer: LocalAccount) -> None:
    other = json.dumps({"id": did_for("0x" + "cd" * 20, CHAIN)})
    with pytest.raises(BadRequest, match="is not did:op:"):
        decrypter(tmp_path, indexer.address).decrypt(signed(indexer, 1, document=other))


def test_a_document_for_another_key_is_refused(tmp_path: Path, indexer: LocalAccount) -> None:
    other_key = PrivateKey(bytes(Account.create().key)).public_key.to_bytes()
    document = signed(indexer, 1).document
    assert document is not None
    stranger = replace(document, data=encrypt(other_key, DDO.encode()))
    request = replace(signed(indexer, 1), document=stranger)
    with pytest.raises(BadRequest, match="cannot be decrypted by this provider"):
        decrypter(tmp_path, indexer.address).decrypt(request)


def test_an_unserved_chain_is_refused_before_anything_else(
    tmp_path: Path, indexer: LocalAccount
) -> None:
    service = decrypter(tmp_path, indexer.address)
    with pytest.raises(BadRequest, match=r"chain 1 is not served by this provider \(served: 8996"):
        service.decrypt(replace(signed(indexer, 1), chain_id=1))
    # Not even the nonce was spent.
    assert service.decrypt(signed(indexer, 1)) == DDO


@pytest.mark.parametrize(
    ("state", "refusal", "message"),
    [
        (2, Forbidden, r"is deprecated \(metadata state 2\): its DDO is not decrypted"),
        (3, Forbidden, r"is revoked \(metadata state 3\)"),
        (9, BadRequest, "unknown metadata state 9"),
    ],
)
def test_a_deprecated_revoked_or_unknown_state_is_refused(
    tmp_path: Path, indexer: LocalAccount, state: int, refusal: type[Exception], message: str
) -> None:
    service = decrypter(tmp_path, indexer.address, chain=Chain(state))
    with pytest.raises(refusal, match=message):
        service.decrypt(signed(indexer, 1))


@pytest.mark.parametrize("state", [0, 1, 4, 5])
def test_the_other_states_are_read(tmp_path: Path, indexer: LocalAccount, state: int) -> None:
    service = decrypter(tmp_path, indexer.address, chain=Chain(state))
    assert service.decrypt(signed(indexer, 1)) == DDO


class Unreachable(Chain):
    def factory_made(self, address: str) -> bool:
        raise OSError("no RPC URL of chain 8996 answered")


def test_a_chain_that_cannot_be_read_is_a_503(tmp_path: Path, indexer: LocalAccount) -> None:
    service = decrypter(tmp_path, indexer.address, chain=Unreachable())
    with pytest.raises(ServiceUnavailable, match="chain 8996 cannot be read now: no RPC URL"):
        service.decrypt(signed(indexer, 1))


LIST = "0x" + "11" * 20


def gated(
    tmp_path: Path, holders: set[str], *allowed: str, lists: tuple[str, ...] = (LIST,)
) -> DdoDecrypter:
    """Ocean Node's AUTHORIZED_DECRYPTERS_LIST on CHAIN: ``holders`` hold a token of LIST."""

    def holds(chain: int, contract: str, address: str) -> bool:
        return chain == CHAIN and contract == LIST and address.lower() in holders

    return DdoDecrypter(
        allowed=frozenset(allowed),
        own_address=PROVIDER.address,
        nonces=NonceStore(tmp_path / "auth.sqlite"),
        decrypt=lambda data: decrypt(bytes(PROVIDER.key), data),
        chains={CHAIN: Chain()},
        access_lists={CHAIN: lists},
        holds=holds,
    )


def test_with_access_lists_alone_a_holder_decrypts(tmp_path: Path, indexer: LocalAccount) -> None:
    service = gated(tmp_path, {indexer.address.lower()})
    assert service.decrypt(signed(indexer, 1)) == DDO
    stranger = Account.create()
    with pytest.raises(Forbidden, match="holds no token of the decrypter access lists of chain"):
        service.decrypt(signed(stranger, 1))


def test_with_both_rules_both_must_hold(tmp_path: Path, indexer: LocalAccount) -> None:
    holder = Account.create()
    service = gated(tmp_path, {holder.address.lower()}, indexer.address)
    with pytest.raises(Forbidden, match="holds no token"):
        service.decrypt(signed(indexer, 1))  # listed, no token
    with pytest.raises(Forbidden, match="is not allowed to decrypt"):
        service.decrypt(signed(holder, 1))  # a token, not listed
    # As on Ocean Node, the provider's own address passes the list but not the access lists.
    with pytest.raises(Forbidden, match="holds no token"):
        service.decrypt(signed(PROVIDER, 1))
    assert gated(tmp_path, {indexer.address.lower()}, indexer.address).decrypt(signed(indexer, 2))


def test_access_lists_on_a_chain_not_served_stop_the_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="C2D_DECRYPTER_ACCESS_LISTS: chain 1 is not served"):
        DdoDecrypter(
            allowed=frozenset(),
            own_address=PROVIDER.address,
            nonces=NonceStore(tmp_path / "auth.sqlite"),
            decrypt=lambda data: data,
            chains={CHAIN: Chain()},
            access_lists={1: (LIST,)},
            holds=lambda chain, contract, address: True,
        )


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("[1]", "not a JSON object"),
        ("{", "not JSON"),
        ('{"mainnet": []}', "'mainnet' is not a chain id"),
        ('{"8996": ["0x12"]}', "chain 8996: not a list of 0x addresses"),
    ],
)
def test_malformed_access_list_settings_are_refused(value: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        Settings(decrypter_access_lists=value)


def test_access_list_settings_are_read() -> None:
    settings = Settings(decrypter_access_lists=json.dumps({"8996": [LIST], "1": []}))
    assert settings.decrypter_lists == {8996: (LIST,), 1: ()}
    assert Settings().decrypter_lists == {}
