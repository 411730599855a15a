"""New ext4 images written from what mkfs.ext4 wrote once per size, not formatted each time.

Each job's quota image (``quota.py``) is a new sparse file formatted ext4. mkfs.ext4 is a
program: starting it and its work cost 3.5-6 ms of CPU per job here. Yet what it writes for
one size is the same every time but its UUID and hash seed, and little of it is not zeros: the
4 KiB blocks that hold anything else come to 80 KB of a 1 GiB image, 1.2 MB of a 100 GiB one.
So mkfs runs once per size, the non-zero blocks of its image are kept, and every later image of
that size is a new sparse file of the same length with those blocks written where they were.
Read back, it is byte for byte the file mkfs made (a hole reads as zeros). Each image is still
a new file that one job uses: no job's data is ever in one. The images of a size share mkfs's
UUID and directory hash seed, which matter only within a file system, and a job cannot read its
own file system's superblock (it sees two folders of it).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Ext4Images"]

_BLOCK = 4096
_READ = 1024 * 1024
# A size whose formatted image holds more non-zero bytes than this runs mkfs every time, and
# the sizes kept hold at most _MAX_TOTAL_BYTES together (the least recently used go first).
# A 1 GiB image keeps 80 KB, 100 GiB 1.2 MB.
_MAX_KEPT_BYTES = 16 * 1024 * 1024
_MAX_TOTAL_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class _Layout:
    """What mkfs wrote for one size: the file's length and its non-zero runs."""

    length: int
    runs: tuple[tuple[int, bytes], ...]

    @property
    def kept_bytes(self) -> int:
        return sum(len(data) for _, data in self.runs)


class Ext4Images:
    def __init__(self, mkfs: Callable[[Path, int], None]) -> None:
        """``mkfs(path, limit_bytes)`` creates ``path`` and formats it (the slow way)."""
        self._mkfs = mkfs
        self._lock = threading.Lock()
        self._layouts: OrderedDict[int, _Layout] = OrderedDict()

    def make(self, image: Path, limit_bytes: int) -> None:
        """A new formatted image at ``image`` for ``limit_bytes``; the first of a size by mkfs."""
        with self._lock:
            layout = self._layouts.get(limit_bytes)
            if layout is not None:
                self._layouts.move_to_end(limit_bytes)
        if layout is not None:
            _write(image, layout)
            return
        self._mkfs(image, limit_bytes)
        layout = _read(image)
        if layout is None:
            return
        with self._lock:
            self._layouts[limit_bytes] = layout
            self._layouts.move_to_end(limit_bytes)
            while sum(kept.kept_bytes for kept in self._layouts.values()) > _MAX_TOTAL_BYTES:
                self._layouts.popitem(last=False)


def _write(image: Path, layout: _Layout) -> None:
    fd = os.open(image, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        os.ftruncate(fd, layout.length)
        for offset, data in layout.runs:
            view = memoryview(data)
            while view:
                written = os.pwrite(fd, view, offset)
                offset += written
                view = view[written:]
    finally:
        os.close(fd)


def _read(image: Path) -> _Layout | None:
    """The non-zero runs of the image mkfs made; None when they are too many to keep."""
    fd = os.open(image, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        length = os.fstat(fd).st_size
        # Adjacent blocks grow one buffer in place: joining bytes block by block copied the
        # whole run again for each block (1.5 s of CPU for a 10 GiB image's 4 MB run).
        runs: list[tuple[int, bytearray]] = []
        kept = 0
        for start, end in _data_extents(fd, length):
            for offset in range(start, end, _READ):
                chunk = os.pread(fd, min(_READ, end - offset), offset)
                for block_offset, block in _non_zero_blocks(chunk, offset):
                    kept += len(block)
                    if kept > _MAX_KEPT_BYTES:
                        return None
                    if runs and runs[-1][0] + len(runs[-1][1]) == block_offset:
                        runs[-1][1].extend(block)
                    else:
                        runs.append((block_offset, bytearray(block)))
        return _Layout(length, tuple((offset, bytes(data)) for offset, data in runs))
    finally:
        os.close(fd)


def _data_extents(fd: int, length: int) -> list[tuple[int, int]]:
    """The (start, end) of each stretch of the file that is not a hole."""
    extents = []
    offset = 0
    while offset < length:
        try:
            start = os.lseek(fd, offset, os.SEEK_DATA)
        except OSError:  # ENXIO: no data after offset
            break
        end = os.lseek(fd, start, os.SEEK_HOLE)
        extents.append((start, end))
        offset = end
    return extents


def _non_zero_blocks(chunk: bytes, offset: int) -> list[tuple[int, bytes]]:
    """The blocks of ``chunk`` (read at ``offset``) that hold a byte other than zero."""
    blocks = []
    for at in range(0, len(chunk), _BLOCK):
        block = chunk[at : at + _BLOCK]
        if block.count(0) != len(block):
            blocks.append((offset + at, block))
    return blocks
