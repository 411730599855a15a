"""SqliteDatabase: one state file, a fresh connection per call (none shared between threads).

``connect_file`` and ``prepare_file`` are its two halves for stores that use SQLite directly
(the asset index).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, closing, contextmanager
from pathlib import Path

from provider.statedb.base import Result
from workflows.sqlite_schema import migrate

__all__ = ["SqliteDatabase", "connect_file", "prepare_file"]

_BUSY_TIMEOUT_SECONDS = 30.0


@contextmanager
def connect_file(path: Path, *, fsync_each_commit: bool = False) -> Iterator[sqlite3.Connection]:
    """A fresh autocommit connection (transactions are explicit ``BEGIN`` statements).

    Without ``fsync_each_commit`` a commit survives the process dying, as the job store's do,
    and only the last moments before a power cut may be lost (nonces, revoked tokens: an fsync
    per signed request cost several ms). Money (settlements) asks for the fsync.
    """
    connection = sqlite3.connect(path, timeout=_BUSY_TIMEOUT_SECONDS, isolation_level=None)
    with closing(connection):
        if not fsync_each_commit:
            connection.execute("PRAGMA synchronous=NORMAL")
        yield connection


def prepare_file(path: Path, migrations: Sequence[str]) -> sqlite3.Connection:
    """Create or migrate the file (WAL, so readers go on while a writer holds the lock), and
    return a connection to keep open and never use: closing the last connection to a WAL file
    checkpoints it and deletes the WAL, which every per-call connection would otherwise do
    (with fsyncs) at the end of every request, 35 ms a signed request here."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with connect_file(path) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        migrate(connection, path, migrations)
    kept = sqlite3.connect(path, timeout=_BUSY_TIMEOUT_SECONDS, check_same_thread=False)
    # A read opens the WAL index: only then does this connection count as one still open.
    kept.execute("SELECT count(*) FROM sqlite_master").fetchone()
    return kept


class _SqliteTransaction:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def execute(self, sql: str, params: Sequence[object] = ()) -> Result:
        cursor = self._connection.execute(sql, tuple(params))
        return Result(rows=cursor.fetchall(), rowcount=cursor.rowcount)


class SqliteDatabase:
    """The schema version is the file's ``PRAGMA user_version`` (one schema per file);
    ``fsync_each_commit`` as for ``connect_file``."""

    shared = False  # C2D_HOME is locked by one provider process (provider/home_lock.py)

    def __init__(self, path: Path, *, fsync_each_commit: bool = False) -> None:
        self.path = path
        self._fsync_each_commit = fsync_each_commit
        self._kept: sqlite3.Connection | None = None

    def ensure_schema(self, name: str, migrations: Sequence[str]) -> None:
        kept = prepare_file(self.path, migrations)
        if self._kept is None:
            self._kept = kept
        else:
            kept.close()

    def close(self) -> None:
        if self._kept is not None:
            self._kept.close()
            self._kept = None

    def execute(self, sql: str, params: Sequence[object] = ()) -> Result:
        with self._connect() as connection:
            return _SqliteTransaction(connection).execute(sql, params)

    @contextmanager
    def transaction(self) -> Iterator[_SqliteTransaction]:
        with self._connect() as connection:
            # IMMEDIATE takes the write lock before the first read: check-and-store is atomic.
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteTransaction(connection)
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return connect_file(self.path, fsync_each_commit=self._fsync_each_commit)
