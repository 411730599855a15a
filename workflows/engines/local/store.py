"""SQLite (WAL) record of every local job: its spec, where it is in the DAG, and how it ended."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, get_type_hints

from workflows.engines.base import JobState
from workflows.spec import JobSpec
from workflows.sqlite_schema import SchemaVersionError, check_version, migrate
from workflows.status import JobStatus

__all__ = ["JobRecord", "JobStore"]

# Migration n brings the file from schema version n-1 to n (workflows/sqlite_schema.py); append
# new ones, never edit a released one.
_MIGRATIONS = (
    """
CREATE TABLE IF NOT EXISTS jobs (
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
CREATE INDEX IF NOT EXISTS jobs_owner ON jobs (owner);
""",
)


@dataclass(frozen=True)
class JobRecord(JobState):
    """A job's state and the local engine's bookkeeping; ``results`` stay empty (the board reads
    them from results.json)."""

    # Outcome of every DAG task that has ended, e.g. {"configure": "Succeeded"}.
    outcomes: dict[str, str] = field(default_factory=dict)
    stop_requested: bool = False
    # The failure status the job will end with, once publish has run.
    failure: JobStatus | None = None


class JobStore:
    """Thread-safe; every write is committed before the call returns (nothing lost on a crash)."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self._lock = threading.Lock()
        if read_only:
            # Operators' commands read a running provider's state without taking any lock on it.
            uri = f"file:{path.resolve()}?mode=ro"
            self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
            try:
                check_version(self._db, path, len(_MIGRATIONS))
            except SchemaVersionError:
                self._db.close()
                raise
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        migrate(self._db, path, _MIGRATIONS)
        path.chmod(0o600)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _cursor(self) -> Iterator[sqlite3.Cursor]:
        with self._lock:
            cursor = self._db.cursor()
            try:
                yield cursor
            finally:
                cursor.close()

    def insert(self, record: JobRecord) -> None:
        spec = record.spec
        with self._cursor() as cursor:
            cursor.execute(
                "INSERT INTO jobs (job_id, owner, environment, spec, status) VALUES (?,?,?,?,?)",
                (
                    spec.job_id,
                    spec.owner.lower(),
                    spec.environment,
                    spec.model_dump_json(),
                    int(record.status),
                ),
            )

    def save(self, record: JobRecord) -> None:
        values = [_encode(getattr(record, column)) for column in _COLUMNS]
        with self._cursor() as cursor:
            cursor.execute(_UPDATE, (*values, record.spec.job_id))

    def update(self, record: JobRecord, **changes: Any) -> JobRecord:
        updated = replace(record, **changes)
        self.save(updated)
        return updated

    def get(self, job_id: str) -> JobRecord | None:
        with self._cursor() as cursor:
            row = cursor.execute(f"{_SELECT} WHERE job_id=?", (job_id,)).fetchone()
        return _record(row) if row else None

    def for_owner(self, owner: str) -> list[JobRecord]:
        with self._cursor() as cursor:
            rows = cursor.execute(f"{_SELECT} WHERE owner=? ORDER BY rowid", (owner.lower(),))
            return [_record(row) for row in rows.fetchall()]

    def ids_for_owner(self, owner: str) -> list[str]:
        with self._cursor() as cursor:
            rows = cursor.execute(
                "SELECT job_id FROM jobs WHERE owner=? ORDER BY rowid", (owner.lower(),)
            )
            return [str(row[0]) for row in rows.fetchall()]

    def finished_counts(self) -> dict[tuple[str, int], int]:
        """How many finished jobs ended in each (environment, status)."""
        with self._cursor() as cursor:
            rows = cursor.execute(
                "SELECT environment, status, count(*) FROM jobs"
                " WHERE date_finished IS NOT NULL GROUP BY environment, status"
            )
            return {(str(env), int(status)): int(n) for env, status, n in rows.fetchall()}

    def recent(self, limit: int) -> list[JobRecord]:
        """The last ``limit`` jobs, oldest first."""
        with self._cursor() as cursor:
            rows = cursor.execute(f"{_SELECT} ORDER BY rowid DESC LIMIT ?", (limit,))
            return [_record(row) for row in reversed(rows.fetchall())]

    def unfinished(self) -> list[JobRecord]:
        with self._cursor() as cursor:
            rows = cursor.execute(f"{_SELECT} WHERE date_finished IS NULL ORDER BY rowid")
            return [_record(row) for row in rows.fetchall()]


# Every field of JobRecord is a column of the same name, but the spec (its own JSON column, with
# the owner and environment beside it for lookups) and the results (results.json, not SQLite).
# The statements are built once from these field names (code, not input): no injection.
_COLUMNS = tuple(item.name for item in fields(JobRecord) if item.name not in ("spec", "results"))
_UPDATE = f"UPDATE jobs SET {', '.join(f'{c}=?' for c in _COLUMNS)} WHERE job_id=?"  # noqa: S608
_SELECT = f"SELECT spec, {', '.join(_COLUMNS)} FROM jobs"  # noqa: S608
_TYPES = get_type_hints(JobRecord)


def _encode(value: Any) -> Any:
    if isinstance(value, bool | int):  # JobStatus too
        return int(value)
    if isinstance(value, dict):
        return json.dumps(value)
    return value


def _decode(column: str, value: Any) -> Any:
    kind = _TYPES[column]
    if value is None:
        return None
    if kind in (JobStatus, JobStatus | None):
        return JobStatus(value)
    if kind is bool:
        return bool(value)
    if kind == dict[str, str]:
        return json.loads(value)
    return value


def _record(row: tuple[Any, ...]) -> JobRecord:
    stored = {
        column: _decode(column, value) for column, value in zip(_COLUMNS, row[1:], strict=True)
    }
    return JobRecord(spec=JobSpec.model_validate_json(row[0]), **stored)
