"""What a client or an operator finds before starting a job: discovery, environments, API docs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import yaml

from devkit.launch import ServerProcess, free_port, start_server
from provider.assets.ddo import did_for


def test_discovery_lists_every_service_ocean_clients_look_up(server: ServerProcess) -> None:
    answer = httpx.get(server.url + "/").json()
    endpoints = answer["serviceEndpoints"]
    for name in (
        "nonce",
        "computeEnvironments",
        "freeCompute",
        "computeStart",
        "computeStatus",
        "computeStop",
        "computeResult",
        "computeStreamableLogs",
    ):
        method, path = endpoints[name]
        assert method in ("GET", "POST", "PUT") and path.startswith("/api/services/")
    assert answer["providerAddress"].startswith("0x")


def test_default_environment_is_free_sized_from_this_machine_and_offline(
    server: ServerProcess,
) -> None:
    (env,) = httpx.get(server.url + "/api/services/computeEnvironments").json()
    assert env["id"] == "free" and env["free"]["maxJobDuration"] == 600
    assert {r["id"] for r in env["resources"]} >= {"cpu", "ram", "disk"}
    assert env["allowNetwork"] is False
    assert "python:3.11" in env["images"]


def test_openapi_and_docs_are_served(server: ServerProcess) -> None:
    schema = httpx.get(server.url + "/openapi.json").json()
    assert "/api/services/freeCompute" in schema["paths"]
    docs = httpx.get(server.url + "/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_chain_ids_are_the_configured_chains_even_unpriced_and_down(tmp_path: Path) -> None:
    """A chain under ``chains:`` is announced although no environment prices jobs on it, and
    although its RPC does not answer; asking its index then says which chain cannot be read."""
    book = tmp_path / "addresses.json"
    contracts = {
        name: "0x" + digit * 40
        for name, digit in (("Ocean", "1"), ("ERC721Factory", "2"), ("Escrow", "3"))
    }
    book.write_text(json.dumps({"mine": {"chainId": 5, **contracts}}))
    config = tmp_path / "c2d.yaml"
    dead = f"http://127.0.0.1:{free_port()}"
    environment = {
        "id": "free",
        "resources": [{"id": name, "total": 1, "max": 1} for name in ("cpu", "ram", "disk")],
        "runtimes": [{"images": ["python:3.11"], "binds": ["/usr"]}],
        "free": {"maxJobDuration": 60},
    }
    config.write_text(
        yaml.safe_dump(
            {
                "chains": [{"chainId": 5, "rpc": [dead], "addresses": str(book)}],
                "environments": [environment],
            }
        )
    )
    server = start_server(tmp_path / "home", env={"C2D_CONFIG": str(config)}, ready_timeout=120)
    try:
        assert httpx.get(server.url + "/").json()["chainIds"] == [5]
        did = did_for("0x" + "4" * 40, 5)
        answer = httpx.get(server.url + "/api/aquarius/assets/ddo/" + did)
        assert answer.status_code == 503
        assert answer.json()["error"].startswith(
            "chain 5: the asset index cannot read the chain (nothing indexed yet): chain 5: no RPC"
        )
    finally:
        server.stop()


def _unserved_routes() -> list[tuple[str, str]]:
    """The (method, path) pairs docs/ocean-compat.md lists as Ocean Node routes c2d does not
    serve, each ``:param`` given a value."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "ocean-compat.md").read_text()
    section = text.split("## Ocean Node routes c2d does not serve", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    found = [
        (method, re.sub(r":[A-Za-z]+", "x", path))
        for row in rows
        for method, path in re.findall(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`]*)`", row.split("|")[1])
    ]
    assert len(rows) >= 15 and len(found) >= 28, found
    return found


def test_the_ocean_node_routes_listed_as_unserved_are_not_served(server: ServerProcess) -> None:
    for method, path in _unserved_routes():
        answer = httpx.request(method, server.url + path, json={})
        assert answer.status_code in (404, 405), (method, path, answer.status_code)
    # The check can fail: a route c2d serves answers otherwise.
    assert httpx.get(server.url + "/api/services/nonce?userAddress=x").status_code == 422
