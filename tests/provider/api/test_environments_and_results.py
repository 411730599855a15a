"""computeEnvironments: its fields and load figures; the result file response (Range)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from provider.api.routes.environments import render_environment
from provider.api.routes.results import ResultFileResponse
from provider.environments import EnvironmentConfig, default_config
from provider.jobs.occupancy import occupancy
from tests.workflows.support import make_spec
from workflows.engines.base import JobState
from workflows.jobfiles import JobFilePath
from workflows.status import JobStatus


def _job(status: JobStatus, *, started: int | None = None, **limits: Any) -> JobState:
    return JobState(spec=make_spec(**limits), status=status, algorithm_started_at=started)


def test_queued_jobs_are_counted_apart_from_running_ones(tmp_path: Path) -> None:
    config = default_config(tmp_path)
    free = next(env for env in config.environments if env.free is not None)
    now = 1_800_000_000
    jobs = [
        # Running for 20 s of its 60: 40 s left; the other not started yet: all 100 s left.
        _job(JobStatus.RUNNING_ALGORITHM, started=now - 20, max_job_duration=60, cpus=2),
        _job(JobStatus.CONFIGURING_VOLUMES, max_job_duration=100, memory_bytes=3 * 2**29),
        _job(JobStatus.QUEUED, max_job_duration=300, cpus=4),
        _job(JobStatus.QUEUED, max_job_duration=30),
    ]
    body = render_environment(free, "0x" + "ab" * 20, occupancy(jobs, now))
    assert body["runningJobs"] == 2 and body["runningfreeJobs"] == 2
    assert body["queuedJobs"] == 2 and body["queuedFreeJobs"] == 2
    assert body["queMaxWaitTime"] == body["queMaxWaitTimeFree"] == 330
    assert body["runMaxWaitTime"] == body["runMaxWaitTimeFree"] == 140
    # Only the running jobs hold resources: 2 + 1 CPUs, 1 + 1.5 GiB of RAM, 1 + 1 GiB of disk.
    in_use = {r["id"]: r["inUse"] for r in body["resources"]}
    assert in_use == {"cpu": 3, "ram": 2.5, "disk": 2}
    assert {r["id"]: r["inUse"] for r in body["free"]["resources"]} == in_use
    idle = render_environment(free, "0x" + "ab" * 20, occupancy([], now))
    assert idle["queuedJobs"] == 0 and idle["runningJobs"] == 0 and idle["runMaxWaitTime"] == 0
    assert {r["inUse"] for r in idle["resources"]} == {0}


def test_an_environment_lists_what_ocean_node_lists(tmp_path: Path) -> None:
    (free,) = default_config(tmp_path).environments
    body = render_environment(free, "0x" + "ab" * 20)
    assert body["access"] == {"addresses": [], "accessLists": None}
    assert body["enableNetwork"] is False
    assert [(r["id"], r["type"]) for r in body["resources"]] == [
        ("cpu", "cpu"),
        ("ram", "ram"),
        ("disk", "disk"),
    ]
    assert body["resources"][0]["description"]  # the CPU's model, as Ocean Node shows it
    assert body["free"]["access"] == body["access"]
    assert body["free"]["storageExpiry"] == free.storage_expiry
    assert body["free"]["minJobDuration"] == free.min_job_duration
    for key in ("queMaxWaitTime", "queMaxWaitTimeFree", "runMaxWaitTime", "runMaxWaitTimeFree"):
        assert body[key] == 0


def test_the_free_block_sets_its_own_access_expiry_and_minimum(tmp_path: Path) -> None:
    (free,) = default_config(tmp_path).environments
    member = "0x" + "12" * 20
    listed = EnvironmentConfig.model_validate(
        {
            **free.model_dump(by_alias=True),
            "free": {
                **free.free.model_dump(by_alias=True),  # type: ignore[union-attr]
                "storageExpiry": 60,
                "minJobDuration": 30,
                "access": {"addresses": [member]},
            },
        }
    )
    body = render_environment(listed, "0x" + "ab" * 20)
    assert body["free"]["storageExpiry"] == 60 and body["storageExpiry"] == free.storage_expiry
    assert body["free"]["minJobDuration"] == 30
    assert body["free"]["access"] == {"addresses": [member], "accessLists": None}
    assert body["access"] == {"addresses": [], "accessLists": None}
    assert listed.job_storage_expiry == 60 and listed.job_min_duration == 30


def test_the_result_response_answers_ranges_across_its_chunks(tmp_path: Path) -> None:
    data = os.urandom(3 * ResultFileResponse.chunk_size + 123)
    path = tmp_path / "outputs.tar"
    path.write_bytes(data)
    app = FastAPI()

    @app.get("/file")
    def file() -> ResultFileResponse:
        job_file = JobFilePath(tmp_path, "outputs.tar").open()
        return ResultFileResponse(job_file, filename="outputs.tar", media_type="application/x-tar")

    client = TestClient(app)
    whole = client.get("/file")
    assert whole.status_code == 200 and whole.content == data
    start = ResultFileResponse.chunk_size - 10
    end = 2 * ResultFileResponse.chunk_size + 10
    part = client.get("/file", headers={"Range": f"bytes={start}-{end}"})
    assert part.status_code == 206
    assert part.content == data[start : end + 1]
    assert part.headers["content-range"] == f"bytes {start}-{end}/{len(data)}"
    tail = client.get("/file", headers={"Range": "bytes=-5"})
    assert tail.status_code == 206 and tail.content == data[-5:]
    beyond = client.get("/file", headers={"Range": f"bytes={len(data) + 1}-"})
    assert beyond.status_code == 416
