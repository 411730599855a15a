"""Retry timing for chain work that failed: each failure doubles the wait, up to a ceiling."""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["Backoff"]


class Backoff:
    """Per key (a job id): how many attempts failed in a row and when the next may run. An RPC
    that is down is then not hammered; a success forgets the key."""

    def __init__(self, clock: Callable[[], float], *, first: float, ceiling: float) -> None:
        self._clock = clock
        self._first = first
        self._ceiling = ceiling
        self._lock = threading.Lock()
        self._failures = 0
        self._keys: dict[str, tuple[int, float]] = {}

    @property
    def failures(self) -> int:
        """Failed attempts since this process started, all keys together."""
        with self._lock:
            return self._failures

    def failed(self, key: str) -> float:
        """Count a failed attempt; the seconds until ``key`` is tried again."""
        with self._lock:
            self._failures += 1
            attempts = self._keys.get(key, (0, 0.0))[0] + 1
            wait: float = min(self._first * 2.0 ** (attempts - 1), self._ceiling)
            self._keys[key] = (attempts, self._clock() + wait)
        return wait

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._keys.pop(key, None)

    def due(self, key: str) -> bool:
        with self._lock:
            _, next_try = self._keys.get(key, (0, 0.0))
        return self._clock() >= next_try
