"""Nonces, revoked tokens and schema versions in a real PostgreSQL shared by two "replicas"."""

from __future__ import annotations

import threading
import uuid

import pytest

from provider.auth.nonces import NonceStore
from provider.auth.tokens import TokenService
from provider.errors import Unauthorized
from provider.statedb.postgres import PostgresDatabase
from tests.postgres_server import PostgresServer
from workflows.sqlite_schema import SchemaVersionError

ADDRESS = "0x" + "ab" * 20
SECRET = b"s" * 32


@pytest.fixture
def url(postgres: PostgresServer) -> str:
    return postgres.fresh_database(f"c2d_{uuid.uuid4().hex[:12]}")


def test_a_nonce_is_taken_once_across_replicas(url: str) -> None:
    replicas = [NonceStore(PostgresDatabase(url)) for _ in range(2)]
    won: list[int] = []
    refused: list[str] = []
    start = threading.Barrier(8)

    def race(store: NonceStore) -> None:
        start.wait()
        try:
            store.consume(ADDRESS, 5)
            won.append(5)
        except Unauthorized as error:
            refused.append(str(error))

    threads = [threading.Thread(target=race, args=(replicas[i % 2],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert won == [5]
    assert refused == ["nonce 5 is not greater than the last used nonce 5"] * 7
    assert replicas[1].current(ADDRESS.upper()) == 5
    with pytest.raises(Unauthorized, match="not greater than the last used nonce 5"):
        replicas[0].consume(ADDRESS, 4)
    replicas[1].consume(ADDRESS, 2**63 - 1)  # the largest nonce fits (BIGINT, not INTEGER)
    assert replicas[0].current(ADDRESS) == 2**63 - 1


def test_a_fresh_address_refuses_nonce_zero(url: str) -> None:
    store = NonceStore(PostgresDatabase(url))
    with pytest.raises(Unauthorized, match="nonce 0 is not greater than the last used nonce 0"):
        store.consume(ADDRESS, 0)
    assert store.current(ADDRESS) == 0


def test_a_token_revoked_by_one_replica_is_refused_by_the_other(url: str) -> None:
    first = TokenService(SECRET, PostgresDatabase(url), lifetime=None, clock=lambda: 1000.0)
    second = TokenService(SECRET, PostgresDatabase(url), lifetime=None, clock=lambda: 1000.0)
    token = first.issue(ADDRESS)
    assert second.verify(token) == ADDRESS
    first.invalidate(token, ADDRESS)
    first.invalidate(token, ADDRESS)  # twice is no error
    with pytest.raises(Unauthorized, match="invalidated"):
        second.verify(token)


def test_replicas_starting_together_migrate_once(url: str) -> None:
    errors: list[BaseException] = []

    def start() -> None:
        try:
            NonceStore(PostgresDatabase(url))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    rows = PostgresDatabase(url).execute("SELECT name, version FROM c2d_schema_versions").rows
    assert rows == [("auth", 1)]


def test_a_schema_written_by_a_newer_c2d_is_refused(url: str) -> None:
    database = PostgresDatabase(url)
    NonceStore(database)
    database.execute("UPDATE c2d_schema_versions SET version = 9 WHERE name = 'auth'")
    with pytest.raises(SchemaVersionError, match=r"schema auth of postgresql://c2d@127\.0\.0\.1"):
        NonceStore(database)
