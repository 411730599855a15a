"""Short-lived SQLite connections to the provider's state file, shared by nonces and tokens."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

__all__ = ["MAX_SQLITE_INTEGER", "connect", "ensure_schema"]

MAX_SQLITE_INTEGER = 2**63 - 1

_BUSY_TIMEOUT_SECONDS = 30.0


@contextmanager
def connect(db_path: Path) -> Iterator[sqlite3.Connection]:
    """A fresh autocommit connection per call: no connection is ever shared between threads."""
    # isolation_level=None leaves transactions to explicit BEGIN statements.
    connection = sqlite3.connect(db_path, timeout=_BUSY_TIMEOUT_SECONDS, isolation_level=None)
    with closing(connection):
        yield connection


def ensure_schema(db_path: Path, statement: str) -> None:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with connect(db_path) as connection:
        # WAL lets readers (GET /nonce) proceed while a writer holds the lock.
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(statement)
