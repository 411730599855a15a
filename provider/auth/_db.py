"""The auth schema (nonces and revoked tokens) and its migrations.

In SQLite it is the file ``provider.sqlite``; ``payments.sqlite`` has its own list in
``provider/payments/store.py``. In PostgreSQL both are schemas of the one database.
"""

from __future__ import annotations

from provider.statedb.base import MAX_INTEGER

__all__ = ["AUTH_MIGRATIONS", "AUTH_SCHEMA", "MAX_SQLITE_INTEGER"]

MAX_SQLITE_INTEGER = MAX_INTEGER
AUTH_SCHEMA = "auth"

# Migration n brings the schema from version n-1 to n (workflows/sqlite_schema.py); append new
# ones, never edit a released one. Portable SQL (provider/statedb/postgres.py says what that is).
AUTH_MIGRATIONS = (
    "CREATE TABLE IF NOT EXISTS nonces (address TEXT PRIMARY KEY, nonce INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS revoked_tokens"
    " (jti TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)",
)
