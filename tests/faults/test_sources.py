"""Slow and hanging sources through the REST API: the environment's downloadTimeout ends the job
with 31 (data) or 32 (algorithm) and a reason naming the timeout, not the URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eth_account import Account

from devkit.client import C2DClient
from tests.e2e.conftest import raw_dataset, wait_for
from tests.faults.conftest import held_source, start_provider
from workflows.status import JobStatus


def test_a_silent_source_ends_the_job_at_the_download_timeout(tmp_path: Path) -> None:
    with held_source() as source:
        server = start_provider(tmp_path / "home", downloadTimeout=1)
        try:
            with C2DClient(server.url, Account.create()) as client:
                client.login()
                container = {"entrypoint": "python $ALGO", "image": "python", "tag": "3.11"}
                starts: dict[str, dict[str, Any]] = {
                    "hang": {"datasets": [raw_dataset(source.url("hang"))]},
                    "stall": {"datasets": [raw_dataset(source.url("stall"))]},
                    "algorithm": {
                        "algorithm": {
                            "meta": {"url": source.url("hang/algo"), "container": container}
                        }
                    },
                }
                ids = {
                    name: client.free_compute(
                        {
                            "environment": "free",
                            "algorithm": {"meta": {"rawcode": "print(1)", "container": container}},
                            **body,
                        }
                    )["jobId"]
                    for name, body in starts.items()
                }
                jobs = {name: wait_for(client, job_id) for name, job_id in ids.items()}
        finally:
            server.stop()
    assert jobs["hang"]["status"] == JobStatus.DATA_PROVISIONING_FAILED, jobs["hang"]
    assert jobs["stall"]["status"] == JobStatus.DATA_PROVISIONING_FAILED, jobs["stall"]
    assert jobs["algorithm"]["status"] == JobStatus.ALGORITHM_PROVISIONING_FAILED, jobs
    for job in jobs.values():
        # The configured 1 s, not the default 60 s, and never the URL.
        assert "timeout after 1 s" in job["statusReason"], job
        assert "127.0.0.1" not in job["statusReason"], job
    assert source.hits["hang"] == 1 and source.hits["stall"] == 1
