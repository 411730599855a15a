"""ECIES on secp256k1 for data only this provider may read (service files, DDOs).

Layout (as eciesjs' default): 65-byte uncompressed ephemeral public key, 16-byte nonce,
16-byte tag, then the AES-256-GCM ciphertext; the key is HKDF-SHA256 of the ephemeral public
key followed by the uncompressed shared point.
"""

from __future__ import annotations

import secrets

from Crypto.Cipher import AES
from Crypto.Hash import SHA256
from Crypto.Protocol.KDF import HKDF
from eth_keys.backends.native import ecdsa

from provider.errors import BadRequest

__all__ = ["decrypt", "encrypt"]

_PUBLIC = 65
_N: int = ecdsa.N  # type: ignore[attr-defined]
_multiply = ecdsa.fast_multiply  # type: ignore[attr-defined]
_NONCE = 16
_TAG = 16


def encrypt(public_key: bytes, plaintext: bytes) -> bytes:
    """Encrypt for the holder of ``public_key`` (64 raw or 65 uncompressed bytes)."""
    receiver = ecdsa.decode_public_key(public_key[-64:])
    ephemeral = secrets.randbelow(_N - 1) + 1
    ephemeral_public = b"\x04" + ecdsa.private_key_to_public_key(ephemeral.to_bytes(32, "big"))
    key = _key(ephemeral_public, _multiply(receiver, ephemeral))
    nonce = secrets.token_bytes(_NONCE)
    cipher = AES.new(key, AES.MODE_GCM, nonce=nonce)
    ciphertext, tag = cipher.encrypt_and_digest(plaintext)
    return ephemeral_public + nonce + tag + ciphertext


def decrypt(private_key: bytes, message: bytes) -> bytes:
    """Decrypt with ``private_key``; BadRequest when the message is not for this key."""
    if len(message) < _PUBLIC + _NONCE + _TAG or message[0] != 4:
        raise BadRequest("encrypted data is malformed")
    ephemeral_public = message[:_PUBLIC]
    nonce = message[_PUBLIC : _PUBLIC + _NONCE]
    tag = message[_PUBLIC + _NONCE : _PUBLIC + _NONCE + _TAG]
    try:
        point = ecdsa.decode_public_key(ephemeral_public[1:])
        shared = _multiply(point, int.from_bytes(private_key, "big"))
        cipher = AES.new(_key(ephemeral_public, shared), AES.MODE_GCM, nonce=nonce)
        return bytes(cipher.decrypt_and_verify(message[_PUBLIC + _NONCE + _TAG :], tag))
    except ValueError:
        raise BadRequest("encrypted data cannot be decrypted by this provider") from None


def _key(ephemeral_public: bytes, shared: tuple[int, int]) -> bytes:
    shared_bytes = b"\x04" + ecdsa.encode_raw_public_key(shared)
    key = HKDF(ephemeral_public + shared_bytes, 32, b"", SHA256)
    assert isinstance(key, bytes)
    return key
