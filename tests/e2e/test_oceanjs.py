"""The real client: ocean.js (@oceanprotocol/lib 8.0.0 from npm) against a running provider."""

from __future__ import annotations

import json
from itertools import count
from pathlib import Path

import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from devkit.client import C2DClient, sign_request
from devkit.demo.files import FileServer
from devkit.launch import ServerProcess
from provider.auth.signature import Command, request_message
from tests.e2e.conftest import wait_for
from tests.e2e.oceanjs import run_oceanjs
from tests.e2e.storage_checks import AES, WRITES_OUTPUTS, assert_outputs, openssl_decrypt
from tests.storage_servers import FtpServer, S3Server
from workflows.status import JobStatus

# Fields of a job that ocean.js's computeStatus(url, wallet, jobId) must carry although it sends
# no credentials, and fields that stay behind a signature or token.
OPERATIONAL = (
    "statusReason",
    "expireTimestamp",
    "maxJobDuration",
    "algoStartTimestamp",
    "algoStopTimestamp",
    "terminationDetails",
)
PRIVATE = ("inputDID", "algoDID", "agreementId", "metadata", "additionalViewers", "payment")


def test_oceanjs_free_compute_flow(server: ServerProcess, file_server: FileServer) -> None:
    consumer = Account.create()
    summary = run_oceanjs(
        "oceanjs_compat.mjs",
        {
            "PROVIDER_URL": server.url,
            "CONSUMER_KEY": consumer.key.hex(),
            "DATASET_URL": file_server.url("weather.csv"),
        },
    )
    assert summary["ok"] is True
    assert summary["resultBytes"] > 0
    seen = summary["finishedFields"]
    assert {name: name in seen for name in OPERATIONAL} == dict.fromkeys(OPERATIONAL, True)
    assert {name: name in seen for name in PRIVATE} == dict.fromkeys(PRIVATE, False)
    assert summary["finishedTermination"] == {"OOMKilled": False, "exitCode": 0}
    assert summary["finishedMaxJobDuration"] > 0
    assert int(summary["finishedExpire"]) > int(summary["finishedAlgoStart"]) > 0


def _leading_zero_nonce(account: LocalAccount, command: str) -> int:
    """A nonce whose request hash starts with a zero byte (about one in 256 does)."""
    return next(
        nonce
        for nonce in count(2)
        if keccak(text=request_message(account.address, nonce, command))[0] == 0
    )


def test_oceanjs_token_status_stop_output_and_logout(server: ServerProcess) -> None:
    # A fixed key, so the nonce found below is the same on every run.
    consumer = Account.from_key(b"\x11" * 32)
    nonce = _leading_zero_nonce(consumer, Command.CREATE_AUTH_TOKEN)
    # Spend nonces up to just below it, so ocean.js's generateAuthToken signs with that one.
    _spend_nonce(server, consumer, nonce - 1)
    summary = run_oceanjs(
        "oceanjs_calls.mjs",
        {"PROVIDER_URL": server.url, "CONSUMER_KEY": "0x" + bytes(consumer.key).hex()},
    )
    assert summary["ok"] is True
    assert summary["tokenNonce"] == nonce
    assert summary["unknownStatusByWallet"] == []
    assert summary["unknownStatusByToken"] == []
    assert summary["unknownStop"] == []
    # ocean.js encrypted output itself: the provider decrypted it and says what is missing.
    assert "output: remoteStorage.s3Access.objectKey: Field required" in summary["outputRefusal"]
    assert summary["invalidated"] == {"success": True}
    assert "auth token has been invalidated" in summary["statusAfterLogout"]


def _spend_nonce(server: ServerProcess, account: LocalAccount, nonce: int) -> None:
    body = {
        "address": account.address,
        "nonce": str(nonce),
        "signature": sign_request(account, nonce, Command.CREATE_AUTH_TOKEN),
    }
    answer = httpx.post(server.url + "/api/services/auth/token", json=body)
    assert answer.status_code == 200, answer.text


def test_oceanjs_output_to_s3_and_ftp(
    server: ServerProcess, s3: S3Server, ftp: FtpServer, tmp_path: Path
) -> None:
    """ocean.js encrypts ``output``; the archive lands in S3 and FTP, plain and AES-encrypted."""
    s3.s3.create_bucket(Bucket="oceanjs")
    outputs = {
        "s3": {"remoteStorage": {"type": "s3", "s3Access": s3.access("oceanjs", "plain.tar")}},
        "s3aes": {
            "remoteStorage": {"type": "s3", "s3Access": s3.access("oceanjs", "sealed.tar")},
            "encryption": AES,
        },
        "ftp": {"remoteStorage": {"type": "ftp", "url": ftp.url("oceanjs-plain.tar")}},
        "ftpaes": {
            "remoteStorage": {"type": "ftp", "url": ftp.url("oceanjs-sealed.tar")},
            "encryption": AES,
        },
    }
    consumer = Account.create()
    summary = run_oceanjs(
        "oceanjs_output.mjs",
        {
            "PROVIDER_URL": server.url,
            "CONSUMER_KEY": "0x" + bytes(consumer.key).hex(),
            "OUTPUTS": json.dumps(outputs),
            "ALGORITHM_CODE": WRITES_OUTPUTS,
        },
    )
    with C2DClient(server.url, consumer) as client:
        for job_id in summary["jobs"].values():
            job = wait_for(client, job_id, timeout=120)
            assert job["status"] == JobStatus.FINISHED, job["statusReason"]
        node_key = client.discovery()["nodePublicKey"]
    assert_outputs(s3.read("oceanjs", "plain.tar"))
    assert_outputs(openssl_decrypt(node_key, s3.read("oceanjs", "sealed.tar"), tmp_path))
    assert_outputs((ftp.root / "oceanjs-plain.tar").read_bytes())
    sealed = (ftp.root / "oceanjs-sealed.tar").read_bytes()
    assert_outputs(openssl_decrypt(node_key, sealed, tmp_path))
