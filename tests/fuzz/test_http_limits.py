"""Size and rate limits at the HTTP edge: 413 for big bodies and query strings, 429 with
Retry-After per consumer address and per client IP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devkit.launch import ServerProcess, start_server

_NONCE = "/api/services/nonce"


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = start_server(
        Path(tmp_path_factory.mktemp("limits-home")),
        env={
            "C2D_RATE_LIMIT_IP": "2",
            "C2D_RATE_LIMIT_IP_BURST": "12",
            "C2D_RATE_LIMIT_ADDRESS": "0.5",
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


def test_rate_limits_per_address_then_per_ip(strict: ServerProcess) -> None:
    busy, quiet = "0x" + "b" * 40, "0x" + "c" * 40
    with httpx.Client(base_url=strict.url) as http:
        codes = [http.get(_NONCE, params={"userAddress": busy}).status_code for _ in range(4)]
        assert codes[:3] == [200, 200, 200] and codes[3] == 429, codes
        refused = http.get(_NONCE, params={"userAddress": busy.upper().replace("0X", "0x")})
        assert refused.status_code == 429, "the address limit ignores case"
        assert int(refused.headers["Retry-After"]) >= 1
        assert "consumer address" in refused.json()["error"]
        # The address limit also applies when the address is in a JSON body.
        posted = http.post("/api/services/auth/token", json={"address": busy})
        assert posted.status_code == 429, posted.text
        # Another address from the same IP is still served...
        assert http.get(_NONCE, params={"userAddress": quiet}).status_code == 200
        # ...until the IP's own bucket (12) is empty.
        codes = [http.get("/").status_code for _ in range(12)]
        assert 429 in codes, codes
        last = http.get("/")
        assert last.status_code == 429 and "IP address" in last.json()["error"]
        assert int(last.headers["Retry-After"]) >= 1
