"""Pack the algorithm's outputs folder into a tar, trusting nothing the algorithm left there.

A file with holes is stored sparse (``sparse.py``): a file as large as the disk limit but
empty costs result storage nothing either. Every other file is a plain member.
"""

from __future__ import annotations

import os
import stat
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from steps._files import NotRegular, describe_kind, open_regular_at
from steps.sparse import SparseBody, data_extents, sparse_member

__all__ = [
    "MAX_DEPTH",
    "MAX_ENTRIES",
    "ArchiveReport",
    "OutputsUnreadable",
    "archive_outputs",
]

MAX_ENTRIES = 100_000
MAX_DEPTH = 64
# Header blocks per entry, PAX extension headers for long names included (an upper bound).
_ENTRY_OVERHEAD = 3 * tarfile.BLOCKSIZE
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_SKIPS_LOGGED = 50


class OutputsUnreadable(Exception):
    """The outputs folder exists but cannot be opened or listed (exit 61)."""


@dataclass
class ArchiveReport:
    files: int = 0
    directories: int = 0
    content_bytes: int = 0
    skipped: int = 0
    capped: bool = False
    archived_bytes: int = tarfile.RECORDSIZE
    notes: list[str] = field(default_factory=list)


def archive_outputs(
    outputs: Path, dest: BinaryIO, *, cap_bytes: int, log: Callable[[str], None]
) -> ArchiveReport:
    """Write a tar of ``outputs`` to ``dest``: plain files and folders only, owned by root.

    Walks with directory descriptors (``openat``), so no path is resolved twice and a folder
    swapped for a symlink mid-walk is refused. Skipped: symlinks, hard-linked files, fifos,
    sockets, devices, unsafe names and whatever exceeds ``cap_bytes`` (about the tar's size).
    ``OSError`` from ``dest`` propagates: that is a results write failure, not a read one.
    """
    report = ArchiveReport()
    with tarfile.open(fileobj=dest, mode="w", format=tarfile.PAX_FORMAT) as tar:
        try:
            root = os.open(outputs, _DIR_FLAGS)
        except FileNotFoundError:
            log("no outputs folder: empty outputs archive")
            return report
        except OSError as error:
            raise OutputsUnreadable(error.strerror or "cannot open") from None
        try:
            _walk(tar, root, "", 0, cap_bytes, report, log, top=True)
        finally:
            os.close(root)
    if report.skipped > _SKIPS_LOGGED:
        log(f"outputs: {report.skipped - _SKIPS_LOGGED} more entries skipped")
    return report


def _walk(
    tar: tarfile.TarFile,
    dir_fd: int,
    prefix: str,
    depth: int,
    cap_bytes: int,
    report: ArchiveReport,
    log: Callable[[str], None],
    *,
    top: bool = False,
) -> None:
    def skip(name: str, why: str) -> None:
        report.skipped += 1
        if report.skipped <= _SKIPS_LOGGED:
            log(f"outputs: skipped {prefix + name!r}: {why}")

    try:
        with os.scandir(dir_fd) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError as error:
        if top:
            raise OutputsUnreadable(error.strerror or "cannot list") from None
        skip(prefix.rstrip("/"), f"cannot list ({error.strerror})")
        return
    for entry in entries:
        problem = _name_problem(entry.name)
        if problem:
            skip(entry.name, problem)
            continue
        if report.files + report.directories >= MAX_ENTRIES:
            report.capped = True
            skip(entry.name, f"more than {MAX_ENTRIES} entries")
            continue
        name = prefix + entry.name
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError as error:
            skip(entry.name, f"cannot stat ({error.strerror})")
            continue
        if stat.S_ISDIR(info.st_mode):
            _add_directory(tar, dir_fd, entry.name, name, info, depth, cap_bytes, report, log, skip)
        elif stat.S_ISREG(info.st_mode):
            _add_file(tar, dir_fd, entry.name, name, info, cap_bytes, report, skip)
        else:
            skip(entry.name, describe_kind(info.st_mode))


