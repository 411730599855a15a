"""``c2d jobs`` formatting and the read-only view of a provider's job state."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import pytest

from provider.cli import main
from provider.commands._local import LocalState
from provider.commands.jobs import format_jobs
from provider.settings import Settings
from tests.workflows.support import make_spec
from workflows.engines.local.store import JobRecord, JobStore
from workflows.status import JobStatus, status_text


def test_jobs_table_shows_each_job_with_status_and_reason(tmp_path: Path) -> None:
    spec = make_spec()
    running = JobRecord(spec=spec, status=JobStatus.QUEUED)
    failed = JobRecord(
        spec=make_spec().model_copy(update={"job_id": "cd" * 16}),
        status=JobStatus.ALGORITHM_FAILED,
        date_finished=spec.created_at + 7,
        reason="algorithm exited with code 3",
    )
    text = format_jobs([running, failed], now=spec.created_at + 60)
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["JOB", "STATUS", "ENVIRONMENT"]
    assert spec.job_id in lines[1] and "1 queued" in lines[1] and "60s" in lines[1]
    assert "41 algorithm_failed" in lines[2] and "7s" in lines[2] and "code 3" in lines[2]
    assert format_jobs([], now=time.time()).endswith("(no jobs)")
    long = dataclasses.replace(failed, reason="x" * 80)
    wide = format_jobs([running, long], now=spec.created_at + 60, wide=True)
    assert spec.owner in wide and spec.owner not in text
    assert "x" * 80 in wide and "x" * 80 not in format_jobs([long], now=0)


def test_jobs_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(home=tmp_path)
    store = JobStore(settings.state_dir / "jobs.sqlite")
    spec = make_spec()
    store.insert(JobRecord(spec=spec, status=JobStatus.QUEUED))
    store.close()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("C2D_HOME", str(tmp_path))
        assert main(["jobs", "-o", "json"]) == 0
    (job,) = json.loads(capsys.readouterr().out)
    assert job["jobId"] == spec.job_id and job["status"] == 1 and job["owner"] == spec.owner
    assert job["statusText"] == status_text(JobStatus.QUEUED)  # the REST API's text


def test_local_state_reads_jobs_by_id_or_prefix_without_writing(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    store = JobStore(settings.state_dir / "jobs.sqlite")
    spec = make_spec()
    store.insert(JobRecord(spec=spec, status=JobStatus.STARTED))
    store.close()
    state = LocalState(settings)
    try:
        assert state.job(spec.job_id[:8]).spec.job_id == spec.job_id
        assert state.wal_path.name == "jobs.sqlite-wal"
    finally:
        state.close()
