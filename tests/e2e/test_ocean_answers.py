"""Answers a marketplace built for Ocean Node relies on, over HTTP against ``c2d serve``."""

from __future__ import annotations

from typing import Any

import httpx
import jwt
import pytest
from eth_account import Account

from devkit.client import C2DClient, ProviderError, sign_request
from devkit.launch import ServerProcess
from provider.auth.signature import Command
from tests.e2e.conftest import raw_algorithm, wait_for
from tests.e2e.test_oceanjs import OPERATIONAL, PRIVATE

UNKNOWN_JOB = "0" * 32
COMPUTE = "/api/services/compute"


def test_status_and_stop_of_an_unknown_job_answer_an_empty_list(client: C2DClient) -> None:
    address = client.account.address
    status = httpx.get(
        client.url(COMPUTE), params={"consumerAddress": address, "jobId": UNKNOWN_JOB}
    )
    assert (status.status_code, status.json()) == (200, [])
    nonce = client.next_nonce()
    stop = httpx.put(
        client.url(COMPUTE),
        params={
            "consumerAddress": address,
            "jobId": UNKNOWN_JOB,
            "nonce": str(nonce),
            "signature": sign_request(client.account, nonce, Command.STOP_COMPUTE),
        },
    )
    assert (stop.status_code, stop.json()) == (200, [])
    # The stop was authenticated all the same: its nonce is spent, a bad signature still 401.
    assert client.next_nonce() == nonce + 1
    forged = httpx.put(
        client.url(COMPUTE),
        params={"consumerAddress": address, "jobId": UNKNOWN_JOB, "nonce": "99", "signature": "0x"},
    )
    assert forged.status_code == 401
    # Results and logs keep their 404.
    for attempt in (
        lambda: client.result(UNKNOWN_JOB, 0),
        lambda: b"".join(client.logs(UNKNOWN_JOB)),
    ):
        with pytest.raises(ProviderError) as caught:
            attempt()
        assert caught.value.status_code == 404


def test_another_address_sees_and_stops_nothing_of_a_job(server: ServerProcess) -> None:
    owner, stranger = Account.create(), Account.create()
    with C2DClient(server.url, owner) as client:
        job = client.free_compute({"environment": "free", "algorithm": raw_algorithm("print(1)")})
        wait_for(client, job["jobId"])
    with C2DClient(server.url, stranger) as other:
        params = {"consumerAddress": stranger.address, "jobId": job["jobId"]}
        assert httpx.get(other.url(COMPUTE), params=params).json() == []
        stop = httpx.put(other.url(COMPUTE), params={**params, **other.signed("stopCompute")})
        assert (stop.status_code, stop.json()) == (200, [])


def _job_with_choices(client: C2DClient) -> dict[str, Any]:
    viewer = Account.create().address
    job = client.free_compute(
        {
            "environment": "free",
            "algorithm": raw_algorithm("print('hello')"),
            "metadata": {"name": "mine"},
            "additionalViewers": [viewer],
        }
    )
    return wait_for(client, job["jobId"])


def test_status_without_credentials_shows_how_the_job_went_not_what_was_chosen(
    client: C2DClient,
) -> None:
    finished = _job_with_choices(client)  # read without credentials
    assert {name: name in finished for name in OPERATIONAL} == dict.fromkeys(OPERATIONAL, True)
    assert [name for name in PRIVATE if name in finished] == []
    assert finished["terminationDetails"] == {"OOMKilled": False, "exitCode": 0}
    assert finished["statusReason"] == ""
    assert int(finished["expireTimestamp"]) > int(finished["dateFinished"])
    assert int(finished["algoStopTimestamp"]) >= int(finished["algoStartTimestamp"]) > 0
    client.login()
    full = client.status(finished["jobId"])
    assert full["metadata"] == {"name": "mine"} and len(full["additionalViewers"]) == 1
    assert {name: full[name] for name in OPERATIONAL} == {
        name: finished[name] for name in OPERATIONAL
    }


@pytest.mark.parametrize(
    ("output", "message"),
    [
        (
            "0x04" + "ab" * 120,
            "output: encrypted data cannot be decrypted by this provider;"
            " encrypt it with this provider's nodePublicKey",
        ),
        ("not hex at all", "output: not a hex string"),
        (
            {"remoteStorage": {"type": "s3"}},
            "output: must be the hex string of the ECIES-encrypted {remoteStorage, encryption}"
            " (as ocean.js sends it), not an object",
        ),
    ],
)
def test_a_garbage_output_is_refused_with_a_400_that_says_why(
    client: C2DClient, output: object, message: str
) -> None:
    with pytest.raises(ProviderError) as caught:
        client.free_compute(
            {"environment": "free", "algorithm": raw_algorithm("print(1)"), "output": output}
        )
    assert caught.value.status_code == 400
    assert caught.value.message == message
    assert client.status_list() == []


def test_invalidate_accepts_the_signature_ocean_js_makes(client: C2DClient) -> None:
    token = client.login()
    nonce = client.next_nonce()
    # ocean.js signs address + nonce, without the command.
    signature = sign_request(client.account, nonce, "")
    answer = httpx.post(
        client.url("/api/services/auth/token/invalidate"),
        json={
            "address": client.account.address,
            "nonce": str(nonce),
            "signature": signature,
            "token": token,
        },
    )
    assert (answer.status_code, answer.json()) == (200, {"success": True})
    with pytest.raises(ProviderError) as caught:
        client.status_list()
    assert (caught.value.status_code, caught.value.message) == (
        401,
        "auth token has been invalidated",
    )


def test_a_token_lives_until_invalidated_by_default(client: C2DClient) -> None:
    token = client.login()
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["address"] == client.account.address
    assert "exp" not in claims
