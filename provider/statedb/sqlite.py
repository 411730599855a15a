"""SqliteDatabase: one state file, a fresh connection per call (none shared between threads)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path

from provider.statedb.base import Result
from workflows.sqlite_schema import migrate

__all__ = ["SqliteDatabase"]

_BUSY_TIMEOUT_SECONDS = 30.0


class _SqliteTransaction:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def execute(self, sql: str, params: Sequence[object] = ()) -> Result:
        cursor = self._connection.execute(sql, tuple(params))
        return Result(rows=cursor.fetchall(), rowcount=cursor.rowcount)


class SqliteDatabase:
    """The schema version is the file's ``PRAGMA user_version`` (one schema per file)."""

    shared = False  # C2D_HOME is locked by one provider process (provider/home_lock.py)

    def __init__(self, path: Path) -> None:
        self.path = path

    def ensure_schema(self, name: str, migrations: Sequence[str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as connection:
            # WAL lets readers (GET /nonce) proceed while a writer holds the lock.
            connection.execute("PRAGMA journal_mode=WAL")
            migrate(connection, self.path, migrations)

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

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # isolation_level=None leaves transactions to explicit BEGIN statements.
        connection = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_SECONDS, isolation_level=None)
        with closing(connection):
            yield connection
