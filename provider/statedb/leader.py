"""Which replica settles: one at a time, chosen by a PostgreSQL advisory lock.

Settlement (claims on chain) and the sweeps that retry it must run in one replica only, or a
claim left half-done could be sent twice. The leader is the replica whose session holds the
advisory lock; PostgreSQL releases it when that session ends (the process stopped, was killed
or lost its connection), and the next replica to ask takes it. With SQLite there is one
provider process per C2D_HOME (provider/home_lock.py), so it always leads; the
PostgreSQL lock is ``provider/statedb/advisory.py``.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["Leadership", "SoleLeader"]


class Leadership(Protocol):
    def is_leader(self) -> bool:
        """Whether this process leads now (asking for the lead if nobody holds it)."""
        ...

    def close(self) -> None: ...


class SoleLeader:
    def is_leader(self) -> bool:
        return True

    def close(self) -> None:
        return None
