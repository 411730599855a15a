"""The index in SQLite (``index.sqlite``): per chain a cursor, recent block hashes, the data
NFTs seen, and every metadata event, so that a reorg is undone by deleting rows past a block."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from provider.statedb.sqlite import connect_file as connect
from provider.statedb.sqlite import prepare_file

__all__ = ["AssetRecord", "Cursor", "IndexStore", "IndexedEvent"]

# Migration n brings index.sqlite from schema version n-1 to n (workflows/sqlite_schema.py);
# append new ones, never edit a released one.
_MIGRATIONS = (
    "CREATE TABLE IF NOT EXISTS cursors (chain_id INTEGER PRIMARY KEY,"
    " block INTEGER NOT NULL, head INTEGER NOT NULL DEFAULT 0,"
    " error TEXT NOT NULL DEFAULT '', updated_at INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS checkpoints (chain_id INTEGER NOT NULL, block INTEGER NOT NULL,"
    " hash TEXT NOT NULL, PRIMARY KEY (chain_id, block));"
    "CREATE TABLE IF NOT EXISTS nfts (chain_id INTEGER NOT NULL, address TEXT NOT NULL,"
    " block INTEGER NOT NULL, ours INTEGER NOT NULL, PRIMARY KEY (chain_id, address));"
    "CREATE TABLE IF NOT EXISTS events (chain_id INTEGER NOT NULL, block INTEGER NOT NULL,"
    " log_index INTEGER NOT NULL, did TEXT NOT NULL, nft TEXT NOT NULL, kind TEXT NOT NULL,"
    " state INTEGER NOT NULL, owner TEXT NOT NULL, tx TEXT NOT NULL, sender TEXT NOT NULL,"
    " timestamp INTEGER NOT NULL, status TEXT NOT NULL, error_code INTEGER NOT NULL,"
    " reason TEXT NOT NULL, ddo TEXT, PRIMARY KEY (chain_id, block, log_index));"
    "CREATE INDEX IF NOT EXISTS events_by_did ON events (did, block, log_index)",
)
_EVENT_COLUMNS = (
    "chain_id, block, log_index, did, nft, kind, state, owner, tx, sender, timestamp, status,"
    " error_code, reason, ddo"
)
_METADATA_KINDS = ("created", "updated")


@dataclass(frozen=True)
class IndexedEvent:
    """One MetadataCreated/Updated ("created"/"updated") or MetadataState ("state") event.
    ``status`` is "ok" (``ddo`` holds the plain DDO JSON) or why it is not usable."""

    chain_id: int
    block: int
    log_index: int
    did: str
    nft: str
    kind: str
    state: int
    owner: str
    tx: str
    sender: str
    timestamp: int
    status: str = "ok"
    error_code: int = 0  # the HTTP status a refusal of this DDO answers with
    reason: str = ""
    ddo: str | None = None


@dataclass(frozen=True)
class AssetRecord:
    """An asset as indexed: its latest metadata event and the state of its latest event."""

    metadata: IndexedEvent
    state: int


@dataclass(frozen=True)
class Cursor:
    chain_id: int
    block: int  # the last block indexed
    head: int  # the chain's head when last read
    error: str  # the last pass's error ("" when it succeeded)
    updated_at: int

    @property
    def behind(self) -> int:
        return max(0, self.head - self.block)

    def describe(self, head: int | None = None) -> str:
        """One line for an operator; ``head``: the chain's head now, when known."""
        latest = self.head if head is None else max(head, self.head)
        line = (
            f"chain {self.chain_id}: assets indexed to block {self.block},"
            f" {max(0, latest - self.block)} blocks behind the head ({latest})"
        )
        return f"{line}; last error: {self.error}" if self.error else line


