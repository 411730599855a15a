"""The nonce store: strictly increasing per address, atomic under concurrent use, persistent."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from provider.auth.nonces import NonceStore
from provider.errors import Unauthorized

ADDRESS = "0x" + "Ab" * 20


def test_unknown_address_is_zero(nonces: NonceStore) -> None:
    assert nonces.current(ADDRESS) == 0


def test_consume_stores_and_is_case_insensitive(nonces: NonceStore) -> None:
    nonces.consume(ADDRESS, 3)
    assert nonces.current(ADDRESS.lower()) == 3
    assert nonces.current(ADDRESS.upper().replace("0X", "0x")) == 3


def test_equal_and_lower_nonces_are_refused(nonces: NonceStore) -> None:
    nonces.consume(ADDRESS, 10)
    for stale in (10, 9, 0):
        with pytest.raises(Unauthorized) as caught:
            nonces.consume(ADDRESS.lower(), stale)
        assert f"nonce {stale} is not greater than the last used nonce 10" in caught.value.message
    assert nonces.current(ADDRESS) == 10


def test_gaps_are_allowed(nonces: NonceStore) -> None:
    nonces.consume(ADDRESS, 1)
    nonces.consume(ADDRESS, 1_700_000_000_000)
    assert nonces.current(ADDRESS) == 1_700_000_000_000


def test_addresses_are_independent(nonces: NonceStore) -> None:
    nonces.consume(ADDRESS, 5)
    other = "0x" + "cd" * 20
    nonces.consume(other, 1)
    assert (nonces.current(ADDRESS), nonces.current(other)) == (5, 1)


def test_nonce_beyond_sqlite_integers_is_unauthorized(nonces: NonceStore) -> None:
    with pytest.raises(Unauthorized):
        nonces.consume(ADDRESS, 2**63)
    assert nonces.current(ADDRESS) == 0


def test_survives_a_new_store_on_the_same_file(nonces: NonceStore, db_path: Path) -> None:
    nonces.consume(ADDRESS, 4)
    assert NonceStore(db_path).current(ADDRESS) == 4


def test_concurrent_consumers_of_one_nonce_exactly_one_wins(nonces: NonceStore) -> None:
    threads_count = 16
    barrier = threading.Barrier(threads_count)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt() -> None:
        barrier.wait()
        try:
            nonces.consume(ADDRESS, 1)
            outcome = "ok"
        except Unauthorized:
            outcome = "refused"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=attempt) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok"] + ["refused"] * (threads_count - 1)
    assert nonces.current(ADDRESS) == 1


def test_a_request_does_not_checkpoint_the_file(tmp_path: Path) -> None:
    """Closing the last connection to a WAL file checkpoints it with fsyncs and deletes the WAL
    (~35 ms a signed request here); the store keeps one connection open so none is the last."""
    db = tmp_path / "provider.sqlite"
    store = NonceStore(db)
    store.consume(ADDRESS, 1)
    wal = db.with_name(db.name + "-wal")
    assert wal.is_file() and wal.stat().st_size > 0
    # What the request wrote is there for a new store (a restart) all the same.
    del store
    assert NonceStore(db).current(ADDRESS) == 1
