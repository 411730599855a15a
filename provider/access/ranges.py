"""HTTP ``Range`` for downloads (RFC 9110 §14): one byte range, parsed and placed in a file.

Only a single range is served. A header with several ranges, another unit or bad syntax is
ignored, as RFC 9110 lets a server do, and the whole file is answered with 200.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from provider.errors import RangeNotSatisfiable

__all__ = ["ByteRange", "Placed", "parse_content_range", "parse_range"]

_SINGLE = re.compile(r"bytes=(\d{0,19})-(\d{0,19})")
_CONTENT_RANGE = re.compile(r"bytes (\d{1,19})-(\d{1,19})/(\d{1,19}|\*)")


@dataclass(frozen=True)
class Placed:
    """A range placed in a file: bytes ``first`` to ``last`` inclusive of ``total`` (if known)."""

    first: int
    last: int
    total: int | None

    @property
    def length(self) -> int:
        return self.last - self.first + 1

    def content_range(self) -> str:
        return f"bytes {self.first}-{self.last}/{'*' if self.total is None else self.total}"


@dataclass(frozen=True)
class ByteRange:
    """``bytes=first-last``, ``bytes=first-`` (last None) or ``bytes=-suffix`` (first None)."""

    first: int | None
    last: int | None

    def header(self) -> str:
        """The same range as a request header, to forward to an origin."""
        first = "" if self.first is None else str(self.first)
        last = "" if self.last is None else str(self.last)
        return f"bytes={first}-{last}"

    def place(self, total: int) -> Placed:
        """The bytes this range selects in a file of ``total`` bytes; 416 when none."""
        if self.first is None:
            suffix = self.last or 0
            if suffix == 0 or total == 0:
                raise RangeNotSatisfiable(f"Range {self.header()}: no bytes to send", total)
            return Placed(max(0, total - suffix), total - 1, total)
        if self.first >= total:
            raise RangeNotSatisfiable(
                f"Range {self.header()} starts past the file's end ({total} bytes)", total
            )
        last = total - 1 if self.last is None else min(self.last, total - 1)
        return Placed(self.first, last, total)

    def agrees(self, placed: Placed) -> bool:
        """Whether an origin's ``Content-Range`` is what this range asked for."""
        if placed.first > placed.last or (placed.total is not None and placed.last >= placed.total):
            return False
        if placed.total is not None:
            try:
                return self.place(placed.total) == placed
            except RangeNotSatisfiable:
                return False
        if self.first is None:
            return placed.length <= (self.last or 0)
        return placed.first == self.first and (self.last is None or placed.last <= self.last)


def parse_range(header: str | None) -> ByteRange | None:
    """The single byte range a ``Range`` header asks for, or None to answer the whole file."""
    if header is None:
        return None
    found = _SINGLE.fullmatch(header.strip().replace(" ", ""))
    if found is None:
        return None
    first, last = found.group(1), found.group(2)
    if not first and not last:
        return None
    if not first:
        return ByteRange(None, int(last))
    if last and int(last) < int(first):
        return None  # invalid syntax: ignored
    return ByteRange(int(first), int(last) if last else None)


def parse_content_range(header: str) -> Placed | None:
    found = _CONTENT_RANGE.fullmatch(header.strip())
    if found is None:
        return None
    total = None if found.group(3) == "*" else int(found.group(3))
    return Placed(int(found.group(1)), int(found.group(2)), total)
