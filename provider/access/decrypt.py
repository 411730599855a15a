"""``POST /api/services/decrypt``: an allowed indexer reads a DDO encrypted for this provider.

As Ocean Node's: the chain must be one this provider serves; the decrypter signs
``decrypterAddress + nonce + "decryptDDO"`` (Ocean Node 3's indexer) or, as older nodes did,
``transactionId + dataNftAddress + decrypterAddress + chainId + nonce`` (addresses checksummed,
an absent transactionId as empty text), in the forms ``provider.auth.signature`` recovers. The
data NFT must come from the deployment's factory and its metadata state allow reading; the
document is the request's, or the one the NFT's metadata event in ``transactionId`` carries. It
must hash (sha256) to its hash and be the DDO of ``dataNftAddress`` on ``chainId``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from eth_utils.address import to_checksum_address
from web3.exceptions import Web3Exception
from web3.types import TxReceipt

from provider.assets.ddo import did_for, did_hex
from provider.assets.documents import open_document
from provider.assets.onchain import MetadataEvent
from provider.assets.resolver import NFT_STATES
from provider.auth.nonces import NonceStore
from provider.auth.signature import Command, recover_signers, request_message
from provider.chain.client import ChainError
from provider.errors import (
    BadRequest,
    C2DError,
    ConfigError,
    Forbidden,
    ServiceUnavailable,
    Unauthorized,
)

__all__ = ["DdoDecrypter", "DecryptRequest", "NftChain", "decrypt_messages"]

# Ocean Node refuses these two with a 403 and any state it does not know with a 400.
_REFUSED_STATES = frozenset({2, 3})


class NftChain(Protocol):
    """What decrypting reads of one chain (``provider.chain.data_nfts.DataNfts``)."""

    def factory_made(self, address: str) -> bool: ...

    def metadata_state(self, address: str) -> int: ...

    def receipt(self, tx: str) -> TxReceipt | None: ...

    def document_event(self, receipt: TxReceipt, nft: str) -> MetadataEvent | None: ...


@dataclass(frozen=True)
class DecryptRequest:
    decrypter: str
    chain_id: int
    nonce: int
    signature: str
    nft_address: str
    # Exactly one of the two: the route refuses both and neither.
    transaction_id: str | None = None
    document: MetadataEvent | None = None


def decrypt_messages(request: DecryptRequest) -> tuple[str, str]:
    """The texts a decrypter may sign: Ocean Node 3's command form, and the older nodes' one."""
    legacy = (
        f"{request.transaction_id or ''}{to_checksum_address(request.nft_address)}"
        f"{to_checksum_address(request.decrypter)}{request.chain_id}{request.nonce}"
    )
    return request_message(request.decrypter, request.nonce, Command.DECRYPT_DDO), legacy


class DdoDecrypter:
    """Decrypts the DDOs of the data NFTs on the chains in ``chains`` (the chains served) for
    the addresses Ocean Node's two rules let in, both where both are set: on the ``allowed``
    list (the provider's own address always is), and holding a token of one of the chain's
    ``access_lists`` (``holds(chain, contract, address)``; every address, the provider's too).
    With neither set, only the provider decrypts."""

    def __init__(
        self,
        *,
        allowed: frozenset[str],
        own_address: str,
        nonces: NonceStore,
        decrypt: Callable[[bytes], bytes],
        chains: Mapping[int, NftChain],
        access_lists: Mapping[int, Sequence[str]] | None = None,
        holds: Callable[[int, str, str], bool] | None = None,
    ) -> None:
        self._allowed = {address.lower() for address in allowed}
        self._own = own_address.lower()
        self._nonces = nonces
        self._decrypt = decrypt
        self._chains = chains
        self._access_lists = dict(access_lists or {})
        unserved = sorted(set(self._access_lists) - set(chains))
        if unserved:
            served = ", ".join(map(str, sorted(chains))) or "none"
            raise ConfigError(
                f"C2D_DECRYPTER_ACCESS_LISTS: chain {unserved[0]} is not served (served: {served})"
            )
        if self._access_lists and holds is None:
            raise ValueError("access lists need holds() to read them")
        self._holds = holds

    def decrypt(self, request: DecryptRequest) -> str:
        nfts = self._chains.get(request.chain_id)
        if nfts is None:
            served = ", ".join(str(chain) for chain in sorted(self._chains)) or "none"
            raise BadRequest(
                f"chain {request.chain_id} is not served by this provider (served: {served})"
            )
        self._authenticate(request)
        with _reading(request.chain_id):
            self._check_access_lists(request)
            document = self._document(nfts, request)
        try:
            plain = open_document(
                document.flags[0] if document.flags else 0, document.data, self._decrypt
            )
        except C2DError as error:
            raise BadRequest(f"the document cannot be opened: {error}") from None
        if hashlib.sha256(plain).digest() != document.metadata_hash:
            raise BadRequest(f"the decrypted document does not match {_hash_source(request)}")
        return _check_identity(plain, request)

    def _authenticate(self, request: DecryptRequest) -> None:
        signers = {
            signer.lower()
            for message in decrypt_messages(request)
            for signer in recover_signers(message, request.signature)
        }
        address = request.decrypter.lower()
        if address not in signers:
            raise Unauthorized("signature does not match decrypterAddress")
        listed = address in self._allowed or (
            not self._allowed and request.chain_id in self._access_lists
        )
        if address != self._own and not listed:
            raise Forbidden(f"{request.decrypter} is not allowed to decrypt on this provider")
        # After the signature, so a forged request cannot burn a nonce; a replay is refused here.
        self._nonces.consume(request.decrypter, request.nonce)

    def _check_access_lists(self, request: DecryptRequest) -> None:
        """Ocean Node's AUTHORIZED_DECRYPTERS_LIST: on a chain listed, a token of one of its
        access lists, the provider's own address included (as Ocean Node checks its own too)."""
        chain = request.chain_id
        contracts = self._access_lists.get(chain)
        if contracts is None or self._holds is None:
            return
        holds = self._holds
        if not any(holds(chain, contract, request.decrypter) for contract in contracts):
            raise Forbidden(
                f"{request.decrypter} holds no token of the decrypter access lists of chain {chain}"
            )

    def _document(self, nfts: NftChain, request: DecryptRequest) -> MetadataEvent:
        """The document to open, once the chain says the NFT's DDO may be read."""
        nft, chain = request.nft_address, request.chain_id
        if not nfts.factory_made(nft):
            raise BadRequest(
                f"{nft} is not a data NFT created by the ERC721Factory of chain {chain}"
            )
        document = request.document
        if request.transaction_id is not None:
            document = _event_in(nfts, request.transaction_id, nft, chain)
        state = nfts.metadata_state(nft)
        if state in _REFUSED_STATES:
            raise Forbidden(
                f"asset {did_for(nft, chain)} is {NFT_STATES[state]} (metadata state {state}):"
                " its DDO is not decrypted"
            )
        if state not in NFT_STATES:
            raise BadRequest(f"asset {did_for(nft, chain)} has an unknown metadata state {state}")
        assert document is not None  # the route gives one of the two
        return document


def _event_in(nfts: NftChain, tx: str, nft: str, chain: int) -> MetadataEvent:
    receipt = nfts.receipt(tx)
    if receipt is None:
        raise BadRequest(f"transactionId {tx} is not a mined transaction on chain {chain}")
    if receipt["status"] != 1:
        raise BadRequest(f"transactionId {tx} failed on chain {chain}: it set no metadata")
    event = nfts.document_event(receipt, nft)
    if event is None:
        raise BadRequest(
            f"transactionId {tx} has no MetadataCreated or MetadataUpdated event emitted by {nft}"
        )
    return event


@contextmanager
def _reading(chain: int) -> Iterator[None]:
    try:
        yield
    except (Web3Exception, ChainError, OSError) as error:
        raise ServiceUnavailable(f"chain {chain} cannot be read now: {error}") from None


def _hash_source(request: DecryptRequest) -> str:
    if request.transaction_id is None:
        return "documentHash"
    return f"the metaDataHash of its event in transaction {request.transaction_id}"


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
