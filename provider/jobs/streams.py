"""How many live-log streams may be open at once: per job, per requesting address, in total.

A stream holds a connection, a worker-thread read now and then and an inotify watch for as long
as the job runs; without a bound one job owner could hold thousands. Over a bound the request
gets 429 with a message; a stream's place is freed when it ends, fails or is dropped.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from provider.errors import TooManyRequests

__all__ = ["LeasedStream", "StreamLimits", "StreamSlots"]


@dataclass(frozen=True)
class StreamLimits:
    per_job: int = 4
    per_address: int = 8
    total: int = 256


class StreamSlots:
    def __init__(self, limits: StreamLimits) -> None:
        self._limits = limits
        self._lock = threading.Lock()
        self._jobs: Counter[str] = Counter()
        self._addresses: Counter[str] = Counter()
        self._total = 0

    def lease(self, job_id: str, address: str, chunks: AsyncIterator[bytes]) -> LeasedStream:
        """``chunks`` holding one place for job and address, or ``TooManyRequests``."""
        address = address.lower()
        limits = self._limits
        with self._lock:
            if self._jobs[job_id] >= limits.per_job:
                refusal = f"job {job_id} already has {limits.per_job} live log streams open"
            elif self._addresses[address] >= limits.per_address:
                refusal = f"{address} already has {limits.per_address} live log streams open"
            elif self._total >= limits.total:
                refusal = f"the provider already serves {limits.total} live log streams"
            else:
                refusal = ""
                self._jobs[job_id] += 1
                self._addresses[address] += 1
                self._total += 1
        if refusal:
            raise TooManyRequests(f"{refusal}; close one or try again later")
        return LeasedStream(chunks, lambda: self._release(job_id, address))

    def open_streams(self) -> int:
        with self._lock:
            return self._total

    def _release(self, job_id: str, address: str) -> None:
        with self._lock:
            self._jobs[job_id] -= 1
            if self._jobs[job_id] <= 0:
                del self._jobs[job_id]
            self._addresses[address] -= 1
            if self._addresses[address] <= 0:
                del self._addresses[address]
            self._total -= 1


class LeasedStream:
    """The chunks of one stream; its place is given back exactly once: at its end, on error or
    cancellation (the client left), on ``aclose``, or when dropped without being read."""

    def __init__(self, chunks: AsyncIterator[bytes], release: Callable[[], None]) -> None:
        self._chunks = chunks
        self._release: Callable[[], None] | None = release

    def __aiter__(self) -> LeasedStream:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await anext(self._chunks)
        except BaseException:
            self._give_back()
            raise

    async def aclose(self) -> None:
        self._give_back()
        close = getattr(self._chunks, "aclose", None)
        if close is not None:
            await close()

    def _give_back(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()

    def __del__(self) -> None:
        self._give_back()