def _add_directory(
    tar: tarfile.TarFile,
    dir_fd: int,
    entry: str,
    name: str,
    info: os.stat_result,
    depth: int,
    cap_bytes: int,
    report: ArchiveReport,
    log: Callable[[str], None],
    skip: Callable[[str, str], None],
) -> None:
    if depth >= MAX_DEPTH:
        skip(entry, f"nested deeper than {MAX_DEPTH} folders")
        return
    if report.archived_bytes + _ENTRY_OVERHEAD > cap_bytes:
        report.capped = True
        skip(entry, f"size cap {cap_bytes} bytes reached")
        return
    try:
        child = os.open(entry, _DIR_FLAGS, dir_fd=dir_fd)
    except OSError as error:
        skip(entry, f"cannot open ({error.strerror})")
        return
    try:
        opened = os.fstat(child)
        if (opened.st_dev, opened.st_ino) != (info.st_dev, info.st_ino):
            skip(entry, "replaced while publishing")
            return
        member = _member(name, tarfile.DIRTYPE, 0o755, 0, opened)
        tar.addfile(member)
        report.directories += 1
        report.archived_bytes += _ENTRY_OVERHEAD
        _walk(tar, child, name + "/", depth + 1, cap_bytes, report, log)
    finally:
        os.close(child)


def _add_file(
    tar: tarfile.TarFile,
    dir_fd: int,
    entry: str,
    name: str,
    info: os.stat_result,
    cap_bytes: int,
    report: ArchiveReport,
    skip: Callable[[str, str], None],
) -> None:
    try:
        fd, opened = open_regular_at(entry, dir_fd)
    except NotRegular as why:
        skip(entry, str(why))
        return
    except OSError as error:
        skip(entry, f"cannot open ({error.strerror})")
        return
    with os.fdopen(fd, "rb") as source:
        if (opened.st_dev, opened.st_ino) != (info.st_dev, info.st_ino):
            skip(entry, "replaced while publishing")
            return
        size = opened.st_size
        mode = 0o755 if opened.st_mode & stat.S_IXUSR else 0o644
        member = _member(name, tarfile.REGTYPE, mode, size, opened)
        extents = data_extents(fd, size)
        body: _FixedSize | SparseBody = _FixedSize(source, size)
        overhead = _ENTRY_OVERHEAD
        if extents is not None:
            body = SparseBody(fd, extents)
            member = sparse_member(member, body.size)
            overhead += _ENTRY_OVERHEAD  # the map's records name the file twice
        cost = overhead + -(-member.size // tarfile.BLOCKSIZE) * tarfile.BLOCKSIZE
        if report.archived_bytes + cost > cap_bytes:
            report.capped = True
            skip(entry, f"size cap {cap_bytes} bytes reached")
            return
        tar.addfile(member, body)
        if body.short:
            skip(entry, "changed while publishing; content padded with zeros")
        report.files += 1
        report.content_bytes += size
        report.archived_bytes += cost


def _member(name: str, kind: bytes, mode: int, size: int, info: os.stat_result) -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.type = kind
    member.mode = mode
    member.size = size
    member.mtime = max(0, int(info.st_mtime))
    # Nothing about the provider's users leaks into the consumer's archive.
    member.uid = member.gid = 0
    member.uname = member.gname = ""
    return member


def _name_problem(name: str) -> str:
    if name in (".", "..") or "/" in name or "\\" in name:
        return "unsafe name"
    if any(ord(char) < 32 or ord(char) == 127 for char in name):
        return "control character in name"
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "name is not UTF-8"
    return ""


class _FixedSize:
    """Exactly ``size`` bytes for tarfile: a file that shrank is padded, one that grew is cut."""

    def __init__(self, source: BinaryIO, size: int) -> None:
        self._source = source
        self._left = size
        self.short = False

    def read(self, wanted: int = -1) -> bytes:
        wanted = self._left if wanted < 0 else min(wanted, self._left)
        data = b""
        if not self.short:
            try:
                data = self._source.read(wanted)
            except OSError:
                data = b""
        if len(data) < wanted:
            self.short = True
            data += bytes(wanted - len(data))
        self._left -= wanted
        return data
