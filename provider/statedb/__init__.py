"""The provider's state (nonces, revoked tokens, settlements) in SQLite or PostgreSQL.

SQLite files under ``C2D_HOME/state`` are the embedded default; ``C2D_DATABASE_URL``
(``postgresql://…``) puts the same tables in one PostgreSQL database shared by every replica.
Stores write portable SQL with ``?`` placeholders; each backend runs it as its driver wants.
"""

from provider.statedb.base import Database, Result, Transaction, as_database
from provider.statedb.sqlite import SqliteDatabase

__all__ = ["Database", "Result", "SqliteDatabase", "Transaction", "as_database"]
