"""SQLite files as a test makes them by hand: an old schema with rows, and the schema version."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

__all__ = ["old_file", "set_version", "version"]


def old_file(path: Path, ddl: str, *rows: tuple[str, tuple[object, ...]]) -> None:
    """A file with ``ddl`` run on it and ``rows`` (statement, values) inserted; no version."""
    with closing(sqlite3.connect(path)) as connection:
        connection.executescript(ddl)
        for statement, values in rows:
            connection.execute(statement, values)
        connection.commit()


def version(path: Path) -> int:
    with closing(sqlite3.connect(path)) as connection:
        return int(connection.execute("PRAGMA user_version").fetchone()[0])


def set_version(path: Path, number: int) -> None:
    with closing(sqlite3.connect(path)) as connection:
        connection.execute(f"PRAGMA user_version = {number:d}")
