"""The job store's schema version: a file from before versioning is migrated in place and keeps
its jobs; a file written by a newer c2d is refused with a message, by the engine and by the
operator's ``c2d jobs``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.sqlite_files import old_file, set_version, version
from tests.workflows.support import make_spec
from workflows.engines.local.store import JobStore
from workflows.sqlite_schema import SchemaVersionError
from workflows.status import JobStatus

# jobs.sqlite as c2d 0.1.0 created it, before it carried a schema version: a frozen copy on
# purpose, since the code's migration 1 may not be edited and later ones change the tables.
_UNVERSIONED = """
CREATE TABLE jobs (
    job_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    environment TEXT NOT NULL,
    spec TEXT NOT NULL,
    status INTEGER NOT NULL,
    outcomes TEXT NOT NULL DEFAULT '{}',
    date_finished INTEGER,
    exit_code INTEGER,
    oom_killed INTEGER NOT NULL DEFAULT 0,
    reason TEXT NOT NULL DEFAULT '',
    algorithm_started_at INTEGER,
    algorithm_finished_at INTEGER,
    stop_requested INTEGER NOT NULL DEFAULT 0,
    failure INTEGER
);
CREATE INDEX jobs_owner ON jobs (owner);
"""


def test_an_unversioned_job_store_is_migrated_and_keeps_its_jobs(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite"
    spec = make_spec()
    old_file(
        path,
        _UNVERSIONED,
        (
            "INSERT INTO jobs (job_id, owner, environment, spec, status, outcomes, date_finished,"
            " exit_code, reason) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                spec.job_id,
                spec.owner.lower(),
                spec.environment,
                spec.model_dump_json(),
                int(JobStatus.FINISHED),
                '{"configure": "Succeeded"}',
                1_700_000_000,
                0,
                "done",
            ),
        ),
    )
    assert version(path) == 0

    store = JobStore(path)
    record = store.get(spec.job_id)
    assert record is not None
    assert record.spec == spec
    assert record.status == JobStatus.FINISHED
    assert record.outcomes == {"configure": "Succeeded"}
    assert (record.date_finished, record.exit_code, record.reason) == (1_700_000_000, 0, "done")
    store.close()
    assert version(path) == 1
    # Opening it again changes nothing.
    reopened = JobStore(path)
    assert [r.spec.job_id for r in reopened.for_owner(spec.owner)] == [spec.job_id]
    reopened.close()
    assert version(path) == 1


def test_a_new_job_store_starts_at_the_latest_version(tmp_path: Path) -> None:
    JobStore(tmp_path / "jobs.sqlite").close()
    assert version(tmp_path / "jobs.sqlite") == 1


def test_a_job_store_from_a_newer_c2d_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite"
    JobStore(path).close()
    set_version(path, 7)
    for read_only in (False, True):
        with pytest.raises(SchemaVersionError) as refused:
            JobStore(path, read_only=read_only)
        assert str(refused.value) == (
            f"{path} has schema version 7, but this c2d knows versions up to 1: it was written"
            " by a newer c2d; run that version, or move the file away"
        )
    assert version(path) == 7


def test_c2d_jobs_refuses_a_newer_job_store_with_a_message(tmp_path: Path) -> None:
    state = tmp_path / "home" / "state"
    JobStore(state / "jobs.sqlite").close()
    set_version(state / "jobs.sqlite", 2)
    done = subprocess.run(
        [sys.executable, "-m", "provider.cli", "jobs"],
        env={**os.environ, "C2D_HOME": str(tmp_path / "home")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "has schema version 2, but this c2d knows versions up to 1" in done.stderr
    assert "Traceback" not in done.stderr
