"""Block ranges for eth_getLogs: public RPCs refuse a request over too many blocks."""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["LOG_RANGE", "block_ranges"]

# Blocks per eth_getLogs request: within what public RPCs accept.
LOG_RANGE = 2000


def block_ranges(start: int, end: int, step: int = LOG_RANGE) -> Iterator[tuple[int, int]]:
    """Inclusive (from, to) pairs covering ``start``..``end`` in at most ``step`` blocks."""
    while start <= end:
        stop = min(start + step - 1, end)
        yield start, stop
        start = stop + 1
