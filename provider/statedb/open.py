"""Open the provider's state: SQLite files in the state folder, or C2D_DATABASE_URL's database."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from provider.errors import ConfigError
from provider.statedb.base import Database
from provider.statedb.leader import Leadership, SoleLeader
from provider.statedb.sqlite import SqliteDatabase

__all__ = ["ORPHAN_GRACE_SECONDS", "State", "open_state"]

# With several replicas, a settlement row whose job no replica knows may be another replica's
# request between its lock and its submit: it is released only once this old.
ORPHAN_GRACE_SECONDS = 900.0


@dataclass(frozen=True)
class State:
    auth: Database  # nonces and revoked tokens
    payments: Database  # settlements
    leader: Leadership  # whether this replica settles
    orphan_grace: float  # see ORPHAN_GRACE_SECONDS (0 for one process)

    def close(self) -> None:
        self.leader.close()
        for database in {id(self.auth): self.auth, id(self.payments): self.payments}.values():
            close = getattr(database, "close", None)
            if close is not None:
                close()


def open_state(state_dir: Path, database_url: str | None) -> State:
    if not database_url:
        return State(
            auth=SqliteDatabase(state_dir / "provider.sqlite"),
            payments=SqliteDatabase(state_dir / "payments.sqlite", fsync_each_commit=True),
            leader=SoleLeader(),
            orphan_grace=0.0,
        )
    import psycopg

    from provider.statedb.advisory import AdvisoryLeader
    from provider.statedb.postgres import PostgresDatabase

    database = PostgresDatabase(database_url)
    try:
        database.execute("SELECT 1")
    except psycopg.Error as error:
        raise ConfigError(
            f"C2D_DATABASE_URL: cannot reach {database.description}: {_first_line(error)}"
        ) from None
    return State(
        auth=database,
        payments=database,
        leader=AdvisoryLeader(database_url),
        orphan_grace=ORPHAN_GRACE_SECONDS,
    )


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
