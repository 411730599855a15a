"""Short-lived SQLite connections to the provider's state files, and their schema versions.

``provider.sqlite`` holds nonces and revoked tokens (``AUTH_MIGRATIONS``, one list for the file);
``payments.sqlite`` has its own list in ``provider/payments/store.py``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path

from workflows.sqlite_schema import migrate

__all__ = ["AUTH_MIGRATIONS", "MAX_SQLITE_INTEGER", "connect", "ensure_schema"]

MAX_SQLITE_INTEGER = 2**63 - 1

_BUSY_TIMEOUT_SECONDS = 30.0

# Migration n brings the file from schema version n-1 to n (workflows/sqlite_schema.py); append
# new ones, never edit a released one.
AUTH_MIGRATIONS = (
    "CREATE TABLE IF NOT EXISTS nonces (address TEXT PRIMARY KEY, nonce INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS revoked_tokens"
    " (jti TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)",
)


@contextmanager
def connect(db_path: Path, *, fsync_each_commit: bool = False) -> Iterator[sqlite3.Connection]:
    """A fresh autocommit connection per call: no connection is ever shared between threads.

    Without ``fsync_each_commit`` a commit survives the process dying, as the job store's do,
    and only the last moments before a power cut may be lost (nonces, revoked tokens: an fsync
    per signed request cost several ms). Money (settlements) asks for the fsync.
    """
    # isolation_level=None leaves transactions to explicit BEGIN statements.
    connection = sqlite3.connect(db_path, timeout=_BUSY_TIMEOUT_SECONDS, isolation_level=None)
    with closing(connection):
        if not fsync_each_commit:
            connection.execute("PRAGMA synchronous=NORMAL")
        yield connection


def ensure_schema(db_path: Path, migrations: Sequence[str]) -> sqlite3.Connection:
    """Create or migrate the file to the latest version of ``migrations`` (or refuse a newer).

    Returns a connection the store keeps open and never uses: closing the last connection to
    a WAL file checkpoints and deletes the WAL, which every per-call connection would otherwise
    do (with fsyncs) at the end of every request.
    """
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with connect(db_path) as connection:
        # WAL lets readers (GET /nonce) proceed while a writer holds the lock.
        connection.execute("PRAGMA journal_mode=WAL")
        migrate(connection, db_path, migrations)
    kept = sqlite3.connect(db_path, timeout=_BUSY_TIMEOUT_SECONDS, check_same_thread=False)
    # A read opens the WAL index: only then does this connection count as one still open.
    kept.execute("SELECT count(*) FROM sqlite_master").fetchone()
    return kept