class IndexStore:
    def __init__(self, db_path: Path) -> None:
        self._db_path = db_path
        self._keep_open = prepare_file(db_path, _MIGRATIONS)

    def cursor(self, chain_id: int) -> Cursor | None:
        with connect(self._db_path) as connection:
            found = connection.execute(
                "SELECT chain_id, block, head, error, updated_at FROM cursors WHERE chain_id = ?",
                (chain_id,),
            ).fetchone()
        return Cursor(*found) if found else None

    def cursors(self) -> list[Cursor]:
        with connect(self._db_path) as connection:
            rows = connection.execute(
                "SELECT chain_id, block, head, error, updated_at FROM cursors ORDER BY chain_id"
            ).fetchall()
        return [Cursor(*row) for row in rows]

    def checkpoints(self, chain_id: int) -> list[tuple[int, str]]:
        """(block, hash) of the blocks whose hash is kept, newest first."""
        with connect(self._db_path) as connection:
            rows = connection.execute(
                "SELECT block, hash FROM checkpoints WHERE chain_id = ? ORDER BY block DESC",
                (chain_id,),
            ).fetchall()
        return [(int(block), str(hash_)) for block, hash_ in rows]

    def nft_is_ours(self, chain_id: int, address: str) -> bool | None:
        with connect(self._db_path) as connection:
            found = connection.execute(
                "SELECT ours FROM nfts WHERE chain_id = ? AND address = ?",
                (chain_id, address.lower()),
            ).fetchone()
        return None if found is None else bool(found[0])

    def commit_range(
        self,
        chain_id: int,
        *,
        to_block: int,
        head: int,
        events: Iterable[IndexedEvent],
        nfts: Iterable[tuple[str, int, bool]],
        checkpoints: Iterable[tuple[int, str]],
        keep_from: int,
    ) -> None:
        """Record one range at once: its events, NFTs (address, block, ours), block hashes,
        and the cursor moved to ``to_block``; hashes of blocks before ``keep_from`` are
        forgotten. A crash leaves either all of it or none."""
        now = int(time.time())
        with connect(self._db_path) as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                connection.executemany(
                    f"INSERT OR REPLACE INTO events ({_EVENT_COLUMNS})"  # noqa: S608 (constant)
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [_event_values(event) for event in events],
                )
                connection.executemany(
                    "INSERT OR REPLACE INTO nfts (chain_id, address, block, ours)"
                    " VALUES (?, ?, ?, ?)",
                    [(chain_id, a.lower(), block, int(ours)) for a, block, ours in nfts],
                )
                connection.executemany(
                    "INSERT OR REPLACE INTO checkpoints (chain_id, block, hash) VALUES (?, ?, ?)",
                    [(chain_id, block, hash_) for block, hash_ in checkpoints],
                )
                connection.execute(
                    "DELETE FROM checkpoints WHERE chain_id = ? AND block < ?",
                    (chain_id, keep_from),
                )
                _set_cursor(connection, chain_id, to_block, head, "", now)
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise

    def roll_back(self, chain_id: int, to_block: int, head: int) -> None:
        """Forget everything indexed after ``to_block`` (a reorg undid it)."""
        with connect(self._db_path) as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                for table in ("events", "nfts", "checkpoints"):
                    connection.execute(
                        f"DELETE FROM {table} WHERE chain_id = ? AND block > ?",  # noqa: S608
                        (chain_id, to_block),
                    )
                _set_cursor(connection, chain_id, to_block, head, "", int(time.time()))
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise

    def record_failure(self, chain_id: int, *, block: int, head: int, error: str) -> None:
        """Keep the cursor where it is and say why the last pass stopped."""
        with connect(self._db_path) as connection:
            connection.execute(
                "INSERT INTO cursors (chain_id, block, head, error, updated_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (chain_id) DO UPDATE SET"
                " head = MAX(cursors.head, excluded.head), error = excluded.error,"
                " updated_at = excluded.updated_at",
                (chain_id, block, head, error[:500], int(time.time())),
            )

    def asset(self, did: str) -> AssetRecord | None:
        """The asset ``did`` (``did:op:`` + lowercase hex) as indexed, None if unknown."""
        with connect(self._db_path) as connection:
            metadata = connection.execute(
                f"SELECT {_EVENT_COLUMNS} FROM events WHERE did = ? AND kind IN (?, ?)"  # noqa: S608
                " ORDER BY block DESC, log_index DESC LIMIT 1",
                (did, *_METADATA_KINDS),
            ).fetchone()
            if metadata is None:
                return None
            latest = connection.execute(
                "SELECT state FROM events WHERE did = ? ORDER BY block DESC, log_index DESC"
                " LIMIT 1",
                (did,),
            ).fetchone()
        return AssetRecord(metadata=IndexedEvent(*metadata), state=int(latest[0]))


def _set_cursor(
    connection: sqlite3.Connection, chain_id: int, block: int, head: int, error: str, now: int
) -> None:
    connection.execute(
        "INSERT OR REPLACE INTO cursors (chain_id, block, head, error, updated_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (chain_id, block, head, error, now),
    )


def _event_values(event: IndexedEvent) -> tuple[object, ...]:
    return (
        event.chain_id,
        event.block,
        event.log_index,
        event.did,
        event.nft,
        event.kind,
        event.state,
        event.owner,
        event.tx,
        event.sender,
        event.timestamp,
        event.status,
        event.error_code,
        event.reason,
        event.ddo,
    )
