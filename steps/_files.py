"""File helpers of the steps: atomic writes, and opening untrusted files without following links."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from workflows.jobfiles import describe_kind

__all__ = [
    "NotRegular",
    "atomic_writer",
    "describe_kind",
    "open_regular_at",
    "staged_writer",
    "temp_name",
]

_NO_FOLLOW_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class NotRegular(Exception):
    """The entry is not a plain, singly linked file (the message says what it is)."""


def temp_name(dest: Path) -> Path:
    """A hidden sibling of ``dest``: same folder, so the final rename is atomic."""
    return dest.with_name(f".{dest.name}.part")


@contextmanager
def staged_writer(dest: Path, mode: int = 0o644, *, sync: bool = True) -> Iterator[BinaryIO]:
    """Write ``dest``'s temporary sibling (``temp_name``) in full, synced to disk unless
    ``sync`` is False; the caller then renames it into place or removes it. A failed write
    leaves nothing."""
    tmp = temp_name(dest)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(tmp, flags, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            if sync:
                os.fsync(out.fileno())
        os.chmod(tmp, mode)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_writer(dest: Path, mode: int = 0o644, *, sync: bool = True) -> Iterator[BinaryIO]:
    """Write to a temporary sibling, then rename over ``dest``; nothing half-written remains.
    ``sync=False`` for scratch files that a power cut makes worthless anyway."""
    with staged_writer(dest, mode, sync=sync) as out:
        yield out
    try:
        os.replace(temp_name(dest), dest)
    except BaseException:
        temp_name(dest).unlink(missing_ok=True)
        raise


def open_regular_at(name: str, dir_fd: int | None = None) -> tuple[int, os.stat_result]:
    """Open a file an untrusted process could have swapped: no links, no devices, no fifos.

    ``O_NOFOLLOW`` refuses a final symlink, ``O_NONBLOCK`` keeps a fifo from blocking the open,
    and the checks run on ``fstat`` of the opened descriptor, so a rename between a directory
    listing and the open (TOCTOU) cannot slip another file in. A file with more than one link
    may be a hard link to something outside the folder (same filesystem), so it is refused too.
    Raises ``FileNotFoundError`` when absent, ``NotRegular`` or another ``OSError`` otherwise.
    """
    try:
        fd = os.open(name, _NO_FOLLOW_READ, dir_fd=dir_fd)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise NotRegular("symbolic link") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegular(describe_kind(info.st_mode))
        if info.st_nlink > 1:
            raise NotRegular(f"hard link ({info.st_nlink} links)")
        # Back to blocking reads: regular files ignore O_NONBLOCK, but be explicit.
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd, info
