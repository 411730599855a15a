"""The real client: ocean.js (@oceanprotocol/lib 8.0.0 from npm) against a running provider."""

from __future__ import annotations

from itertools import count

import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from devkit.client import sign_request
from devkit.demo.files import FileServer
from devkit.launch import ServerProcess
from provider.auth.signature import Command, request_message
from tests.e2e.oceanjs import run_oceanjs

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
    assert "remote storage is not supported by this provider yet" in summary["outputRefusal"]
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
