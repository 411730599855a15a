"""Result publications in SQLite: one row per job that asked for its outputs as an asset."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from provider.statedb.sqlite import connect_file as connect
from provider.statedb.sqlite import prepare_file

__all__ = ["Publication", "PublicationState", "PublicationStore"]

# Migration n brings publications.sqlite from schema version n-1 to n; append, never edit.
_MIGRATIONS = (
    """CREATE TABLE IF NOT EXISTS publications (
    job_id TEXT PRIMARY KEY,
    chain_id INTEGER NOT NULL,
    owner TEXT NOT NULL,
    metadata TEXT NOT NULL,
    state TEXT NOT NULL,
    did TEXT NOT NULL DEFAULT '',
    nft TEXT NOT NULL DEFAULT '',
    datatoken TEXT NOT NULL DEFAULT '',
    tx TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL
)""",
)
_COLUMNS = "job_id, chain_id, owner, metadata, state, did, nft, datatoken, tx, note, updated_at"


class PublicationState(StrEnum):
    WAITING = "waiting"  # the job runs, or the publication failed and will be tried again
    PUBLISHED = "published"  # minted, DDO set, NFT given to the owner
    SKIPPED = "skipped"  # the job did not succeed (or its outputs are gone): nothing to publish


@dataclass(frozen=True)
class Publication:
    job_id: str
    chain_id: int
    owner: str
    metadata: dict[str, Any]
    state: PublicationState
    did: str = ""
    nft: str = ""
    datatoken: str = ""
    tx: str = ""  # the NFT transfer to the owner
    note: str = ""  # why it waits or was skipped
    updated_at: int = 0


class PublicationStore:
    def __init__(self, db_path: Path) -> None:
        self._db_path = db_path
        self._keep_open = prepare_file(db_path, _MIGRATIONS)

    def add(self, job_id: str, chain_id: int, owner: str, metadata: dict[str, Any]) -> None:
        with connect(self._db_path, fsync_each_commit=True) as connection:
            connection.execute(
                "INSERT INTO publications (job_id, chain_id, owner, metadata, state, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (job_id, chain_id, owner, json.dumps(metadata), PublicationState.WAITING, _now()),
            )

    def get(self, job_id: str) -> Publication | None:
        with connect(self._db_path) as connection:
            row = connection.execute(
                f"SELECT {_COLUMNS} FROM publications WHERE job_id = ?",  # noqa: S608 (constant)
                (job_id,),
            ).fetchone()
        return None if row is None else _publication(row)

    def waiting(self) -> list[Publication]:
        with connect(self._db_path) as connection:
            rows = connection.execute(
                f"SELECT {_COLUMNS} FROM publications WHERE state = ? ORDER BY updated_at",  # noqa: S608
                (PublicationState.WAITING,),
            ).fetchall()
        return [_publication(row) for row in rows]

    def minted(self, job_id: str, did: str, nft: str, datatoken: str) -> None:
        """The NFT exists (so a retry after a later failure does not mint a second one)."""
        self._update(job_id, "did = ?, nft = ?, datatoken = ?", (did, nft, datatoken))

    def note(self, job_id: str, note: str) -> None:
        self._update(job_id, "note = ?", (note,))

    def finish(self, job_id: str, state: PublicationState, *, tx: str = "", note: str = "") -> None:
        self._update(job_id, "state = ?, tx = ?, note = ?", (state, tx, note))

    def delete(self, job_id: str) -> None:
        with connect(self._db_path, fsync_each_commit=True) as connection:
            connection.execute("DELETE FROM publications WHERE job_id = ?", (job_id,))

    def _update(self, job_id: str, assignments: str, values: tuple[Any, ...]) -> None:
        with connect(self._db_path, fsync_each_commit=True) as connection:
            connection.execute(
                # assignments: constants of this module; values are bound
                f"UPDATE publications SET {assignments}, updated_at = ? WHERE job_id = ?",  # noqa: S608
                (*values, _now(), job_id),
            )


def _publication(row: Any) -> Publication:
    return Publication(
        job_id=row[0],
        chain_id=int(row[1]),
        owner=row[2],
        metadata=json.loads(row[3]),
        state=PublicationState(row[4]),
        did=row[5],
        nft=row[6],
        datatoken=row[7],
        tx=row[8],
        note=row[9],
        updated_at=int(row[10]),
    )


def _now() -> int:
    return int(time.time())
