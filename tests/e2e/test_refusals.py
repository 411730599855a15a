"""What the provider refuses over HTTP (policy, auth, images, bad input): JSON, never a 500."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account

from devkit.client import C2DClient, ProviderError, sign_request
from devkit.launch import ServerProcess, start_server
from tests.e2e.conftest import (
    raw_algorithm,
    raw_dataset,
    result_of_type,
    wait_for,
    wait_for_status,
)
from tests.faults.conftest import HELD_ALGORITHM, release_algorithm
from workflows.status import JobStatus


def _env(client: C2DClient) -> str:
    return str(client.environments()[0]["id"])


def _refusal(client: C2DClient, body: dict[str, Any]) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        client.free_compute({"environment": _env(client), **body})
    return caught.value


def test_raw_algorithm_on_a_compute_only_dataset_is_403(
    client: C2DClient, registry: dict[str, Any]
) -> None:
    error = _refusal(
        client,
        {
            "datasets": [{"documentId": registry["trusting"]["id"], "serviceId": "compute"}],
            "algorithm": raw_algorithm("print(1)"),
        },
    )
    assert error.status_code == 403
    assert error.message.startswith("datasets[0]:") and "raw" in error.message


def test_dataset_that_lists_nothing_refuses_a_published_algorithm(
    client: C2DClient, registry: dict[str, Any]
) -> None:
    error = _refusal(
        client,
        {
            "datasets": [{"documentId": registry["private"]["id"], "serviceId": "compute"}],
            "algorithm": {"documentId": registry["algorithm"]["id"], "serviceId": "compute"},
        },
    )
    assert error.status_code == 403
    assert "datasets[0]" in error.message and "not trusted" in error.message


def test_unknown_asset_is_404(client: C2DClient) -> None:
    error = _refusal(
        client,
        {
            "datasets": [{"documentId": "did:op:" + "ab" * 32, "serviceId": "compute"}],
            "algorithm": raw_algorithm("print(1)"),
        },
    )
    assert error.status_code == 404


def test_an_image_name_that_is_no_reference_is_400_naming_it(client: C2DClient) -> None:
    # The default environment accepts any registry image (as Ocean Node); a name no registry
    # could serve is refused at start. Environments that list images: tests/provider.
    algorithm = {
        "meta": {
            "rawcode": "x",
            "container": {"entrypoint": "node $ALGO", "image": "Node JS", "tag": "20"},
        }
    }
    error = _refusal(client, {"algorithm": algorithm})
    assert error.status_code == 400
    assert "not an image name: 'Node JS'" in error.message


def test_too_many_resources_is_400(client: C2DClient) -> None:
    error = _refusal(
        client,
        {"algorithm": raw_algorithm("print(1)"), "resources": [{"id": "cpu", "amount": 10_000}]},
    )
    assert error.status_code == 400 and "cpu" in error.message


def test_signature_by_another_key_is_401(server: ServerProcess) -> None:
    victim, attacker = Account.create(), Account.create()
    body = {
        "consumerAddress": victim.address,
        "nonce": "1",
        "signature": sign_request(attacker, 1, "freeStartCompute"),
        "environment": "free",
        "algorithm": raw_algorithm("print(1)"),
    }
    response = httpx.post(server.url + "/api/services/freeCompute", json=body)
    assert response.status_code == 401
    assert "error" in response.json()


def test_replayed_nonce_is_401(server: ServerProcess) -> None:
    account = Account.create()
    with C2DClient(server.url, account) as client:
        signed = client.signed("freeStartCompute")
        body = {
            "consumerAddress": account.address,
            **signed,
            "environment": _env(client),
            "algorithm": raw_algorithm("print(1)"),
        }
        first = httpx.post(server.url + "/api/services/freeCompute", json=body)
        again = httpx.post(server.url + "/api/services/freeCompute", json=body)
    assert first.status_code == 200
    assert again.status_code == 401
    assert "nonce" in again.json()["error"]


def test_other_owner_cannot_read_results_or_logs(server: ServerProcess, file_server: Any) -> None:
    owner, stranger, viewer = Account.create(), Account.create(), Account.create()
    with C2DClient(server.url, owner) as client:
        job = client.free_compute(
            {
                "environment": _env(client),
                "algorithm": raw_algorithm("print('secret')"),
                "additionalViewers": [viewer.address],
            }
        )
        final = wait_for(client, job["jobId"])
    index = result_of_type(final, "algorithmLog")["index"]
    with C2DClient(server.url, stranger) as other:
        for attempt in (
            lambda: other.result(job["jobId"], index),
            lambda: b"".join(other.logs(job["jobId"])),
        ):
            with pytest.raises(ProviderError) as caught:
                attempt()
            assert caught.value.status_code == 403
        # The owner's jobs are not listed for someone else.
        assert other.status_list() == []
    with C2DClient(server.url, viewer) as shared:
        assert b"secret" in shared.result(job["jobId"], index)


def test_token_is_bound_to_its_address(server: ServerProcess) -> None:
    owner, other = Account.create(), Account.create()
    with C2DClient(server.url, owner) as client:
        token = client.login()
    body = {
        "consumerAddress": other.address,
        "environment": "free",
        "algorithm": raw_algorithm("print(1)"),
    }
    response = httpx.post(
        server.url + "/api/services/freeCompute", json=body, headers={"Authorization": token}
    )
    assert response.status_code == 401
    assert response.json()["error"]


def test_invalid_json_and_oversized_bodies_get_json_errors(server: ServerProcess) -> None:
    broken = httpx.post(
        server.url + "/api/services/freeCompute",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert broken.status_code == 422 and "error" in broken.json()
    huge = httpx.post(
        server.url + "/api/services/freeCompute",
        content=b"x" * (2 * 1024 * 1024),
        headers={"Content-Type": "application/json"},
    )
    assert huge.status_code == 413 and "error" in huge.json()


def test_unused_dataset_url_is_not_fetched_from_the_raw_refusal(
    client: C2DClient, file_server: Any
) -> None:
    # A refused request starts nothing: no job appears for the consumer.
    _refusal(
        client,
        {
            "datasets": [raw_dataset(file_server.url("weather.csv"))],
            "algorithm": {
                "meta": {
                    "container": {"entrypoint": "python3 $ALGO", "image": "python", "tag": "3.11"}
                }
            },
        },
    )
    assert client.status_list() == []


def test_paid_start_on_a_free_environment_is_400(server: ServerProcess) -> None:
    account = Account.create()
    with C2DClient(server.url, account) as client:
        body = {
            "consumerAddress": account.address,
            **client.signed("startCompute"),
            "environment": _env(client),
            "algorithm": raw_algorithm("print(1)"),
        }
    response = httpx.post(server.url + "/api/services/compute", json=body)
    assert response.status_code == 400
    assert "freeCompute" in response.json()["error"]


def test_unsigned_paid_start_is_401(server: ServerProcess) -> None:
    body = {
        "consumerAddress": Account.create().address,
        "environment": "free",
        "algorithm": raw_algorithm("print(1)"),
    }
    response = httpx.post(server.url + "/api/services/compute", json=body)
    assert response.status_code == 401
    assert "signature" in response.json()["error"]


def test_a_start_refused_for_a_full_queue_leaves_no_job_and_spends_its_nonce(
    tmp_path: Path,
) -> None:
    # One slot and one place in the queue: the third start finds the queue full.
    server = start_server(
        tmp_path / "home", env={"C2D_MAX_CONCURRENT_JOBS": "1", "C2D_MAX_QUEUED_JOBS": "1"}
    )
    try:
        account = Account.create()
        with C2DClient(server.url, account) as client:
            env = _env(client)
            sleeper = {
                "environment": env,
                "algorithm": raw_algorithm("import time\ntime.sleep(300)"),
            }
            running = client.free_compute(sleeper)
            queued = client.free_compute({**sleeper, "queueMaxWaitTime": 600})
            assert queued["status"] == JobStatus.QUEUED
            nonce = client.next_nonce()
            body = {
                **sleeper,
                "consumerAddress": account.address,
                "nonce": str(nonce),
                "signature": sign_request(account, nonce, "freeStartCompute"),
                "queueMaxWaitTime": 600,
            }
            refused = httpx.post(server.url + "/api/services/freeCompute", json=body)
            assert refused.status_code == 409
            assert refused.json() == {
                "error": f"the engine refused the job: environment {env} already queues 1 jobs"
            }
            # As documented, a refused request has spent its nonce; it has left no job behind.
            assert client.next_nonce() == nonce + 1
            listed = {job["jobId"]: job["status"] for job in client.status_list()}
            assert set(listed) == {running["jobId"], queued["jobId"]}, listed
            assert listed[queued["jobId"]] == JobStatus.QUEUED
            for job in (queued, running):
                client.stop(job["jobId"])
                wait_for(client, job["jobId"])
    finally:
        server.stop()


def test_a_result_asked_for_while_the_job_runs_says_it_has_not_finished(
    client: C2DClient, home: Path
) -> None:
    job_id = client.free_compute(
        {"environment": _env(client), "algorithm": raw_algorithm(HELD_ALGORITHM)}
    )["jobId"]
    wait_for_status(client, job_id, JobStatus.RUNNING_ALGORITHM)
    with pytest.raises(ProviderError) as caught:
        client.result(job_id, 0)
    assert caught.value.status_code == 409
    assert caught.value.message == (
        f"job {job_id} has not finished: it is at 40 Running algorithm;"
        " its results can be fetched once it ends"
    )
    release_algorithm(home, job_id)
    job = wait_for(client, job_id)
    assert job["status"] == JobStatus.FINISHED, job
    assert client.result(job_id, 0)
    # Once it ended, a wrong index is what it says.
    with pytest.raises(ProviderError) as wrong:
        client.result(job_id, 99)
    assert (wrong.value.status_code, wrong.value.message) == (
        404,
        f"job {job_id} has no result with index 99",
    )
