"""kill -9 of the provider with one job in each phase (queued, configuring, algorithm running,
publishing), then a restart: every job resumes or ends with a reason, none is lost, no algorithm
runs twice, results and logs are retrievable."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

from eth_account import Account

from devkit.client import C2DClient
from steps._files import temp_name
from tests.e2e.conftest import raw_algorithm, raw_dataset, result_of_type, wait_for, wait_for_status
from tests.faults.conftest import (
    HELD_ALGORITHM,
    READY,
    fifo,
    held_source,
    release_algorithm,
    start_provider,
    wait_algorithm_ready,
)
from workflows.status import JobStatus


def _start(client: C2DClient, **body: Any) -> str:
    job = client.free_compute(
        {"environment": "free", "algorithm": raw_algorithm(HELD_ALGORITHM), **body}
    )
    return str(job["jobId"])


def _outputs(client: C2DClient, job: dict[str, Any]) -> dict[str, bytes]:
    archive = client.result(job["jobId"], result_of_type(job, "output")["index"])
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        return {
            m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile()
        }


def _log(client: C2DClient, job: dict[str, Any]) -> bytes:
    return client.result(job["jobId"], result_of_type(job, "algorithmLog")["index"])


def test_a_crash_in_every_phase_loses_nothing_and_runs_nothing_twice(tmp_path: Path) -> None:
    home = tmp_path / "home"
    owner = Account.create()
    # Three slots: one job configuring, one running its algorithm, one publishing; a fourth
    # waits in the queue.
    overrides = {"maxJobs": 3}
    with held_source() as source:
        server = start_provider(home, **overrides)
        try:
            with C2DClient(server.url, owner) as client:
                client.login()
                running = _start(client)
                wait_algorithm_ready(client, running)

                publishing = _start(client)
                # publish's first write into result storage blocks on this fifo until the crash.
                held = temp_name(home.resolve() / "results" / publishing / "configuration.log")
                fifo(held)
                wait_algorithm_ready(client, publishing)
                release_algorithm(home, publishing)
                wait_for_status(client, publishing, JobStatus.PUBLISHING_RESULTS)

                configuring = _start(client, datasets=[raw_dataset(source.url("held/data"))])
                source.wait_for_hits("held/data", 1)
                assert client.status(configuring)["status"] == JobStatus.CONFIGURING_VOLUMES

                queued = _start(client, queueMaxWaitTime=600)
                assert client.status(queued)["status"] == JobStatus.QUEUED
        finally:
            server.kill()
        held.unlink()

        restarted = start_provider(home, **overrides)
        try:
            with C2DClient(restarted.url, owner) as client:
                client.login()
                ids = {job["jobId"] for job in client.status_list()}
                assert {running, publishing, configuring, queued} <= ids

                # configure runs again (idempotent): the source sees a second request.
                source.wait_for_hits("held/data", 2)
                source.release("data")
                wait_algorithm_ready(client, configuring)
                release_algorithm(home, configuring)
                wait_algorithm_ready(client, queued)
                release_algorithm(home, queued)

                jobs = {job_id: wait_for(client, job_id) for job_id in ids}

                crashed = jobs[running]
                assert crashed["status"] == JobStatus.ALGORITHM_FAILED, crashed
                assert "restart" in crashed["statusReason"], crashed
                assert READY.encode() in _log(client, crashed)
                for job_id in (publishing, configuring, queued):
                    assert jobs[job_id]["status"] == JobStatus.FINISHED, jobs[job_id]
                    assert b"algorithm done" in _log(client, jobs[job_id])
                # Every algorithm started once: one line in its marker, whatever the restart.
                for job_id in (running, publishing, configuring, queued):
                    assert _outputs(client, jobs[job_id]).get("runs") == b"ran\n", job_id
                assert source.hits["held/data"] == 2
        finally:
            restarted.stop()
