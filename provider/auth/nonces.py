"""Per-address nonces in SQLite: each signed request must use a nonce above the last one used."""

from __future__ import annotations

from pathlib import Path

from provider.auth._db import AUTH_MIGRATIONS, MAX_SQLITE_INTEGER, connect, ensure_schema
from provider.errors import Unauthorized

__all__ = ["NonceStore"]


class NonceStore:
    """The last nonce used by each address (0 for unknown ones); addresses are case-insensitive."""

    def __init__(self, db_path: Path) -> None:
        self._db_path = db_path
        self._keep_open = ensure_schema(db_path, AUTH_MIGRATIONS)

    def current(self, address: str) -> int:
        with connect(self._db_path) as connection:
            row = connection.execute(
                "SELECT nonce FROM nonces WHERE address = ?", (address.lower(),)
            ).fetchone()
        return int(row[0]) if row else 0

    def consume(self, address: str, nonce: int) -> None:
        """Record ``nonce`` if above the last used one; of concurrent equal ones, one wins."""
        if nonce > MAX_SQLITE_INTEGER:
            raise Unauthorized(f"nonce must be at most {MAX_SQLITE_INTEGER}")
        key = address.lower()
        with connect(self._db_path) as connection:
            # IMMEDIATE takes the write lock before the read, so check-and-store is atomic.
            connection.execute("BEGIN IMMEDIATE")
            try:
                row = connection.execute(
                    "SELECT nonce FROM nonces WHERE address = ?", (key,)
                ).fetchone()
                last = int(row[0]) if row else 0
                if nonce <= last:
                    raise Unauthorized(
                        f"nonce {nonce} is not greater than the last used nonce {last}"
                    )
                connection.execute(
                    "INSERT INTO nonces (address, nonce) VALUES (?, ?)"
                    " ON CONFLICT(address) DO UPDATE SET nonce = excluded.nonce",
                    (key, nonce),
                )
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
