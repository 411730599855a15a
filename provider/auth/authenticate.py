"""The one place a request proves its consumerAddress: a signature and fresh nonce, or a token."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Protocol

from provider.auth._db import MAX_SQLITE_INTEGER
from provider.auth.nonces import NonceStore
from provider.auth.signature import (
    message_digests,
    recover_signers,
    request_message,
    signature_bytes,
)
from provider.auth.tokens import TokenService
from provider.errors import Unauthorized

__all__ = ["Authenticator", "ContractSigners", "parse_nonce"]

_NONCE_PATTERN = re.compile(r"[0-9]{1,19}")


class ContractSigners(Protocol):
    """Signatures of contract wallets (ERC-1271), checked by the wallet on its chain."""

    def signed_by(self, address: str, digests: Sequence[bytes], signature: bytes) -> bool: ...


def _unlimited(_: str) -> None:
    return None


class Authenticator:
    """``charge(address)`` runs once an address is proven (a valid token, or a signature with a
    fresh nonce, so neither a forged nor a replayed request counts): the per-address rate limit,
    which may raise TooManyRequests; like every refusal after the signature, it spends the nonce."""

    def __init__(
        self,
        nonces: NonceStore,
        tokens: TokenService,
        charge: Callable[[str], None] = _unlimited,
        contracts: ContractSigners | None = None,
    ) -> None:
        self._nonces = nonces
        self._tokens = tokens
        self._charge = charge
        self._contracts = contracts

    def authenticate(
        self,
        *,
        consumer_address: str,
        command: str | tuple[str, ...],
        nonce: str | int | None,
        signature: str | None,
        token: str | None,
    ) -> str:
        """``consumer_address`` once proven by ``token``, or by ``signature`` over ``command``
        (or over any one of several commands a route accepts)."""
        if token:
            return self.authenticate_token(consumer_address=consumer_address, token=token)
        supplied = (("signature", signature), ("nonce", nonce))
        missing = [name for name, value in supplied if value is None or value == ""]
        if missing or signature is None or nonce is None:
            raise Unauthorized(f"missing {' and '.join(missing)}: sign the request or send a token")
        number = parse_nonce(nonce)
        commands = (command,) if isinstance(command, str) else command
        messages = [request_message(consumer_address, nonce, name) for name in commands]
        if not self._signed(consumer_address, messages, signature):
            raise Unauthorized("signature does not match consumerAddress")
        # Only after the signature checks out, so a forged request cannot burn a nonce.
        self._nonces.consume(consumer_address, number)
        self._charge(consumer_address)
        return consumer_address

    def _signed(self, address: str, messages: list[str], signature: str) -> bool:
        """Signed by ``address`` itself (an EOA) or, when it is a contract wallet, accepted by
        its ``isValidSignature`` (ERC-1271), as Ocean Node does for smart accounts."""
        refused: Unauthorized | None = None
        try:
            signers = {s.lower() for m in messages for s in recover_signers(m, signature)}
            if address.lower() in signers:
                return True
        except Unauthorized as error:
            refused = error  # not an EOA's signature; maybe a contract wallet's
        if self._contracts is not None:
            digests = [digest for m in messages for digest in message_digests(m)]
            if self._contracts.signed_by(address, digests, signature_bytes(signature)):
                return True
        if refused is not None:
            raise refused
        return False

    def authenticate_token(self, *, consumer_address: str, token: str) -> str:
        address = self._tokens.verify(token)
        if address.lower() != consumer_address.lower():
            raise Unauthorized("token was issued for another address")
        self._charge(consumer_address)
        return consumer_address


def parse_nonce(nonce: str | int) -> int:
    """A nonce as clients send it (a decimal string or an integer); Unauthorized otherwise."""
    if isinstance(nonce, bool):
        raise Unauthorized("nonce must be a non-negative integer")
    if isinstance(nonce, int):
        number = nonce
    elif _NONCE_PATTERN.fullmatch(nonce):
        number = int(nonce)
    else:
        raise Unauthorized("nonce must be a non-negative integer")
    if not 0 <= number <= MAX_SQLITE_INTEGER:
        raise Unauthorized(f"nonce must be between 0 and {MAX_SQLITE_INTEGER}")
    return number
