"""Migrations run in order, only the missing ones, and all or none of them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from workflows.sqlite_schema import migrate

V1 = "CREATE TABLE IF NOT EXISTS a (x INTEGER)"
V2 = "ALTER TABLE a ADD COLUMN y TEXT NOT NULL DEFAULT 'new'; CREATE TABLE b (z INTEGER)"


def _open(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def _tables(connection: sqlite3.Connection) -> set[str]:
    rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {str(name) for (name,) in rows}


def test_only_the_missing_migrations_run_and_rows_stay(tmp_path: Path) -> None:
    connection = _open(tmp_path / "db.sqlite")
    assert migrate(connection, tmp_path / "db.sqlite", [V1]) == 1
    connection.execute("INSERT INTO a (x) VALUES (1)")
    # V1 again would be harmless; V2 twice would fail (duplicate column): only V2 runs.
    assert migrate(connection, tmp_path / "db.sqlite", [V1, V2]) == 2
    assert connection.execute("SELECT x, y FROM a").fetchall() == [(1, "new")]
    assert connection.execute("PRAGMA user_version").fetchone() == (2,)
    assert migrate(connection, tmp_path / "db.sqlite", [V1, V2]) == 2


def test_a_failing_migration_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    connection = _open(tmp_path / "db.sqlite")
    migrate(connection, tmp_path / "db.sqlite", [V1])
    broken = "CREATE TABLE c (z INTEGER); INSERT INTO nowhere VALUES (1)"
    with pytest.raises(sqlite3.OperationalError, match="no such table: nowhere"):
        migrate(connection, tmp_path / "db.sqlite", [V1, V2, broken])
    assert connection.execute("PRAGMA user_version").fetchone() == (1,)
    assert _tables(connection) == {"a"}
