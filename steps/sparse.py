"""Sparse files in a tar: GNU tar's PAX sparse format 1.0, written by hand (tarfile reads it,
but cannot write it).

A sparse member's PAX header names the real file and size (``GNU.sparse.name``,
``GNU.sparse.realsize``); its data starts with a map (the number of extents, then offset and
length of each, one decimal per line, padded to a block), followed by those extents' bytes only.
GNU tar, bsdtar and Python's tarfile restore the file whole (holes included).
"""

from __future__ import annotations

import copy
import errno
import os
import tarfile

__all__ = ["MAX_EXTENTS", "SparseBody", "data_extents", "sparse_member"]

# Data extents mapped per sparse file; beyond, the rest of the file is stored as one extent
# (only a file with this many separate extents of real data, gigabytes, gets there).
MAX_EXTENTS = 1 << 16
_Extents = list[tuple[int, int]]


def data_extents(fd: int, size: int) -> _Extents | None:
    """The data extents ``(offset, length)`` of a file with holes; None for a dense file (or a
    file system that cannot tell)."""
    extents: _Extents = []
    offset = 0
    try:
        while offset < size:
            try:
                start = os.lseek(fd, offset, os.SEEK_DATA)
            except OSError as error:
                if error.errno == errno.ENXIO:  # only a hole is left
                    break
                raise
            if start >= size:
                break
            end = size if len(extents) + 1 >= MAX_EXTENTS else os.lseek(fd, start, os.SEEK_HOLE)
            extents.append((start, min(end, size) - start))
            offset = end
    except OSError:
        return None
    finally:
        os.lseek(fd, 0, os.SEEK_SET)
    if sum(length for _, length in extents) == size:
        return None
    if not extents or extents[-1][0] + extents[-1][1] < size:
        extents.append((size, 0))  # GNU tar's mark of a file ending in a hole
    return extents


def sparse_member(member: tarfile.TarInfo, stored: int) -> tarfile.TarInfo:
    """The PAX 1.0 sparse form of ``member``: its real name and size in the extended header."""
    folder, _, base = member.name.rpartition("/")
    sparse = copy.copy(member)
    sparse.name = f"{folder}/GNUSparseFile.0/{base}" if folder else f"GNUSparseFile.0/{base}"
    sparse.size = stored
    sparse.pax_headers = {
        "GNU.sparse.major": "1",
        "GNU.sparse.minor": "0",
        "GNU.sparse.name": member.name,
        "GNU.sparse.realsize": str(member.size),
    }
    return sparse


class SparseBody:
    """A sparse member's data: the extent map (padded to a block), then each extent's bytes.

    ``size`` is fixed from the map; an extent that reads short is padded with zeros."""

    def __init__(self, fd: int, extents: _Extents) -> None:
        lines = [str(len(extents))] + [f"{offset}\n{length}" for offset, length in extents]
        header = ("\n".join(lines) + "\n").encode()
        header += bytes(-len(header) % tarfile.BLOCKSIZE)
        self.size = len(header) + sum(length for _, length in extents)
        self.short = False
        self._fd = fd
        self._pending = header
        self._extents = iter(extents)
        self._at = self._left = 0

    def read(self, wanted: int = -1) -> bytes:
        wanted = self.size if wanted < 0 else wanted
        out = bytearray()
        while len(out) < wanted:
            if not self._pending and not self._next_chunk(wanted - len(out)):
                break
            take, self._pending = (
                self._pending[: wanted - len(out)],
                self._pending[wanted - len(out) :],
            )
            out += take
        return bytes(out)

    def _next_chunk(self, wanted: int) -> bool:
        while self._left == 0:
            extent = next(self._extents, None)
            if extent is None:
                return False
            self._at, self._left = extent
        size = min(wanted, self._left, 1 << 20)
        try:
            data = os.pread(self._fd, size, self._at)
        except OSError:
            data = b""
        if len(data) < size:
            self.short = True
            data += bytes(size - len(data))
        self._at += size
        self._left -= size
        self._pending = data
        return True
