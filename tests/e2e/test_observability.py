"""What an operator sees: /metrics after a job, JSON log lines, and the c2d jobs/logs/results
commands on the provider's own C2D_HOME."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account

from devkit.client import C2DClient
from devkit.launch import ServerProcess
from tests.e2e.conftest import raw_algorithm, wait_for
from workflows.status import JobStatus

pytestmark = pytest.mark.e2e
BAD_SIGNATURE = "0x" + "0b" * 65


@pytest.fixture(scope="module")
def finished_job(server: ServerProcess) -> dict[str, Any]:
    with C2DClient(server.url, Account.create()) as client:
        job = client.free_compute(
            {"environment": "free", "algorithm": raw_algorithm("print('observed', 6 * 7)")}
        )
        # A stop with a bad signature: refused, and counted as an auth failure.
        refused = httpx.put(
            server.url + "/api/services/compute",
            params={
                "consumerAddress": client.account.address,
                "jobId": job["jobId"],
                "nonce": "99",
                "signature": BAD_SIGNATURE,
            },
            timeout=10,
        )
        assert refused.status_code == 401
        return wait_for(client, job["jobId"])


def _c2d(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "provider.cli", *args],
        env={**os.environ, "C2D_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_metrics_count_the_job_its_steps_and_requests(
    server: ServerProcess, finished_job: dict[str, Any]
) -> None:
    assert finished_job["status"] == JobStatus.FINISHED
    text = httpx.get(server.url + "/metrics", timeout=10).text
    assert 'c2d_jobs{code="70",environment="free",status="finished"}' in text
    assert 'c2d_jobs_finished_total{environment="free",status="finished"}' in text
    for step in ("configure", "algorithm", "publish"):
        assert (
            f'c2d_step_duration_seconds_count{{environment="free",outcome="succeeded",step="{step}"}}'
            in text
        )
    assert 'c2d_queue_depth{environment="free"} 0.0' in text
    assert 'c2d_sandbox_kills_total{environment="free",reason="oom"}' in text
    assert 'route="/api/services/freeCompute"' in text
    assert 'c2d_auth_failures_total{route="/api/services/compute"}' in text


def test_json_log_lines_parse_and_carry_the_job(
    server: ServerProcess, finished_job: dict[str, Any]
) -> None:
    lines = [line for line in server.log_path.read_text().splitlines() if line.strip()]
    events = [json.loads(line) for line in lines]
    mine = [e for e in events if e.get("job_id") == finished_job["jobId"]]
    assert "job submitted" in [e["event"] for e in mine]
    assert any(e["event"].startswith("step ended: succeeded") for e in mine)
    assert any(e.get("step") == "algorithm" for e in mine)
    assert all(e["owner"] == finished_job["owner"] and e["environment"] == "free" for e in mine)
    assert BAD_SIGNATURE not in server.log_path.read_text()


def test_operator_commands_show_the_job(
    home: Path, finished_job: dict[str, Any], tmp_path: Path
) -> None:
    job_id = str(finished_job["jobId"])
    listing = _c2d(home, "jobs", "--limit", "50")
    assert listing.returncode == 0, listing.stderr
    assert job_id in listing.stdout and "70 finished" in listing.stdout
    logs = _c2d(home, "logs", job_id[:12])
    assert logs.returncode == 0, logs.stderr
    assert "observed 42" in logs.stdout
    results = _c2d(home, "results", job_id, "--output", str(tmp_path / "out"))
    assert results.returncode == 0, results.stderr
    assert "70 Job finished" in results.stdout and "outputs.tar" in results.stdout
    assert (tmp_path / "out" / "algorithm.log").read_text().strip() == "observed 42"
    missing = _c2d(home, "logs", "f" * 32)
    assert missing.returncode == 2 and "not found" in missing.stderr
