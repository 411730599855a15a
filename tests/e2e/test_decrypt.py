"""POST /api/services/decrypt on a real ``c2d serve`` that serves no chain: what is refused
before any chain is read (the body's shape, an unserved chain) and the settings. Decrypting,
and every check that reads the chain, is in tests/chain/test_decrypt_on_chain.py."""

from __future__ import annotations

import hashlib
import json
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


def body(public_key: bytes, nonce: int, signer: LocalAccount = INDEXER) -> dict[str, Any]:
    plain = DDO.encode()
    message = f"{to_checksum_address(NFT)}{signer.address}{CHAIN}{nonce}"
    signature = signer.sign_message(encode_defunct(text="0x" + keccak(text=message).hex()))
    return {
        "decrypterAddress": signer.address,
        "chainId": CHAIN,
        "nonce": str(nonce),
        "signature": "0x" + bytes(signature.signature).hex(),
        "dataNftAddress": NFT,
        "encryptedDocument": "0x" + encrypt(public_key, plain).hex(),
        "flags": 2,
        "documentHash": "0x" + hashlib.sha256(plain).hexdigest(),
    }


DOCUMENT = ("encryptedDocument", "flags", "documentHash")


def post(server: ServerProcess, payload: dict[str, Any]) -> httpx.Response:
    return httpx.post(server.url + "/api/services/decrypt", json=payload, timeout=30)


def test_a_chain_not_served_is_refused(server: ServerProcess, public_key: bytes) -> None:
    # An empty transactionId is none, as Ocean Node reads it.
    answer = post(server, {**body(public_key, 10), "transactionId": ""})
    assert answer.status_code == 400
    assert answer.json()["error"] == (
        f"chain {CHAIN} is not served by this provider (served: none)"
    )
    # The same for a transaction: nothing is looked up on a chain this provider does not serve.
    by_transaction = {
        **{k: v for k, v in body(public_key, 11).items() if k not in DOCUMENT},
        "transactionId": "0x" + "1" * 64,
    }
    answer = post(server, by_transaction)
    assert answer.status_code == 400
    assert "is not served by this provider" in answer.json()["error"]


def test_bad_input_is_a_400_naming_it(server: ServerProcess, public_key: bytes) -> None:
    cases = {
        "transactionId and encryptedDocument, flags, documentHash: send either": {
            **body(public_key, 30),
            "transactionId": "0x" + "1" * 64,
        },
        "missing encryptedDocument, flags, documentHash (or send transactionId": {
            k: v for k, v in body(public_key, 33).items() if k not in DOCUMENT
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
    short = {k: v for k, v in body(public_key, 36).items() if k not in DOCUMENT}
    malformed = post(server, {**short, "transactionId": "0x1234"})
    assert malformed.status_code == 422
    assert "transactionId" in malformed.text


def test_settings_refuse_a_malformed_allowed_address(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="C2D_ALLOWED_DECRYPTERS"):
        start_server(tmp_path / "home", env={"C2D_ALLOWED_DECRYPTERS": "0x1234"})


@pytest.mark.parametrize(
    ("lists", "problem"),
    [
        ('{"8996": "0x12"}', "not a list of 0x addresses"),
        # Well formed, but this provider serves no chain: the list could never be read.
        (f'{{"8996": ["0x{"11" * 20}"]}}', "chain 8996 is not served .served: none."),
    ],
)
def test_settings_refuse_decrypter_access_lists_that_cannot_work(
    tmp_path: Path, lists: str, problem: str
) -> None:
    with pytest.raises(RuntimeError, match=f"C2D_DECRYPTER_ACCESS_LISTS.*{problem}"):
        start_server(tmp_path / "home", env={"C2D_DECRYPTER_ACCESS_LISTS": lists})


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
    assert server.process.poll() is None
    assert "is not served" in post(server, body(public_key, 41)).json()["error"]
