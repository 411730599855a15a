"""AdvisoryLeader: the settlement lead held as a PostgreSQL advisory lock (leader.py says why)."""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any

import psycopg

__all__ = ["SETTLEMENT_LOCK", "AdvisoryLeader"]

_log = logging.getLogger("c2d.leader")

SETTLEMENT_LOCK = 0x43324453_4554  # "C2DSET"
_CONNECT_TIMEOUT_SECONDS = 10


class AdvisoryLeader:
    """Holds ``pg_try_advisory_lock(key)`` on a session of its own while it leads."""

    def __init__(self, url: str, key: int = SETTLEMENT_LOCK) -> None:
        self._url = url
        self._key = key
        self._lock = threading.Lock()
        self._session: psycopg.Connection[Any] | None = None
        self._leading = False

    def is_leader(self) -> bool:
        with self._lock:
            try:
                self._leading = self._ask()
            except psycopg.Error as error:
                # The session is gone, and the lock with it: another replica may lead now.
                if self._leading:
                    _log.warning("lost the settlement lead: %s", error)
                self._drop()
                self._leading = False
            return self._leading

    def close(self) -> None:
        """Give the lead up now (a stopping replica); the session's end would, a little later."""
        with self._lock:
            if self._leading and self._session is not None and not self._session.broken:
                with contextlib.suppress(psycopg.Error):
                    self._session.execute("SELECT pg_advisory_unlock(%s)", (self._key,))
            self._drop()
            self._leading = False

    def _ask(self) -> bool:
        if self._session is None or self._session.broken or self._session.closed:
            self._session = psycopg.connect(
                self._url, autocommit=True, connect_timeout=_CONNECT_TIMEOUT_SECONDS
            )
        if self._leading:
            # A session-level lock lasts as long as the session: a live session still holds it.
            self._session.execute("SELECT 1")
            return True
        row = self._session.execute("SELECT pg_try_advisory_lock(%s)", (self._key,)).fetchone()
        leading = bool(row and row[0])
        if leading:
            _log.info("this replica now settles paid jobs (it holds the settlement lock)")
        return leading

    def _drop(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
