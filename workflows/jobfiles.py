"""Opening what a job wrote, from trusted code: by a folder descriptor, no links, no special files.

Everything under a job's writable folders is the algorithm's to shape: a log may have become a
symbolic link to the provider's key, a fifo that never answers, or a file larger than any cap.
Trusted code names such a file only as (a folder only trusted code writes to, a path below it)
and opens it here:

- every component is resolved below the folder's descriptor without following any link —
  ``openat2`` with ``RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS`` where the
  kernel has it, else a walk of ``openat`` calls with ``O_NOFOLLOW``, refusing ``..``;
- the file is opened ``O_NONBLOCK`` (a fifo cannot hold the open), then ``fstat`` decides: a
  regular file with one link, on the file system of the folder it was found in;
- reads go through :func:`read_capped`: positional, and never past a caller's cap.

Every call here may block on the disk: async code runs them in a worker thread
(``jobfile_stream.py`` streams a log that way).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import functools
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "READ_CHUNK",
    "JobFile",
    "JobFilePath",
    "RefusedJobFile",
    "describe_kind",
    "open_beneath",
    "read_capped",
    "read_job_file",
    "refused_note",
    "truncated_note",
]

READ_CHUNK = 1024 * 1024  # the most one read of a job's file asks for
_SYS_OPENAT2 = 437  # the same number on every architecture (added in Linux 5.6)
_RESOLVE_NO_MAGICLINKS = 0x02
_RESOLVE_NO_SYMLINKS = 0x04
_RESOLVE_BENEATH = 0x08
_RESOLVE = _RESOLVE_BENEATH | _RESOLVE_NO_SYMLINKS | _RESOLVE_NO_MAGICLINKS
_FOLDER = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


class RefusedJobFile(Exception):
    """The path names something other than a plain file of the job (the message says what)."""


@dataclass
class JobFile:
    """An open, checked file of a job; ``close`` it (or use it as a context manager)."""

    fd: int
    info: os.stat_result

    def read(self, offset: int, size: int) -> bytes:
        return os.pread(self.fd, size, offset) if size > 0 else b""

    def same_file(self, other: os.stat_result) -> bool:
        return (self.info.st_dev, self.info.st_ino) == (other.st_dev, other.st_ino)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> JobFile:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


@dataclass(frozen=True)
class JobFilePath:
    """``relative`` below ``folder``: the folder is the trusted side's (``jobs/<id>``,
    ``results/<id>``), everything below it may be the job's."""

    folder: Path
    relative: str

    def open(self) -> JobFile:
        """Blocking. Raises ``FileNotFoundError`` when absent, ``RefusedJobFile`` when unsafe."""
        folder = os.open(self.folder, _FOLDER)
        try:
            return open_beneath(folder, self.relative)
        finally:
            os.close(folder)


def open_beneath(folder_fd: int, relative: str) -> JobFile:
    """Open ``relative`` below the folder ``folder_fd`` as a checked :class:`JobFile`."""
    parts = [part for part in relative.split("/") if part not in ("", ".")]
    if not parts or ".." in parts:
        raise RefusedJobFile(f"{relative!r} is not a path below its folder")
    parent = _open_folder(folder_fd, parts[:-1]) if len(parts) > 1 else os.dup(folder_fd)
    try:
        fd = _open_at(parent, parts[-1], _FILE)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise RefusedJobFile(describe_kind(info.st_mode))
            if info.st_nlink != 1:
                raise RefusedJobFile(f"hard link ({info.st_nlink} links)")
            if info.st_dev != os.fstat(parent).st_dev:
                raise RefusedJobFile("on another file system than its folder")
            os.set_blocking(fd, True)
        except BaseException:
            os.close(fd)
            raise
    finally:
        os.close(parent)
    return JobFile(fd, info)


def read_capped(job_file: JobFile, offset: int, cap: int) -> bytes:
    """Everything from ``offset`` to the end, but never past byte ``cap`` of the file."""
    chunks = []
    while offset < cap:
        chunk = job_file.read(offset, min(READ_CHUNK, cap - offset))
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def read_job_file(path: JobFilePath, cap: int, *, tail: bool = False) -> bytes:
    """The first (``tail``: the last) ``cap`` bytes of a job's file (blocking). Raises like
    :meth:`JobFilePath.open`."""
    with path.open() as job_file:
        start = max(0, job_file.info.st_size - cap) if tail else 0
        return read_capped(job_file, start, start + cap)


def refused_note(refused: RefusedJobFile) -> bytes:
    """What a log reader shows instead of a log that is not a plain file of the job."""
    return f"[log not shown: it is not a plain file of the job ({refused})]\n".encode()


def truncated_note(cap: int) -> bytes:
    """What a log reader shows after the first ``cap`` bytes (publish's wording)."""
    return f"\n[truncated: log longer than {cap} bytes]\n".encode()


def describe_kind(mode: int) -> str:
    kinds = (
        (stat.S_ISLNK, "symbolic link"),
        (stat.S_ISFIFO, "fifo"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISDIR, "directory"),
    )
    for check, word in kinds:
        if check(mode):
            return word
    return "special file"


def _open_folder(folder_fd: int, parts: list[str]) -> int:
    if _openat2() is not None:
        return _open_at(folder_fd, "/".join(parts), _FOLDER)
    current = os.dup(folder_fd)
    try:
        for part in parts:
            following = _open_at(current, part, _FOLDER)
            os.close(current)
            current = following
    except BaseException:
        os.close(current)
        raise
    return current


def _open_at(dir_fd: int, name: str, flags: int) -> int:
    """``name`` below ``dir_fd``, links refused (``ELOOP`` → :class:`RefusedJobFile`)."""
    openat2 = _openat2()
    try:
        if openat2 is None:
            return os.open(name, flags, dir_fd=dir_fd)
        how = _OpenHow(flags, 0, _RESOLVE)
        fd = int(openat2(_SYS_OPENAT2, dir_fd, os.fsencode(name), ctypes.byref(how), 24))
        if fd < 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code), name)
        return fd
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise RefusedJobFile(f"{name!r} is or passes through a symbolic link") from None
        if error.errno == errno.EXDEV:
            raise RefusedJobFile(f"{name!r} leads outside its folder") from None
        if error.errno == errno.ENOTDIR:
            raise RefusedJobFile(f"{name!r} passes through something not a folder") from None
        raise


class _OpenHow(ctypes.Structure):
    _fields_ = [
        ("flags", ctypes.c_uint64),
        ("mode", ctypes.c_uint64),
        ("resolve", ctypes.c_uint64),
    ]


@functools.cache
def _openat2() -> Callable[..., int] | None:
    """libc's ``syscall`` when the kernel answers ``openat2``; None: walk with ``openat``."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        syscall = libc.syscall
    except (OSError, AttributeError):
        return None
    syscall.restype = ctypes.c_long
    how = _OpenHow(_FOLDER, 0, _RESOLVE)
    fd = syscall(_SYS_OPENAT2, -100, b".", ctypes.byref(how), 24)  # AT_FDCWD
    if fd < 0:
        return None  # ENOSYS (before 5.6) or refused by a seccomp filter
    os.close(fd)
    opener: Callable[..., int] = syscall
    return opener
