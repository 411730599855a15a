"""``output`` decrypted and checked at admission: what the start's 400 says, before any job."""

from __future__ import annotations

import json
from typing import Any

import pytest
from eth_keys.datatypes import PrivateKey

from provider.assets.encryption import encrypt
from provider.errors import BadRequest
from provider.jobs.output import parse_output
from steps.readers.guard import SourcePolicy

KEY = PrivateKey(b"\x07" * 32)


def parse(document: dict[str, Any]) -> Any:
    sealed = encrypt(KEY.public_key.to_bytes(), json.dumps(document).encode()).hex()
    return parse_output(
        sealed, private_key=KEY.to_bytes(), policy=SourcePolicy(), file_name="outputs-e-j.tar"
    )


def test_the_iv_is_the_start_of_the_compressed_node_public_key() -> None:
    spec = parse(
        {
            "remoteStorage": {"type": "ftp", "url": "ftp://ftp.example.org/up/"},
            "encryption": {"encryptMethod": "AES", "key": "0x" + "ab" * 40},
        }
    )
    assert spec.encryption.iv == KEY.public_key.to_compressed_bytes()[:16].hex()
    assert spec.encryption.key == "ab" * 40
    assert spec.file_name == "outputs-e-j.tar"


def test_an_ftp_url_with_a_command_inside_is_refused() -> None:
    with pytest.raises(BadRequest) as caught:
        parse({"remoteStorage": {"type": "ftp", "url": "ftp://h.example/x%0D%0ADELE%20y"}})
    assert caught.value.message == (
        "output: remoteStorage.url: url must not contain control characters"
    )


def test_only_aes_is_offered() -> None:
    with pytest.raises(BadRequest) as caught:
        parse(
            {
                "remoteStorage": {"type": "ftp", "url": "ftp://h.example/x"},
                "encryption": {"encryptMethod": "ECIES", "key": "ab" * 32},
            }
        )
    assert caught.value.message == "output: encryption.encryptMethod: Input should be 'AES'"
