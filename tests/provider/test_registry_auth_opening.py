"""``encryptedDockerRegistryAuth`` opened with the provider key: what the start's 400 says."""

from __future__ import annotations

import json

import pytest
from eth_keys.datatypes import PrivateKey

from provider.assets.encryption import encrypt
from provider.errors import BadRequest
from provider.jobs.registry_auth import open_registry_auth
from steps.images.registry import Credentials

KEY = PrivateKey(b"\x07" * 32)
OTHER = PrivateKey(b"\x08" * 32)
SECRET = "S3CR3T-pw"


def _seal(plain: bytes, key: PrivateKey = KEY) -> str:
    return "0x" + encrypt(key.public_key.to_bytes(), plain).hex()


def test_sealed_credentials_open_with_the_provider_key() -> None:
    sealed = _seal(json.dumps({"username": "alice", "password": SECRET}).encode())
    assert open_registry_auth(sealed, KEY.to_bytes()) == Credentials("alice", SECRET)
    # ocean.js's eciesencrypt gives bare hex; Ocean Node's docs show 0x: both are taken.
    assert open_registry_auth(sealed.removeprefix("0x"), KEY.to_bytes()).username == "alice"


@pytest.mark.parametrize(
    ("sealed", "problem"),
    [
        ("0xzz", "encryptedDockerRegistryAuth: not a hex string"),
        ("0x04aa", "encryptedDockerRegistryAuth: encrypted data is malformed"),
        (
            _seal(json.dumps({"username": "a", "password": SECRET}).encode(), OTHER),
            "cannot be decrypted by this provider; encrypt it with this provider's nodePublicKey",
        ),
        (_seal(SECRET.encode()), "encryptedDockerRegistryAuth: the decrypted text is not JSON"),
        (
            _seal(json.dumps({"password": SECRET}).encode()),
            "encryptedDockerRegistryAuth: either 'auth' must be provided",
        ),
    ],
)
def test_what_cannot_be_opened_is_a_400_that_never_shows_the_secret(
    sealed: str, problem: str
) -> None:
    with pytest.raises(BadRequest) as caught:
        open_registry_auth(sealed, KEY.to_bytes())
    assert problem in caught.value.message
    assert SECRET not in caught.value.message


def test_without_a_provider_key_nothing_is_opened() -> None:
    with pytest.raises(BadRequest, match="no key to decrypt"):
        open_registry_auth(_seal(b"{}"), None)
