"""Storage expiry: a job's outputs and logs are removed once its storageExpiry has passed, while
the provider runs and across a restart; the job's record stays as it ended."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from devkit.client import C2DClient, ProviderError
from devkit.launch import ServerProcess
from tests.e2e.conftest import raw_algorithm, wait_for
from tests.faults.conftest import start_provider
from workflows.status import JobStatus

EXPIRY = 2  # seconds
CODE = "import os\nopen(os.environ['OUTPUTS'] + '/out.txt', 'w').write('result')\nprint('done')"


def _run(client: C2DClient) -> dict[str, Any]:
    job = client.free_compute({"environment": "free", "algorithm": raw_algorithm(CODE)})
    return wait_for(client, job["jobId"])


def _wait_until_expired(client: C2DClient, job_id: str) -> dict[str, Any]:
    """Poll (as a client would) until the result list is empty; bounded, not a timing check."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = client.status(job_id)
        if not job["results"]:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still lists its results: {job}")


def _removal_logged(server: ServerProcess, job_id: str) -> bool:
    """Whether serve.log says the timer removed the job's results (waited for, bounded)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for line in server.log_path.read_text().splitlines():
            event = json.loads(line) if line.startswith("{") else {}
            if event.get("job_id") == job_id and "storage expiry reached" in event.get("event", ""):
                return True
        time.sleep(0.1)
    return False


def _assert_expired(client: C2DClient, home: Path, ended: dict[str, Any]) -> None:
    job_id = ended["jobId"]
    job = _wait_until_expired(client, job_id)
    # The record is unchanged: same status, reason, dates, expiry; only the results are gone.
    for key in ("status", "statusText", "statusReason", "dateFinished", "expireTimestamp"):
        assert job[key] == ended[key], key
    assert int(job["expireTimestamp"]) <= time.time()
    outputs = [r["index"] for r in ended["results"] if r["type"] == "output"]
    with pytest.raises(ProviderError) as refused:
        client.result(job_id, outputs[0] if outputs else 0)
    assert refused.value.status_code == 404
    assert "expired" in refused.value.message, refused.value.message
    assert not (home / "results" / job_id).exists()


def test_results_are_listed_then_removed_at_storage_expiry(tmp_path: Path) -> None:
    home = tmp_path / "home"
    owner = Account.create()
    # Kept for an hour first: what a finished job lists, with no race against its expiry.
    server = start_provider(home, storageExpiry=3600)
    try:
        with C2DClient(server.url, owner) as client:
            client.login()
            kept = _run(client)
            assert kept["status"] == JobStatus.FINISHED, kept
            assert {r["type"] for r in kept["results"]} >= {"output", "algorithmLog"}, kept
            assert int(kept["expireTimestamp"]) == int(kept["dateFinished"]) + 3600
    finally:
        server.stop()
    server = start_provider(home, storageExpiry=EXPIRY)
    try:
        with C2DClient(server.url, owner) as client:
            client.login()
            ended = _run(client)
            assert ended["status"] == JobStatus.FINISHED, ended
            assert int(ended["expireTimestamp"]) == int(ended["dateFinished"]) + EXPIRY
            _assert_expired(client, home, ended)
            # The timer removed them while the provider ran: it logs the removal only of a
            # folder it found, so they were stored (whether or not a poll saw them listed).
            assert _removal_logged(server, ended["jobId"])
            # The provider goes on: a new job runs.
            assert _run(client)["status"] == JobStatus.FINISHED
    finally:
        server.stop()


def test_results_that_expire_while_the_provider_is_down_are_removed_at_restart(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    owner = Account.create()
    server = start_provider(home, storageExpiry=EXPIRY)
    try:
        with C2DClient(server.url, owner) as client:
            client.login()
            ended = _run(client)
    finally:
        server.kill()
    # Down until the expiry has passed, whatever happened before the kill.
    while time.time() < int(ended["expireTimestamp"]) + 1:
        time.sleep(0.1)
    restarted = start_provider(home, storageExpiry=EXPIRY)
    try:
        with C2DClient(restarted.url, owner) as client:
            client.login()
            _assert_expired(client, home, ended)
    finally:
        restarted.stop()
