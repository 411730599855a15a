"""PostgresDatabase: the state of every replica in one PostgreSQL database (C2D_DATABASE_URL).

The stores' SQL is portable: ``?`` placeholders become psycopg's ``%s``, and the migrations'
``INTEGER`` columns become ``BIGINT`` (SQLite's INTEGER holds 64 bits, PostgreSQL's 32). Schema
versions are rows of ``c2d_schema_versions``, one per schema name, changed under an advisory
lock so that replicas starting together never both apply a migration.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from provider.statedb.base import Result
from workflows.sqlite_schema import SchemaVersionError, split_statements

__all__ = ["PostgresDatabase", "describe_url"]

_MIGRATION_LOCK = 0x43324453  # "C2DS": held while any schema is checked or migrated
_IDLE_CONNECTIONS = 8
_CONNECT_TIMEOUT_SECONDS = 10
_VERSIONS = (
    "CREATE TABLE IF NOT EXISTS c2d_schema_versions"
    " (name TEXT PRIMARY KEY, version BIGINT NOT NULL)"
)


def describe_url(url: str) -> str:
    """``postgresql://user@host:port/db`` without the password, for messages and logs."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "the PostgreSQL database of C2D_DATABASE_URL"
    user = f"{parts['user']}@" if parts.get("user") else ""
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{user}{parts.get('host', '')}{port}/{parts.get('dbname', '')}"


def _portable(sql: str) -> str:
    if "%" in sql:
        raise ValueError("state SQL must not contain '%' (it is psycopg's placeholder mark)")
    return sql.replace("?", "%s")


class _PostgresTransaction:
    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self._connection = connection

    def execute(self, sql: str, params: Sequence[object] = ()) -> Result:
        cursor = self._connection.execute(_portable(sql), tuple(params))
        rows = cursor.fetchall() if cursor.description is not None else []
        return Result(rows=[tuple(row) for row in rows], rowcount=max(cursor.rowcount, 0))


class PostgresDatabase:
    shared = True

    def __init__(self, url: str) -> None:
        self.url = url
        self.description = describe_url(url)
        self._lock = threading.Lock()
        self._idle: list[psycopg.Connection[Any]] = []

    def ensure_schema(self, name: str, migrations: Sequence[str]) -> None:
        latest = len(migrations)
        with self.transaction() as tx:
            tx.execute(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK:d})")
            tx.execute(_VERSIONS)
            found = tx.execute("SELECT version FROM c2d_schema_versions WHERE name = ?", (name,))
            row = found.first()
            version = int(row[0]) if row else 0
            if version > latest:
                raise SchemaVersionError(
                    f"schema {name} of {self.description} has version {version}, but this c2d"
                    f" knows versions up to {latest}: it was written by a newer c2d"
                )
            for script in migrations[version:]:
                for statement in split_statements(script):
                    tx.execute(re.sub(r"\bINTEGER\b", "BIGINT", statement))
            tx.execute(
                "INSERT INTO c2d_schema_versions (name, version) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET version = excluded.version",
                (name, latest),
            )

    def execute(self, sql: str, params: Sequence[object] = ()) -> Result:
        with self.transaction() as tx:
            return tx.execute(sql, params)

    @contextmanager
    def transaction(self) -> Iterator[_PostgresTransaction]:
        connection = self._take()
        try:
            with connection.transaction():
                yield _PostgresTransaction(connection)
        except BaseException:
            if connection.broken or connection.closed:
                connection.close()
            else:
                self._give_back(connection)
            raise
        self._give_back(connection)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _take(self) -> psycopg.Connection[Any]:
        with self._lock:
            while self._idle:
                connection = self._idle.pop()
                if not (connection.broken or connection.closed):
                    return connection
        return psycopg.connect(self.url, autocommit=True, connect_timeout=_CONNECT_TIMEOUT_SECONDS)

    def _give_back(self, connection: psycopg.Connection[Any]) -> None:
        with self._lock:
            if len(self._idle) < _IDLE_CONNECTIONS:
                self._idle.append(connection)
                return
        connection.close()
