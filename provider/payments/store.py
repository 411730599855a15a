"""Settlement records: one row per paid job, from lock to claim, across restarts.

In SQLite (``payments.sqlite``) or in the shared PostgreSQL database (``C2D_DATABASE_URL``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from provider.statedb.base import Database, as_database

__all__ = ["Settlement", "SettlementState", "SettlementStore"]

# Migration n brings the payments schema from schema version n-1 to n (workflows/sqlite_schema.py);
# append new ones, never edit a released one.
_MIGRATIONS = (
    """CREATE TABLE IF NOT EXISTS settlements (
    job_id TEXT PRIMARY KEY,
    chain_id INTEGER NOT NULL,
    token TEXT NOT NULL,
    payer TEXT NOT NULL,
    escrow_job_id TEXT NOT NULL,
    per_minute TEXT NOT NULL,
    locked TEXT NOT NULL,
    state TEXT NOT NULL,
    claimed TEXT NOT NULL DEFAULT '0',
    lock_tx TEXT NOT NULL DEFAULT '',
    settle_tx TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL
)""",
)
_COLUMNS = (
    "job_id, chain_id, token, payer, escrow_job_id, per_minute, locked, state, claimed,"
    " lock_tx, settle_tx, note"
)
_READ = _COLUMNS + ", updated_at"


class SettlementState(StrEnum):
    LOCKED = "locked"  # the price is locked; the job runs
    SETTLING = "settling"  # the job ended; the claim is being sent
    SETTLED = "settled"  # claimed (the rest released), or released in full


@dataclass(frozen=True)
class Settlement:
    job_id: str
    chain_id: int
    token: str
    payer: str
    escrow_job_id: int
    per_minute: int
    locked: int
    state: SettlementState
    claimed: int = 0
    lock_tx: str = ""
    settle_tx: str = ""
    note: str = ""
    updated_at: int = 0  # unix seconds of the last change (set by the store)


class SettlementStore:
    def __init__(self, database: Path | Database) -> None:
        self._db = as_database(database)
        self._db.ensure_schema("payments", _MIGRATIONS)

    def insert(self, row: Settlement) -> None:
        self._db.execute(
            f"INSERT INTO settlements ({_COLUMNS}, updated_at)"  # noqa: S608 (constant)
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*_values(row), int(time.time())),
        )

    def get(self, job_id: str) -> Settlement | None:
        found = self._db.execute(
            f"SELECT {_READ} FROM settlements WHERE job_id = ?",  # noqa: S608
            (job_id,),
        ).first()
        return _row(found) if found else None

    def unsettled(self) -> list[Settlement]:
        rows = self._db.execute(
            f"SELECT {_READ} FROM settlements WHERE state != ?",  # noqa: S608
            (SettlementState.SETTLED.value,),
        ).rows
        return [_row(r) for r in rows]

    def begin_settling(self, job_id: str) -> Settlement | None:
        """Move ``job_id`` from locked to settling; None if another thread already did."""
        changed = self._db.execute(
            "UPDATE settlements SET state = ?, updated_at = ? WHERE job_id = ? AND state = ?",
            (SettlementState.SETTLING.value, int(time.time()), job_id, "locked"),
        ).rowcount
        return self.get(job_id) if changed else None

    def finish(self, job_id: str, *, claimed: int, settle_tx: str, note: str) -> None:
        self._db.execute(
            "UPDATE settlements SET state = ?, claimed = ?, settle_tx = ?, note = ?,"
            " updated_at = ? WHERE job_id = ?",
            (
                SettlementState.SETTLED.value,
                str(claimed),
                settle_tx,
                note,
                int(time.time()),
                job_id,
            ),
        )

    def delete(self, job_id: str) -> None:
        self._db.execute("DELETE FROM settlements WHERE job_id = ?", (job_id,))


def _values(row: Settlement) -> tuple[object, ...]:
    return (
        row.job_id,
        row.chain_id,
        row.token,
        row.payer,
        str(row.escrow_job_id),
        str(row.per_minute),
        str(row.locked),
        row.state.value,
        str(row.claimed),
        row.lock_tx,
        row.settle_tx,
        row.note,
    )


def _row(raw: tuple[object, ...]) -> Settlement:
    return Settlement(
        job_id=str(raw[0]),
        chain_id=int(str(raw[1])),
        token=str(raw[2]),
        payer=str(raw[3]),
        escrow_job_id=int(str(raw[4])),
        per_minute=int(str(raw[5])),
        locked=int(str(raw[6])),
        state=SettlementState(str(raw[7])),
        claimed=int(str(raw[8])),
        lock_tx=str(raw[9]),
        settle_tx=str(raw[10]),
        note=str(raw[11]),
        updated_at=int(str(raw[12])),
    )
