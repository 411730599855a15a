"""One job-state type: the local store and the Argo mapping both hold a JobState."""

from __future__ import annotations

import sqlite3
from dataclasses import fields
from pathlib import Path

from tests.workflows.support import make_spec
from workflows.engines.base import JobState, ResultFile
from workflows.engines.local.store import JobRecord, JobStore
from workflows.status import JobStatus


def _every_field_set() -> JobRecord:
    return JobRecord(
        spec=make_spec(),
        status=JobStatus.PUBLISHING_RESULTS,
        date_finished=1_700_000_100,
        exit_code=137,
        oom_killed=True,
        reason="killed for memory",
        algorithm_started_at=1_700_000_010,
        algorithm_finished_at=1_700_000_090,
        outcomes={"configure": "Succeeded", "algorithm": "Failed"},
        stop_requested=True,
        failure=JobStatus.ALGORITHM_FAILED,
    )


def test_every_field_survives_the_store(tmp_path: Path) -> None:
    record = _every_field_set()
    defaults = JobRecord(spec=record.spec, status=JobStatus.STARTED)
    stored = {f.name for f in fields(JobRecord)} - {"spec", "results"}
    # A field left at its default here would not prove it is stored.
    assert {name for name in stored if getattr(record, name) == getattr(defaults, name)} == set()
    store = JobStore(tmp_path / "jobs.sqlite")
    store.insert(defaults)
    store.save(record)
    store.close()
    reopened = JobStore(tmp_path / "jobs.sqlite", read_only=True)
    assert reopened.get(record.spec.job_id) == record
    assert reopened.get(record.spec.job_id) != defaults


def test_every_field_of_a_record_has_its_column(tmp_path: Path) -> None:
    JobStore(tmp_path / "jobs.sqlite").close()
    db = sqlite3.connect(tmp_path / "jobs.sqlite")
    columns = {row[1] for row in db.execute("PRAGMA table_info(jobs)")}
    db.close()
    assert {f.name for f in fields(JobRecord)} - {"results"} <= columns


def test_a_record_is_a_job_state_and_shows_as_one() -> None:
    record = _every_field_set()
    result = ResultFile(filename="outputs.tar", filesize=10, type="output", index=0)
    state = record.as_state((result,))
    assert type(state) is JobState
    assert state.results == (result,)
    shared = [f.name for f in fields(JobState) if f.name != "results"]
    assert all(getattr(state, name) == getattr(record, name) for name in shared)
