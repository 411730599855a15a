"""What a provider serving the dev chain shows: chainIds, the paid environment, encrypt,
initializeCompute refusals, and the ``c2d publish`` command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
from eth_account.signers.local import LocalAccount

from devkit.launch import ServerProcess
from tests.chain.market import Market, job_body


def test_discovery_and_environments_show_the_chain(
    paid_server: ServerProcess, market: Market
) -> None:
    answer = httpx.get(paid_server.url + "/").json()
    assert answer["chainIds"] == [8996]
    assert answer["serviceEndpoints"]["initializeCompute"] == [
        "POST",
        "/api/services/initializeCompute",
    ]
    assert answer["serviceEndpoints"]["encrypt"] == ["POST", "/api/services/encrypt"]
    envs = httpx.get(paid_server.url + "/api/services/computeEnvironments").json()
    paid = next(env for env in envs if env["id"] == "paid")
    assert "free" not in paid
    (fee,) = paid["fees"]["8996"]
    assert fee["feeToken"] == market.chain.ocean
    assert {p["id"]: p["price"] for p in fee["prices"]} == {"cpu": 1, "ram": 0.5, "disk": 0.1}
    # As Ocean Node filters: only the environments paid on that chain.
    listed = paid_server.url + "/api/services/computeEnvironments"
    assert httpx.get(listed, params={"chainId": 1}).json() == []
    assert [env["id"] for env in httpx.get(listed, params={"chainId": 8996}).json()] == ["paid"]
    assert [env["id"] for env in httpx.get(listed, params={"chainId": 0}).json()] == [
        env["id"] for env in envs
    ]


def test_encrypt_needs_a_signature(paid_server: ServerProcess, buyer: LocalAccount) -> None:
    answer = httpx.post(
        paid_server.url + "/api/services/encrypt",
        params={"consumerAddress": buyer.address},
        content=b"secret",
    )
    assert answer.status_code == 401


def test_initialize_refuses_what_it_cannot_price(market: Market, buyer: LocalAccount) -> None:
    algorithm = market.algorithm()
    dataset = market.dataset(market.trusting(algorithm))
    body = job_body(algorithm, [dataset])
    url = market.provider_url + "/api/services/initializeCompute"
    base = {**body, "consumerAddress": buyer.address}

    free = httpx.post(url, json={**base, "environment": "free"})
    assert free.status_code == 400 and "is free" in free.json()["error"]
    other = httpx.post(url, json={**base, "payment": {"chainId": 1}})
    assert other.json()["error"] == (
        "payment.chainId 1 is not served here; this provider serves chain 8996"
    )
    token = "0x" + "12" * 20
    wrong = httpx.post(url, json={**base, "payment": {"chainId": 8996, "token": token}})
    assert wrong.json()["error"] == f"environment paid is not paid on chain 8996 in token {token}"
    too_long = httpx.post(url, json={**base, "maxJobDuration": 10**6})
    assert too_long.status_code == 400 and "exceeds the maximum" in too_long.json()["error"]
    # Fields ocean.js sends to initializeCompute are checked as on a start, never dropped.
    waits = httpx.post(url, json={**base, "queueMaxWaitTime": 601})
    assert waits.status_code == 400
    assert waits.json()["error"].startswith("queueMaxWaitTime 601 s is more than a paid job")
    registry = httpx.post(url, json={**base, "encryptedDockerRegistryAuth": "0x04ab"})
    assert registry.status_code == 400
    assert registry.json()["error"].startswith("encryptedDockerRegistryAuth: ")


def test_publish_command_prints_a_did_the_provider_resolves(
    chain_home: Path, paid_server: ServerProcess, market: Market, buyer: LocalAccount
) -> None:
    def publish(*args: str) -> list[str]:
        done = subprocess.run(
            [sys.executable, "-m", "provider.cli", "publish", *args],
            env={**os.environ, "C2D_HOME": str(chain_home)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip().splitlines()

    common = ["--provider", paid_server.url]
    algo_lines = publish(
        "algorithm", "--name", "stats", "--file", market.files.url("stats.py"), *common
    )
    algorithm_did = algo_lines[-1]
    trust = next(line for line in algo_lines if "--trust-algorithm" in line).split()[-1]
    dataset_lines = publish(
        "dataset",
        "--name",
        "weather",
        "--file",
        market.files.url("weather.csv"),
        "--trust-algorithm",
        trust,
        "--mint-to",
        buyer.address,
        *common,
    )
    dataset_did = dataset_lines[-1]
    assert algorithm_did.startswith("did:op:") and dataset_did.startswith("did:op:")
    body = {
        "environment": "paid",
        "consumerAddress": buyer.address,
        "algorithm": {"documentId": algorithm_did},
        "datasets": [{"documentId": dataset_did}],
    }
    answer = httpx.post(market.provider_url + "/api/services/initializeCompute", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["datasets"][0]["providerFee"]["providerFeeAddress"] == (
        market.provider_address
    )


def test_a_paid_job_may_not_queue_longer_than_its_escrow_lock(
    market: Market, buyer: LocalAccount
) -> None:
    algorithm = market.algorithm()
    dataset = market.dataset(market.trusting(algorithm))
    body = {**job_body(algorithm, [dataset]), "queueMaxWaitTime": 3600}
    answer = market.start(buyer, body)
    assert answer.status_code == 400
    assert "queueMaxWaitTime 3600 s" in answer.json()["error"]
