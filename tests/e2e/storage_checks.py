"""What the ``output`` tests share: the servers, an algorithm that writes outputs, and the
consumer's side (encrypting ``output`` for the provider, decrypting the archive with openssl)."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from pathlib import Path
from typing import Any

from eth_keys.datatypes import PublicKey

from provider.assets.encryption import encrypt

__all__ = [
    "AES",
    "WRITES_OUTPUTS",
    "assert_outputs",
    "openssl_decrypt",
    "sealed_output",
]

AES = {"encryptMethod": "AES", "key": "5a" * 32}
WRITES_OUTPUTS = """
import os
os.makedirs("/data/outputs/deep", exist_ok=True)
open("/data/outputs/answer.txt", "w").write("42")
open("/data/outputs/deep/rows.csv", "w").write("a,b\\n1,2\\n")
"""


def sealed_output(node_public_key: str, document: dict[str, Any]) -> str:
    """As ocean.js: ECIES for the provider's nodePublicKey (compressed, from GET /), as hex."""
    compressed = bytes.fromhex(node_public_key.removeprefix("0x"))
    public = PublicKey.from_compressed_bytes(compressed).to_bytes()
    return encrypt(public, json.dumps(document).encode()).hex()


def openssl_decrypt(node_public_key: str, data: bytes, tmp_path: Path) -> bytes:
    """What a consumer runs: key = theirs, IV = the first 16 bytes of nodePublicKey."""
    iv = node_public_key.removeprefix("0x")[:32]
    sealed = tmp_path / "sealed.tar"
    sealed.write_bytes(data)
    command = ["openssl", "enc", "-d", "-aes-256-cbc", "-K", AES["key"], "-iv", iv, "-in"]
    return subprocess.run([*command, str(sealed)], check=True, capture_output=True).stdout


def assert_outputs(archive: bytes) -> None:
    """The archive holds what WRITES_OUTPUTS wrote."""
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        files = {
            member.name.removeprefix("./"): tar.extractfile(member).read()  # type: ignore[union-attr]
            for member in tar.getmembers()
            if member.isfile()
        }
    assert files["answer.txt"] == b"42"
    assert files["deep/rows.csv"] == b"a,b\n1,2\n"
