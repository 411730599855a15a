"""``POST /api/services/decrypt``: an allowed indexer reads a DDO encrypted for this provider.

As Ocean Node's: the decrypter signs ``transactionId + dataNftAddress + decrypterAddress +
chainId + nonce`` (addresses checksummed, an absent transactionId as empty text) in the forms
``provider.auth.signature`` recovers. The document must hash (sha256) to ``documentHash`` and be
the DDO of ``dataNftAddress`` on ``chainId``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from eth_utils.address import to_checksum_address

from provider.assets.ddo import did_for, did_hex
from provider.assets.documents import open_document
from provider.auth.nonces import NonceStore
from provider.auth.signature import recover_signers
from provider.errors import BadRequest, C2DError, Forbidden, Unauthorized

__all__ = ["DdoDecrypter", "DecryptRequest", "decrypt_message"]


@dataclass(frozen=True)
class DecryptRequest:
    decrypter: str
    chain_id: int
    nonce: int
    signature: str
    nft_address: str
    encrypted_document: bytes
    flags: int
    document_hash: bytes


def decrypt_message(request: DecryptRequest) -> str:
    """The text the decrypter signs; it starts with the transactionId, empty when the document
    comes in the request (the only way this provider takes it)."""
    return (
        f"{to_checksum_address(request.nft_address)}"
        f"{to_checksum_address(request.decrypter)}{request.chain_id}{request.nonce}"
    )


class DdoDecrypter:
    """Decrypts for the addresses in ``allowed`` and for the provider's own address."""

    def __init__(
        self,
        *,
        allowed: frozenset[str],
        own_address: str,
        nonces: NonceStore,
        decrypt: Callable[[bytes], bytes],
    ) -> None:
        self._allowed = {address.lower() for address in allowed} | {own_address.lower()}
        self._nonces = nonces
        self._decrypt = decrypt

    def decrypt(self, request: DecryptRequest) -> str:
        signers = {s.lower() for s in recover_signers(decrypt_message(request), request.signature)}
        if request.decrypter.lower() not in signers:
            raise Unauthorized("signature does not match decrypterAddress")
        if request.decrypter.lower() not in self._allowed:
            raise Forbidden(f"{request.decrypter} is not allowed to decrypt on this provider")
        # After the signature, so a forged request cannot burn a nonce; a replay is refused here.
        self._nonces.consume(request.decrypter, request.nonce)
        try:
            plain = open_document(request.flags, request.encrypted_document, self._decrypt)
        except C2DError as error:
            raise BadRequest(f"the document cannot be opened: {error}") from None
        if hashlib.sha256(plain).digest() != request.document_hash:
            raise BadRequest("the decrypted document does not match documentHash")
        return _check_identity(plain, request)


def _check_identity(plain: bytes, request: DecryptRequest) -> str:
    expected = did_for(request.nft_address, request.chain_id)
    try:
        text = plain.decode()
        claimed = json.loads(text).get("id")
    except (UnicodeDecodeError, ValueError, AttributeError, RecursionError):
        raise BadRequest("the decrypted document is not a JSON DDO") from None
    if not isinstance(claimed, str) or did_hex(claimed) != did_hex(expected):
        raise BadRequest(f"the decrypted DDO is not {expected} (dataNftAddress on chainId)")
    return text
