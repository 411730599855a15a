"""The signed-request format Ocean clients use: the message, the commands, and signer recovery."""

from __future__ import annotations

from enum import StrEnum

from eth_account import Account
from eth_account.messages import SignableMessage, encode_defunct
from eth_keys.exceptions import BadSignature
from eth_utils.crypto import keccak
from eth_utils.exceptions import ValidationError

from provider.errors import Unauthorized

__all__ = [
    "MAX_SIGNATURE_BYTES",
    "Command",
    "message_digests",
    "recover_signers",
    "request_message",
    "signature_bytes",
]

_SIGNATURE_BYTES = 65
# A contract wallet's signature may be longer (a multisig's is several); none needs more.
MAX_SIGNATURE_BYTES = 4096


class Command(StrEnum):
    """The command names a client signs; each request kind signs its own."""

    START_COMPUTE = "startCompute"
    FREE_START_COMPUTE = "freeStartCompute"
    STOP_COMPUTE = "stopCompute"
    GET_COMPUTE_STREAMABLE_LOGS = "getComputeStreamableLogs"
    GET_COMPUTE_RESULT = "getComputeResult"
    CREATE_AUTH_TOKEN = "createAuthToken"  # noqa: S105 (a command name, not a secret)
    INVALIDATE_AUTH_TOKEN = "invalidateAuthToken"  # noqa: S105
    ENCRYPT = "encrypt"  # Ocean Node's name for the encrypt route's command
    DECRYPT_DDO = "decryptDDO"  # signed by Ocean Node's indexer for POST decrypt


def request_message(address: str, nonce: str | int, command: str) -> str:
    """``address + nonce + command``, with the address exactly as the client sent it."""
    return f"{address}{nonce}{command}"


def recover_signers(message: str, signature: str) -> frozenset[str]:
    """The checksummed addresses that may have signed ``message`` with this signature.

    One per form Ocean clients sign keccak256(message) in with EIP-191 personal_sign (the forms
    Ocean Node accepts): the 32 digest bytes; the digest bytes without their leading zero bytes
    (ocean.js turns the digest into bytes through a number, so about one digest in 256 loses a
    byte); and the digest's ``0x`` hex text.
    """
    raw = _recoverable(signature_bytes(signature))
    return frozenset(_recover(form, raw) for form in _signed_forms(message))


def message_digests(message: str) -> list[bytes]:
    """The EIP-191 hashes of the forms ``recover_signers`` tries: what a contract wallet's
    ``isValidSignature`` (ERC-1271) is asked about."""
    return [
        keccak(b"\x19" + form.version + form.header + form.body) for form in _signed_forms(message)
    ]


def _signed_forms(message: str) -> list[SignableMessage]:
    digest = keccak(text=message)
    forms = [encode_defunct(primitive=digest), encode_defunct(text="0x" + digest.hex())]
    if digest[0] == 0:
        forms.append(encode_defunct(primitive=digest.lstrip(b"\0")))
    return forms


def _recover(message: SignableMessage, raw: bytes) -> str:
    try:
        signer: str = Account.recover_message(message, signature=raw)
    except (BadSignature, ValidationError, ValueError) as error:
        raise Unauthorized("signature is not a valid secp256k1 signature") from error
    return signer


def signature_bytes(signature: str) -> bytes:
    """The bytes of a ``0x`` hex signature (of any length up to ``MAX_SIGNATURE_BYTES``)."""
    text = signature.strip()
    text = text[2:] if text[:2].lower() == "0x" else text
    if len(text) > 2 * MAX_SIGNATURE_BYTES:
        raise Unauthorized(f"signature must be at most {MAX_SIGNATURE_BYTES} bytes")
    try:
        return bytes.fromhex(text)
    except ValueError as error:
        raise Unauthorized("signature must be 0x-prefixed hex") from error


def _recoverable(raw: bytes) -> bytes:
    if len(raw) != _SIGNATURE_BYTES:
        raise Unauthorized(f"signature must be {_SIGNATURE_BYTES} bytes, got {len(raw)}")
    v = raw[-1]
    # Wallets differ: some emit the recovery id (0/1), others 27/28 as in Ethereum transactions.
    if v in (0, 1):
        return raw[:-1] + bytes([v + 27])
    if v in (27, 28):
        return raw
    raise Unauthorized(f"signature recovery byte v must be 0, 1, 27 or 28, got {v}")
