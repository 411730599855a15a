"""Two `c2d serve` processes on one PostgreSQL (C2D_DATABASE_URL), as replicas behind a
load balancer: a nonce is taken once across them, and a token one issues the other honours
until either invalidates it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from devkit.client import sign_request
from devkit.launch import ServerProcess, start_server
from tests.postgres_server import PostgresServer


@pytest.fixture
def replicas(postgres: PostgresServer, tmp_path: Path) -> Iterator[list[ServerProcess]]:
    url = postgres.fresh_database(f"c2d_{uuid.uuid4().hex[:12]}")
    env = {"C2D_DATABASE_URL": url, "C2D_PROVIDER_PRIVATE_KEY": "0x" + "5a" * 32}
    started = [start_server(tmp_path / name, env=env) for name in ("a", "b")]
    yield started
    for server in started:
        server.stop()


def _token_request(consumer: LocalAccount, nonce: int) -> dict[str, str]:
    signature = sign_request(consumer, nonce, "createAuthToken")
    return {"address": consumer.address, "nonce": str(nonce), "signature": signature}


def _jobs(server: ServerProcess, consumer: LocalAccount, token: str) -> httpx.Response:
    params = {"consumerAddress": consumer.address, "jobId": "f" * 32}
    return httpx.get(
        f"{server.url}/api/services/compute", params=params, headers={"Authorization": token}
    )


def test_replicas_share_nonces_and_tokens(replicas: list[ServerProcess]) -> None:
    consumer: LocalAccount = Account.create()
    body = _token_request(consumer, 1)
    # The same signed request at both replicas at once: one token, one refusal.
    with ThreadPoolExecutor(2) as pool:
        answers = list(
            pool.map(lambda s: httpx.post(f"{s.url}/api/services/auth/token", json=body), replicas)
        )
    assert sorted(a.status_code for a in answers) == [200, 401]
    (refused,) = [a for a in answers if a.status_code == 401]
    assert refused.json() == {"error": "nonce 1 is not greater than the last used nonce 1"}
    for server in replicas:
        nonce = httpx.get(
            f"{server.url}/api/services/nonce", params={"userAddress": consumer.address}
        )
        assert nonce.json() == {"nonce": "1"}

    (issued,) = [a for a in answers if a.status_code == 200]
    token = issued.json()["token"]
    assert [_jobs(s, consumer, token).status_code != 401 for s in replicas] == [True, True]
    invalidate = {
        "address": consumer.address,
        "nonce": "2",
        "signature": sign_request(consumer, 2, ""),
        "token": token,
    }
    done = httpx.post(f"{replicas[1].url}/api/services/auth/token/invalidate", json=invalidate)
    assert done.json() == {"success": True}
    for server in replicas:
        refused_token = _jobs(server, consumer, token)
        assert refused_token.status_code == 401
        assert refused_token.json() == {"error": "auth token has been invalidated"}
