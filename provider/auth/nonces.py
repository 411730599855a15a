"""Per-address nonces: each signed request must use a nonce above the last one used."""

from __future__ import annotations

from pathlib import Path

from provider.auth._db import AUTH_MIGRATIONS, AUTH_SCHEMA, MAX_SQLITE_INTEGER
from provider.errors import Unauthorized
from provider.statedb.base import Database, as_database

__all__ = ["NonceStore"]

# One statement, so atomic in SQLite and in PostgreSQL alike: of two replicas storing the same
# nonce at once, one changes the row and the other changes nothing.
_RAISE = (
    "INSERT INTO nonces (address, nonce) VALUES (?, ?)"
    " ON CONFLICT (address) DO UPDATE SET nonce = excluded.nonce"
    " WHERE nonces.nonce < excluded.nonce"
)


class NonceStore:
    """The last nonce used by each address (0 for unknown ones); addresses are case-insensitive."""

    def __init__(self, database: Path | Database) -> None:
        self._db = as_database(database)
        self._db.ensure_schema(AUTH_SCHEMA, AUTH_MIGRATIONS)

    def current(self, address: str) -> int:
        row = self._db.execute(
            "SELECT nonce FROM nonces WHERE address = ?", (address.lower(),)
        ).first()
        return int(row[0]) if row else 0

    def consume(self, address: str, nonce: int) -> None:
        """Record ``nonce`` if above the last used one; of concurrent equal ones, one wins."""
        if nonce > MAX_SQLITE_INTEGER:
            raise Unauthorized(f"nonce must be at most {MAX_SQLITE_INTEGER}")
        key = address.lower()
        if nonce > 0 and self._db.execute(_RAISE, (key, nonce)).rowcount == 1:
            return
        last = self.current(key)
        raise Unauthorized(f"nonce {nonce} is not greater than the last used nonce {last}")
