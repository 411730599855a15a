"""The job board's listing for the operator's page: every unfinished job and the latest ones,
newest first, read from SQLite (a restart's fresh board lists the same)."""

from __future__ import annotations

from pathlib import Path

from tests.workflows.support import make_spec
from workflows.engines.local.board import JobBoard
from workflows.engines.local.store import JobRecord, JobStore
from workflows.status import JobStatus


def _record(number: int) -> JobRecord:
    spec = make_spec().model_copy(
        update={"job_id": f"{number:032x}", "created_at": 1_700_000_000 + number}
    )
    return JobRecord(spec=spec, status=JobStatus.RUNNING_ALGORITHM)


def test_recent_lists_the_unfinished_and_the_latest_newest_first(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.sqlite")
    board = JobBoard(store, tmp_path / "results")
    records = [_record(number) for number in range(1, 6)]
    for record in records:
        board.add(record)
    # Job 1 (the oldest) still runs; 2 to 5 have ended.
    for record in records[1:]:
        board.save(record, status=JobStatus.FINISHED, date_finished=record.spec.created_at + 9)
    listed = board.recent(2)
    assert [int(state.spec.job_id, 16) for state in listed] == [5, 4, 1]
    assert [state.status for state in listed] == [70, 70, 40]
    store.close()
    reopened = JobStore(tmp_path / "jobs.sqlite")
    try:
        fresh = JobBoard(reopened, tmp_path / "results")
        for record in reopened.unfinished():
            fresh.add(record, stored=True)
        assert [int(s.spec.job_id, 16) for s in fresh.recent(2)] == [5, 4, 1]
    finally:
        reopened.close()
