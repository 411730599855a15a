"""Request fields ocean.js seals for the provider: the hex of ECIES(nodePublicKey, JSON).

``output`` and ``encryptedDockerRegistryAuth`` are both sent this way; each is opened here, and a
field that cannot be is a 400 naming the field (never its content).
"""

from __future__ import annotations

import json

from provider.assets.encryption import decrypt
from provider.errors import BadRequest

__all__ = ["open_sealed_json"]


def open_sealed_json(sealed: str, private_key: bytes | None, field: str) -> object:
    """The JSON value ``sealed`` holds; BadRequest says what is wrong with ``field``."""
    if private_key is None:
        raise BadRequest(f"{field}: this provider has no key to decrypt it")
    try:
        message = bytes.fromhex(sealed.removeprefix("0x"))
    except ValueError:
        raise BadRequest(f"{field}: not a hex string") from None
    try:
        plain = decrypt(private_key, message)
    except BadRequest as why:
        raise BadRequest(
            f"{field}: {why.message}; encrypt it with this provider's nodePublicKey"
        ) from None
    try:
        return json.loads(plain)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BadRequest(f"{field}: the decrypted text is not JSON") from None
