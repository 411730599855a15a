"""Versioned SQLite schemas: ``PRAGMA user_version`` says which migrations a file has had.

Each database has an ordered list of migrations; migration ``n`` (1-based) brings a file from
version ``n - 1`` to ``n``. Opening a file applies the missing ones and sets the version in one
transaction, so a provider upgraded in place keeps its jobs, nonces and settlements, and a crash
mid-way leaves the file as it was. A file written by a newer c2d (a version above the code's) is
refused rather than read with the wrong columns.

Files from before versioning have version 0 and already hold the tables of migration 1; that is
why migration 1 of every database uses ``CREATE ... IF NOT EXISTS``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

__all__ = ["SchemaVersionError", "check_version", "migrate", "split_statements"]


class SchemaVersionError(Exception):
    """The database file was written by a newer c2d than this one."""


def migrate(connection: sqlite3.Connection, path: Path, migrations: Sequence[str]) -> int:
    """Bring ``path`` (open as ``connection``, autocommit) to ``len(migrations)``; its version.

    A migration is SQL statements separated by ``;`` (none inside a literal).
    """
    latest = len(migrations)
    # IMMEDIATE: two processes opening the same old file never both apply a migration.
    connection.execute("BEGIN IMMEDIATE")
    try:
        version = _version(connection)
        _refuse_newer(path, version, latest)
        for script in migrations[version:]:
            for statement in split_statements(script):
                connection.execute(statement)
        if version != latest:
            connection.execute(f"PRAGMA user_version = {latest:d}")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
    return latest


def check_version(connection: sqlite3.Connection, path: Path, latest: int) -> None:
    """For read-only use: refuse a file newer than ``latest`` (an older one is read as it is)."""
    _refuse_newer(path, _version(connection), latest)


def _version(connection: sqlite3.Connection) -> int:
    return int(connection.execute("PRAGMA user_version").fetchone()[0])


def _refuse_newer(path: Path, version: int, latest: int) -> None:
    if version > latest:
        raise SchemaVersionError(
            f"{path} has schema version {version}, but this c2d knows versions up to {latest}:"
            " it was written by a newer c2d; run that version, or move the file away"
        )


def split_statements(script: str) -> list[str]:
    """The statements of a migration, to run one by one inside the open transaction
    (executescript would COMMIT it)."""
    return [part.strip() for part in script.split(";") if part.strip()]
