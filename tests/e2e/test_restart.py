"""kill -9 of the provider while a job runs: after a restart the job has ended with a reason and
its logs are still retrievable."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from devkit.client import C2DClient
from devkit.launch import start_server
from tests.e2e.conftest import (
    processes_with_home,
    raw_algorithm,
    result_of_type,
    wait_for,
    wait_for_status,
)
from workflows.engines.local.quota import mounts_under
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

    with _restarted(home, owner, job["jobId"]) as (client, final):
        log = client.result(final["jobId"], result_of_type(final, "algorithmLog")["index"])
        assert b"before the crash" in log


def test_a_stop_signal_lets_the_helper_set_running_jobs_aside(tmp_path: Path) -> None:
    """SIGTERM to ``c2d serve`` (systemd's stop, ``docker stop``) while a job runs: the sandbox
    helper shuts its engine down in order before the process ends. uvicorn raised the signal
    again as soon as the HTTP side had stopped, and SIGTERM's default action ended the process
    there: the helper died with it (its parent-death signal), the running job's disk stayed
    mounted under the home, and nothing said the job was left for the next start."""
    home = tmp_path / "home"
    jobs = home / "jobs"
    owner = Account.create()
    server = start_server(home)
    try:
        with C2DClient(server.url, owner) as client:
            algorithm = raw_algorithm("import time\nprint('running', flush=True)\ntime.sleep(300)")
            job = client.free_compute({"environment": "free", "algorithm": algorithm})
            wait_for_status(client, job["jobId"], JobStatus.RUNNING_ALGORITHM)
            assert b"running" in next(client.logs(job["jobId"]))
        assert mounts_under(jobs)  # the job's disk
        server.process.send_signal(signal.SIGTERM)
        # Ended by the signal (a service manager counts that as a clean stop), and only after
        # its helper: the helper's last line comes before the API's note that it has stopped.
        assert server.process.wait(timeout=60) == -signal.SIGTERM
    finally:
        server.kill()
    log = server.log_path.read_text()
    assert "job left for the next start to resume" in log, log[-3000:]
    assert "the sandbox helper has stopped" in log, log[-3000:]
    assert mounts_under(jobs) == []
    assert not processes_with_home(home)

    with _restarted(home, owner, job["jobId"]):
        pass


@contextlib.contextmanager
def _restarted(
    home: Path, owner: LocalAccount, job_id: str
) -> Iterator[tuple[C2DClient, dict[str, Any]]]:
    """A provider started again on ``home``: the interrupted job has ended with a reason."""
    restarted = start_server(home)
    try:
        with C2DClient(restarted.url, owner) as client:
            client.login()
            final = wait_for(client, job_id, timeout=60)
            assert final["status"] in FAILED_STATUSES
            assert "restart" in final["statusReason"]
            yield client, final
    finally:
        restarted.stop()
