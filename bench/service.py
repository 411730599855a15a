"""A real ``c2d serve`` for the bench, signed requests made in advance, waiting for jobs."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account
from eth_account.signers.local import LocalAccount

from devkit.client import sign_request
from devkit.launch import ServerProcess, start_server
from provider.environments import default_config
from workflows.status import TERMINAL_STATUSES, JobStatus

__all__ = ["CONTAINER", "Bench", "free_start_body", "slots_settings", "wait_final"]

CONTAINER = {"entrypoint": "python $ALGO", "image": "python", "tag": "3.11"}
# Polling the status as an Ocean client does; this interval bounds the error it adds.
_POLL_SECONDS = 0.005


def free_start_body(
    code: str,
    *,
    wait: int = 0,
    account: LocalAccount | None = None,
    container: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A signed freeCompute body for a fresh account (its first nonce is 1); the container is
    the host runtime's ``python:3.11`` unless one is given."""
    account = account or Account.create()
    body: dict[str, Any] = {
        "consumerAddress": account.address,
        "nonce": "1",
        "signature": sign_request(account, 1, "freeStartCompute"),
        "environment": "free",
        "algorithm": {"meta": {"rawcode": code, "container": container or CONTAINER}},
    }
    if wait:
        body["queueMaxWaitTime"] = wait
    return body


def slots_settings(home: Path, slots: int) -> dict[str, str]:
    """Settings for a provider under ``home`` whose default environment runs ``slots`` jobs at
    once (``maxJobs``, ``free.maxJobs`` and ``C2D_MAX_CONCURRENT_JOBS``); its config file is
    written into ``home``."""
    environment = default_config(home).environments[0].model_dump(by_alias=True, exclude_none=True)
    environment["maxJobs"] = slots
    environment["free"]["maxJobs"] = slots
    config = home / "environments.json"
    config.write_text(json.dumps({"environments": [environment]}))
    return {"C2D_CONFIG": str(config), "C2D_MAX_CONCURRENT_JOBS": str(slots)}


class Bench:
    """One provider process under ``home`` and an HTTP client to it."""

    def __init__(self, home: Path, env: dict[str, str] | None = None) -> None:
        settings = {
            "C2D_LOG_FORMAT": "json",
            # Files come from loopback; one client makes all requests, so per-IP and
            # per-address rate limits (which would refuse this load by design) are off.
            "C2D_SOURCE_NETWORKS": "127.0.0.0/8",
            "C2D_RATE_LIMIT_IP": "0",
            "C2D_RATE_LIMIT_ADDRESS": "0",
        }
        self.server: ServerProcess = start_server(home, env={**settings, **(env or {})})
        self.url = self.server.url
        self.http = httpx.Client(base_url=self.url, timeout=60)

    def close(self) -> None:
        self.http.close()
        self.server.stop()

    def start(self, body: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post("/api/services/freeCompute", json=body)
        response.raise_for_status()
        job: dict[str, Any] = response.json()[0]
        return job

    def status(self, owner: str, job_id: str) -> dict[str, Any]:
        params = {"consumerAddress": owner, "jobId": job_id}
        response = self.http.get("/api/services/compute", params=params)
        response.raise_for_status()
        job: dict[str, Any] = response.json()[0]
        return job


def wait_final(
    bench: Bench, owner: str, job_id: str, timeout: float = 600, poll: float = _POLL_SECONDS
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = bench.status(owner, job_id)
        if JobStatus(job["status"]) in TERMINAL_STATUSES:
            return job
        time.sleep(poll)
    raise TimeoutError(f"job {job_id} did not finish within {timeout} s")
