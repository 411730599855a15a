"""POST /api/services/decrypt on a real ``c2d serve``: an allowed indexer signs as Ocean Node's
clients do and gets the DDO encrypted with the provider's public key (GET /)."""

from __future__ import annotations

import hashlib
import json
import lzma
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_keys.datatypes import PublicKey
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from devkit.launch import ServerProcess, start_server
from provider.assets.ddo import did_for
from provider.assets.encryption import encrypt

INDEXER = Account.create()
NFT = "0x" + "5a" * 20
CHAIN = 8996
DDO = json.dumps({"id": did_for(NFT, CHAIN), "version": "4.1.0", "chainId": CHAIN})


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("decrypt-home")
    served = start_server(home, env={"C2D_ALLOWED_DECRYPTERS": f" {INDEXER.address.lower()} "})
    yield served
    served.stop()


@pytest.fixture(scope="module")
def public_key(server: ServerProcess) -> bytes:
    discovery = httpx.get(server.url + "/").json()
    assert discovery["serviceEndpoints"]["decrypt"] == ["POST", "/api/services/decrypt"]
    compressed = bytes.fromhex(discovery["nodePublicKey"][2:])
    return PublicKey.from_compressed_bytes(compressed).to_bytes()


def body(
    public_key: bytes,
    nonce: int,
    signer: LocalAccount = INDEXER,
    *,
    document: str = DDO,
    flags: int = 2,
) -> dict[str, Any]:
    plain = document.encode()
    payload = lzma.compress(plain) if flags & 1 else plain
    message = f"{to_checksum_address(NFT)}{signer.address}{CHAIN}{nonce}"
    signature = signer.sign_message(encode_defunct(text="0x" + keccak(text=message).hex()))
    return {
        "decrypterAddress": signer.address,
        "chainId": CHAIN,
        "nonce": str(nonce),
        "signature": "0x" + bytes(signature.signature).hex(),
        "dataNftAddress": NFT,
        "encryptedDocument": "0x" + encrypt(public_key, payload).hex(),
        "flags": flags,
        "documentHash": "0x" + hashlib.sha256(plain).hexdigest(),
    }


def post(server: ServerProcess, payload: dict[str, Any]) -> httpx.Response:
    return httpx.post(server.url + "/api/services/decrypt", json=payload, timeout=30)


def test_an_allowed_indexer_decrypts_and_cannot_replay(
    server: ServerProcess, public_key: bytes
) -> None:
    first = body(public_key, 10, flags=3)
    answer = post(server, first)
    assert answer.status_code == 200, answer.text
    assert answer.text == DDO
    assert answer.headers["content-type"].startswith("text/plain")
    replayed = post(server, first)
    assert replayed.status_code == 401
    assert "nonce 10 is not greater" in replayed.json()["error"]


def test_an_address_not_on_the_list_is_forbidden(server: ServerProcess, public_key: bytes) -> None:
    answer = post(server, body(public_key, 1, Account.create()))
    assert answer.status_code == 403
    assert "not allowed to decrypt" in answer.json()["error"]


def test_a_forged_signature_and_a_wrong_hash_are_refused(
    server: ServerProcess, public_key: bytes
) -> None:
    forged = {
        **body(public_key, 20),
        "signature": body(public_key, 20, Account.create())["signature"],
    }
    assert post(server, forged).status_code == 401
    wrong_hash = {**body(public_key, 21), "documentHash": "0x" + "00" * 32}
    answer = post(server, wrong_hash)
    assert answer.status_code == 400
    assert "does not match documentHash" in answer.json()["error"]


def test_bad_input_is_a_400_naming_it(server: ServerProcess, public_key: bytes) -> None:
    cases = {
        "transactionId is not supported": {
            **body(public_key, 30),
            "transactionId": "0x" + "1" * 64,
        },
        "missing documentHash": {
            k: v for k, v in body(public_key, 31).items() if k != "documentHash"
        },
        "unknown field 'policyServer'": {**body(public_key, 32), "policyServer": {}},
        "flags": {**body(public_key, 34), "flags": 4},
    }
    for expected, payload in cases.items():
        answer = post(server, payload)
        assert answer.status_code == 400, (expected, answer.text)
        assert expected in answer.text, (expected, answer.text)
    # Not hex: the schema's 422, as for every malformed body (docs/api.md).
    malformed = post(server, {**body(public_key, 35), "encryptedDocument": "0xzz"})
    assert malformed.status_code == 422
    assert "encryptedDocument" in malformed.text


def test_settings_refuse_a_malformed_allowed_address(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="C2D_ALLOWED_DECRYPTERS"):
        start_server(tmp_path / "home", env={"C2D_ALLOWED_DECRYPTERS": "0x1234"})


def test_a_deeply_nested_body_is_a_400_and_the_provider_lives_on(
    server: ServerProcess, public_key: bytes
) -> None:
    # 200 KB, under the body cap; it used to crash c2d serve (SIGSEGV in the JSON parser).
    nested = "[" * 100_000 + "]" * 100_000
    for path in ("/api/services/decrypt", "/api/services/fileInfo"):
        answer = httpx.post(
            server.url + path,
            content=nested,
            headers={"content-type": "application/json"},
            timeout=30,
        )
        assert answer.status_code == 400, answer.text
    # The same nesting as a signed document with its right hash.
    answer = post(server, body(public_key, 40, document=nested))
    assert answer.status_code == 400
    assert "not a JSON DDO" in answer.json()["error"]
    assert server.process.poll() is None
    assert post(server, body(public_key, 41)).text == DDO
