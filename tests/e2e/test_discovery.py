"""What a client or an operator finds before starting a job: discovery, environments, API docs."""

from __future__ import annotations

import httpx

from devkit.launch import ServerProcess


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
