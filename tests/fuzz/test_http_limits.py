"""Size and rate limits at the HTTP edge: 413 for big bodies and query strings, 429 with
Retry-After per client IP and per proven consumer address (naming an address costs it nothing)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from eth_account import Account

from devkit.client import C2DClient, sign_request
from devkit.launch import ServerProcess, start_server

_NONCE = "/api/services/nonce"
_CONTAINER = {"entrypoint": "python $ALGO", "image": "python", "tag": "3.11"}


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = start_server(
        Path(tmp_path_factory.mktemp("limits-home")),
        # Buckets refill so slowly (one request per 100 s) that a loaded machine taking seconds
        # between two requests cannot refill one: the counts below are exact.
        env={
            "C2D_RATE_LIMIT_IP": "0.01",
            "C2D_RATE_LIMIT_IP_BURST": "12",
            "C2D_RATE_LIMIT_ADDRESS": "0.01",
            "C2D_RATE_LIMIT_ADDRESS_BURST": "3",
            "C2D_MAX_REQUEST_BYTES": "4096",
        },
    )
    yield process
    process.stop()


def test_oversized_body_and_query_are_413_json(strict: ServerProcess) -> None:
    with httpx.Client(base_url=strict.url) as http:
        body = http.post("/api/services/freeCompute", content=b"{" + b" " * 8000 + b"}")
        assert body.status_code == 413 and "too large" in body.json()["error"]
        query = http.get(_NONCE, params={"userAddress": "0x" + "a" * 9000})
        assert query.status_code == 413 and "query string" in query.json()["error"]
        assert "limit 8192 bytes" in query.json()["error"]


def test_the_address_limit_counts_proven_requests_only(strict: ServerProcess) -> None:
    victim = Account.create()
    # Another client (127.0.0.2) names the victim's address without its key, again and again:
    # unsigned nonce reads, starts with a bad signature, token requests signed by another key.
    stranger = Account.create()
    attacker = httpx.Client(
        base_url=strict.url, transport=httpx.HTTPTransport(local_address="127.0.0.2")
    )
    with attacker:
        for attempt in range(5):
            attacker.get(_NONCE, params={"userAddress": victim.address})
            attacker.post(
                "/api/services/freeCompute",
                json={
                    "consumerAddress": victim.address,
                    "nonce": str(attempt + 1),
                    "signature": sign_request(stranger, attempt + 1, "freeStartCompute"),
                    "environment": "free",
                    "algorithm": {"meta": {"rawcode": "x", "container": _CONTAINER}},
                },
            )
    # The victim's own signed and token requests are served: its bucket (3) is untouched.
    with C2DClient(strict.url, victim) as client:
        token = client.login()
        assert client.status_list() == []
        assert client.status_list() == []
    # The fourth proven request in a row finds the bucket empty: 429, JSON, Retry-After; the
    # address is compared without case.
    params = {"consumerAddress": victim.address.lower()}
    refused = httpx.get(
        strict.url + "/api/services/compute", params=params, headers={"Authorization": token}
    )
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"].startswith("too many requests from this consumer address")
    assert int(refused.headers["Retry-After"]) >= 1
    # Unproven, the same read is not charged to the address (only to the IP).
    assert httpx.get(strict.url + "/api/services/compute", params=params).status_code == 200


def test_the_ip_limit_counts_every_request(strict: ServerProcess) -> None:
    with httpx.Client(
        base_url=strict.url, transport=httpx.HTTPTransport(local_address="127.0.0.3")
    ) as http:
        codes = [http.get("/").status_code for _ in range(12)]
        assert codes == [200] * 12, codes
        last = http.get(_NONCE, params={"userAddress": "0x" + "c" * 40})
        assert last.status_code == 429 and "IP address" in last.json()["error"]
        assert int(last.headers["Retry-After"]) >= 1


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /api/services/compute HTTP/1.1\r\nHost: x\r\nX-Bad\x01: y\r\n\r\n",
        b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"NOT A REQUEST\r\n\r\n",
    ],
)
def test_a_request_that_cannot_be_parsed_is_a_json_400(
    strict: ServerProcess, request_bytes: bytes
) -> None:
    # uvicorn answered these itself in plain text ("Invalid HTTP request received."), which
    # the schema fuzzing (negative mode) met now and then.
    host, port = strict.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(request_bytes)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 400 Bad Request", answer
    assert "content-type: application/json" in [line.lower() for line in lines[1:]], answer
    assert json.loads(body) == {"error": "Invalid HTTP request received."}
