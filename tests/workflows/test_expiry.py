"""ResultExpiry on its own: removal at the deadline, the expired message, the rescan at start."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.steps.conftest import make_spec
from workflows.engines.base import JobState, ResultsExpired
from workflows.engines.local.expiry import ResultExpiry
from workflows.engines.local.store import JobRecord, JobStore
from workflows.status import JobStatus

NOW = 1_700_000_100.0


def _state(finished: int | None) -> JobState:
    return JobState(spec=make_spec(), status=JobStatus.FINISHED, date_finished=finished)


def _stored(tmp_path: Path) -> Path:
    folder = tmp_path / "results" / make_spec().job_id
    folder.mkdir(parents=True)
    (folder / "outputs.tar").write_bytes(b"x")
    return folder


def _expiry(tmp_path: Path, lifetime: int | None, removed: threading.Event) -> ResultExpiry:
    return ResultExpiry(
        tmp_path / "results",
        None if lifetime is None else (lambda env: lifetime),
        removed=lambda job_id: removed.set(),
        clock=lambda: NOW,
    )


def test_a_finished_job_past_its_expiry_loses_its_results(tmp_path: Path) -> None:
    folder = _stored(tmp_path)
    removed = threading.Event()
    expiry = _expiry(tmp_path, 60, removed)
    expiry.start(JobStore(tmp_path / "jobs.sqlite"))
    try:
        expiry.finished(_state(int(NOW) - 30))  # due in 30 s of the fake clock: kept
        expiry.check(_state(int(NOW) - 30))
        assert folder.exists()
        expiry.finished(_state(int(NOW) - 60))  # due now: the timer wakes and removes
        assert removed.wait(10)
        assert not folder.exists()
        with pytest.raises(ResultsExpired, match="expired at 1700000100"):
            expiry.check(_state(int(NOW) - 60))
    finally:
        expiry.close()


def test_at_start_the_stored_results_of_finished_jobs_are_scheduled(tmp_path: Path) -> None:
    folder = _stored(tmp_path)
    store = JobStore(tmp_path / "jobs.sqlite")
    record = JobRecord(spec=make_spec(), status=JobStatus.STARTED)
    store.insert(record)
    store.update(record, status=JobStatus.FINISHED, date_finished=int(NOW) - 100)
    removed = threading.Event()
    expiry = _expiry(tmp_path, 60, removed)
    expiry.start(store)
    try:
        assert removed.wait(10)
        assert not folder.exists()
    finally:
        expiry.close()
        store.close()


def test_without_a_lifetime_results_are_kept(tmp_path: Path) -> None:
    folder = _stored(tmp_path)
    expiry = _expiry(tmp_path, None, threading.Event())
    expiry.start(JobStore(tmp_path / "jobs.sqlite"))
    expiry.finished(_state(0))
    expiry.check(_state(0))
    expiry.close()
    assert folder.exists()
