"""A sandbox that cannot start (bwrap refuses before the algorithm runs) is a job failure whose
statusReason says why, not "exit code 1" with an empty log."""

from __future__ import annotations

import tempfile
from pathlib import Path

from eth_account import Account

from devkit.client import C2DClient
from tests.e2e.conftest import raw_algorithm, wait_for
from tests.faults.conftest import start_provider
from workflows.status import JobStatus


def test_a_bind_gone_after_start_fails_the_job_with_bwraps_reason(tmp_path: Path) -> None:
    # Where the sandbox's user may look (pytest's tmp_path is closed to others).
    extra = Path(tempfile.mkdtemp(prefix="c2d-extra-runtime-"))
    extra.chmod(0o755)
    runtime = {
        "images": ["python:3.11"],
        "binds": ["/usr", str(extra)],
        "commands": {"python": "/usr/bin/python3"},
    }
    server = start_provider(tmp_path / "home", runtimes=[runtime])
    try:
        # Checked at start; gone since (an operator's clean-up, an unmounted disk).
        extra.rmdir()
        with C2DClient(server.url, Account.create()) as client:
            client.login()
            job_id = client.free_compute(
                {"environment": "free", "algorithm": raw_algorithm("print('never runs')")}
            )["jobId"]
            job = wait_for(client, job_id)
    finally:
        server.stop()
    assert job["status"] == JobStatus.ALGORITHM_FAILED, job
    assert job["statusReason"] == (
        f"the sandbox did not start: bwrap: Can't find source path {extra}:"
        " No such file or directory"
    ), job
