"""What a state store asks of its database: migrations, one-statement calls, transactions."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

__all__ = ["Database", "Result", "Transaction", "as_database"]

# SQLite stores any integer up to this; PostgreSQL's BIGINT holds the same range.
MAX_INTEGER = 2**63 - 1


@dataclass(frozen=True)
class Result:
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    rowcount: int = 0  # rows changed by an INSERT, UPDATE or DELETE

    def first(self) -> tuple[Any, ...] | None:
        return self.rows[0] if self.rows else None


class Transaction(Protocol):
    def execute(self, sql: str, params: Sequence[object] = ()) -> Result: ...


class Database(Protocol):
    """Portable SQL: ``?`` placeholders, ``ON CONFLICT`` upserts, no ``%`` in the text."""

    @property
    def shared(self) -> bool:
        """True when several provider processes may use this database at once."""
        ...

    def ensure_schema(self, name: str, migrations: Sequence[str]) -> None:
        """Apply the migrations of schema ``name`` not applied yet (or refuse a newer one)."""
        ...

    def execute(self, sql: str, params: Sequence[object] = ()) -> Result:
        """One statement in its own transaction."""
        ...

    def transaction(self) -> AbstractContextManager[Transaction]:
        """A write transaction: committed when the block ends, rolled back on an exception."""
        ...


def as_database(where: Path | Database) -> Database:
    """A path is an SQLite file (the embedded default); anything else is a database already."""
    if isinstance(where, Path):
        from provider.statedb.sqlite import SqliteDatabase

        return SqliteDatabase(where)
    return where
