"""computeEnvironments' job counts and the result file response (Range over large chunks)."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from provider.api.routes.environments import render_environment
from provider.api.routes.results import ResultFileResponse
from provider.environments import default_config
from workflows.jobfiles import JobFilePath


def test_queued_jobs_are_counted_apart_from_running_ones(tmp_path: Path) -> None:
    config = default_config(tmp_path)
    free = next(env for env in config.environments if env.free is not None)
    body = render_environment(free, "0x" + "ab" * 20, active=5, queued=3)
    assert body["runningJobs"] == 2 and body["runningfreeJobs"] == 2
    assert body["queuedJobs"] == 3 and body["queuedFreeJobs"] == 3
    idle = render_environment(free, "0x" + "ab" * 20, active=0)
    assert idle["queuedJobs"] == 0 and idle["runningJobs"] == 0


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
