"""Free jobs end to end over HTTP against a real ``c2d serve``: results, failures, stop, timeout."""

from __future__ import annotations

import io
import json
import tarfile
from typing import Any

import httpx

from devkit.client import C2DClient
from devkit.demo.files import FileServer
from tests.e2e.conftest import (
    raw_algorithm,
    raw_dataset,
    result_of_type,
    wait_for,
    wait_for_status,
)
from workflows.status import JobStatus

COUNT_LINES = """
import os, pathlib
lines = sum(len(p.read_text().splitlines()) for p in pathlib.Path(os.environ["INPUTS"]).rglob("*")
            if p.is_file() and p.name != "algoCustomData.json")
pathlib.Path(os.environ["OUTPUTS"], "count.txt").write_text(str(lines))
print("counted", lines)
"""


def _env(client: C2DClient) -> str:
    return str(client.environments()[0]["id"])


def _tar_member(archive: bytes, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        member = tar.extractfile(name)
        assert member is not None
        return member.read()


def test_raw_job_runs_and_its_output_downloads(client: C2DClient, file_server: FileServer) -> None:
    job = client.free_compute(
        {
            "environment": _env(client),
            "datasets": [raw_dataset(file_server.url("weather.csv"))],
            "algorithm": raw_algorithm(COUNT_LINES),
        }
    )
    assert job["status"] in (JobStatus.STARTED, JobStatus.CONFIGURING_VOLUMES)
    final = wait_for(client, job["jobId"])
    assert final["status"] == JobStatus.FINISHED, final
    output = result_of_type(final, "output")
    archive = client.result(final["jobId"], output["index"])
    assert len(archive) == output["filesize"]
    assert _tar_member(archive, "count.txt") == b"51"
    log = client.result(final["jobId"], result_of_type(final, "algorithmLog")["index"])
    assert b"counted 51" in log


def test_result_download_honours_range(client: C2DClient, file_server: FileServer) -> None:
    job = client.free_compute(
        {"environment": _env(client), "algorithm": raw_algorithm("print('x' * 100)")}
    )
    final = wait_for(client, job["jobId"])
    index = result_of_type(final, "algorithmLog")["index"]
    params = {
        "consumerAddress": client.account.address,
        "jobId": final["jobId"],
        "index": str(index),
        **client.signed("getComputeResult"),
    }
    response = httpx.get(
        client.url("/api/services/computeResult"),
        params=params,
        headers={"Range": "bytes=10-19"},
    )
    assert response.status_code == 206
    assert response.content == b"x" * 10


def test_published_algorithm_on_trusting_dataset(
    client: C2DClient, registry: dict[str, Any]
) -> None:
    job = client.free_compute(
        {
            "environment": _env(client),
            "datasets": [{"documentId": registry["trusting"]["id"], "serviceId": "compute"}],
            "algorithm": {"documentId": registry["algorithm"]["id"], "serviceId": "compute"},
        }
    )
    final = wait_for(client, job["jobId"])
    assert final["status"] == JobStatus.FINISHED, final
    archive = client.result(final["jobId"], result_of_type(final, "output")["index"])
    report = json.loads(_tar_member(archive, "stats.json"))
    (columns,) = report.values()
    assert columns["temperature"]["count"] == 50


def test_failing_algorithm_is_41_and_its_logs_come_out(client: C2DClient) -> None:
    client.login()
    job = client.free_compute(
        {
            "environment": _env(client),
            "algorithm": raw_algorithm(
                "import sys\nprint('about to fail', file=sys.stderr)\nsys.exit(3)"
            ),
        }
    )
    final = wait_for(client, job["jobId"])
    assert final["status"] == JobStatus.ALGORITHM_FAILED
    assert final["terminationDetails"]["exitCode"] == 3
    log = client.result(final["jobId"], result_of_type(final, "algorithmLog")["index"])
    assert b"about to fail" in log


def test_job_past_max_duration_is_stopped(client: C2DClient) -> None:
    client.login()
    job = client.free_compute(
        {
            "environment": _env(client),
            "algorithm": raw_algorithm(
                "import time\nprint('sleeping', flush=True)\ntime.sleep(120)"
            ),
            "maxJobDuration": 2,
        }
    )
    final = wait_for(client, job["jobId"], timeout=30)
    assert final["status"] == JobStatus.ALGORITHM_FAILED
    assert "duration" in final["statusReason"]
    log = client.result(final["jobId"], result_of_type(final, "algorithmLog")["index"])
    assert b"sleeping" in log


def test_stop_kills_a_running_job(client: C2DClient) -> None:
    client.login()  # the owner's full view: statusReason and terminationDetails
    job = client.free_compute(
        {
            "environment": _env(client),
            "algorithm": raw_algorithm(
                "import os, time\nif os.fork() == 0:\n    time.sleep(300)\n"
                "print('working', flush=True)\ntime.sleep(300)"
            ),
        }
    )
    wait_for_status(client, job["jobId"], JobStatus.RUNNING_ALGORITHM)
    # Stopped only once the algorithm is seen working (its live log), so the stop hits it.
    streamed = b""
    for chunk in client.logs(job["jobId"]):
        streamed += chunk
        if b"working" in streamed:
            break
    assert b"working" in streamed
    client.stop(job["jobId"])
    # Both processes sleep 300 s: ending within the wait means the stop killed them.
    final = wait_for(client, job["jobId"], timeout=60)
    assert final["status"] == JobStatus.FINISHED, final
    assert final["statusReason"] == "stopped on request", final
    assert final["terminationDetails"]["exitCode"] == 137, final  # 128 + SIGKILL
    log = client.result(final["jobId"], result_of_type(final, "algorithmLog")["index"])
    assert b"working" in log


def test_streamable_logs_show_output_while_running(client: C2DClient) -> None:
    job = client.free_compute(
        {
            "environment": _env(client),
            "algorithm": raw_algorithm(
                "import time\n"
                "for i in range(3):\n    print('tick', i, flush=True)\n    time.sleep(0.3)"
            ),
        }
    )
    wait_for_status(client, job["jobId"], JobStatus.RUNNING_ALGORITHM)
    streamed = b"".join(client.logs(job["jobId"]))
    assert b"tick 0" in streamed and b"tick 2" in streamed
    assert wait_for(client, job["jobId"])["status"] == JobStatus.FINISHED
