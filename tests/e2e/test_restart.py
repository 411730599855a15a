"""kill -9 of the provider while a job runs: after a restart the job has ended with a reason and
its logs are still retrievable."""

from __future__ import annotations

from pathlib import Path

from eth_account import Account

from devkit.client import C2DClient
from devkit.launch import start_server
from tests.e2e.conftest import raw_algorithm, result_of_type, wait_for, wait_for_status
from workflows.status import FAILED_STATUSES, JobStatus


def test_job_interrupted_by_a_crash_ends_with_a_reason_and_keeps_its_logs(tmp_path: Path) -> None:
    home = tmp_path / "home"
    owner = Account.create()
    server = start_server(home)
    try:
        with C2DClient(server.url, owner) as client:
            job = client.free_compute(
                {
                    "environment": "free",
                    "algorithm": raw_algorithm(
                        "import time\nprint('before the crash', flush=True)\ntime.sleep(300)"
                    ),
                }
            )
            wait_for_status(client, job["jobId"], JobStatus.RUNNING_ALGORITHM)
            # The live log shows the line as soon as it is written: crash only after that.
            assert b"before the crash" in next(client.logs(job["jobId"]))
    finally:
        server.kill()

    restarted = start_server(home)
    try:
        with C2DClient(restarted.url, owner) as client:
            client.login()
            final = wait_for(client, job["jobId"], timeout=60)
            assert final["status"] in FAILED_STATUSES
            assert "restart" in final["statusReason"]
            log = client.result(final["jobId"], result_of_type(final, "algorithmLog")["index"])
            assert b"before the crash" in log
    finally:
        restarted.stop()
