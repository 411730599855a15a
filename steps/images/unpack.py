"""Layers into a root folder, refusing everything that could write outside it.

Every write is relative to a descriptor of the root, one path component at a time with
``O_NOFOLLOW``: a symlink the image contains is kept as a link but never followed while
unpacking (an entry whose parent is a symlink is refused), so ``../``, absolute links and "a
link, then a file through it" cannot reach the host. Hard links must name a file already inside
the root. Device nodes and FIFOs are dropped (the sandbox brings its own /dev), setuid, setgid
bits are cleared. Whiteouts (``.wh.NAME``) delete from the layers below, opaque whiteouts
(``.wh..wh..opq``) empty their folder of what the layers below put there; a whiteout naming
``.``, ``..`` or nothing is refused. The bytes written, the entries and the decompressed stream
are capped per image, so a decompression bomb (gzip or zstd) stops at the cap. The caller gives
an empty folder of its own (cache.py unpacks into a fresh folder and renames it into place).
"""

from __future__ import annotations

import gzip
import os
import shutil
import stat
import tarfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

import zstandard

from steps.images.registry import PullError

__all__ = ["UnpackCaps", "UnpackError", "Unpacked", "open_dir", "unpack_layers"]

_OPAQUE = ".wh..wh..opq"
_WHITEOUT = ".wh."
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_ZSTD_WINDOW = 2**27
# Tar headers and padding on top of the file contents, per entry, for the stream cap.
_ENTRY_OVERHEAD = 3 * 512


class UnpackError(PullError):
    """A layer this unpacker refuses; the message says which entry and why."""


@dataclass(frozen=True)
class UnpackCaps:
    max_bytes: int = 4 * 2**30
    max_files: int = 500_000


@dataclass
class Unpacked:
    bytes: int = 0
    files: int = 0
    dropped: list[str] = field(default_factory=list)


def unpack_layers(
    layers: list[Path], root: Path, caps: UnpackCaps, below: Unpacked | None = None
) -> Unpacked:
    """Unpack ``layers`` (verified blobs, lowest first) into the empty folder ``root``, or, with
    ``below`` (what the layers under them counted), on top of a root that holds those layers
    (a hard-link copy: no file there is ever written in place, only unlinked and replaced)."""
    if below is None and any(root.iterdir()):
        raise UnpackError(f"{root} is not empty")
    result = Unpacked(below.bytes, below.files) if below else Unpacked()
    root_fd = os.open(root, _DIR_FLAGS)
    try:
        for layer in layers:
            with layer.open("rb") as raw:
                _unpack_one(_decompressed(raw, caps), root_fd, caps, result)
    finally:
        os.close(root_fd)
    return result


def _decompressed(raw: IO[bytes], caps: UnpackCaps) -> _Capped:
    magic = raw.read(4)
    raw.seek(0)
    limit = caps.max_bytes + caps.max_files * _ENTRY_OVERHEAD + 2**20
    if magic.startswith(_GZIP_MAGIC):
        return _Capped(gzip.GzipFile(fileobj=raw, mode="rb"), limit)
    if magic == _ZSTD_MAGIC:
        # The decoder's window stays at zstd's default limit (128 MiB of memory), whatever the
        # frame asks for; the stream cap below bounds what it may produce.
        decoder = zstandard.ZstdDecompressor(max_window_size=_ZSTD_WINDOW)
        return _Capped(decoder.stream_reader(raw, read_across_frames=True), limit)
    return _Capped(raw, limit)


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _Capped:
    """A read-only stream that refuses to give more than ``limit`` bytes (a bomb's end)."""

    def __init__(self, inner: _Readable, limit: int) -> None:
        self._inner = inner
        self._left = limit

    def read(self, size: int = -1) -> bytes:
        want = self._left + 1 if size < 0 else min(size, self._left + 1)
        data = self._inner.read(want)
        self._left -= len(data)
        if self._left < 0:
            raise UnpackError("a layer decompresses to more than the image's size cap")
        return data


def _unpack_one(stream: object, root_fd: int, caps: UnpackCaps, result: Unpacked) -> None:
    created: set[tuple[str, ...]] = set()
    try:
        with tarfile.open(fileobj=stream, mode="r|") as archive:  # type: ignore[call-overload]
            for member in archive:
                result.files += 1
                if result.files > caps.max_files:
                    raise UnpackError(f"the image has more than {caps.max_files} entries")
                _entry(archive, member, root_fd, caps, result, created)
    except (tarfile.TarError, EOFError, gzip.BadGzipFile, zlib.error, zstandard.ZstdError) as error:
        raise UnpackError(f"a layer is not a readable tar archive: {error}") from None


def _parts(name: str) -> tuple[str, ...]:
    parts = tuple(part for part in name.split("/") if part not in ("", "."))
    if ".." in parts:
        raise UnpackError(f"entry {name!r} climbs out of the root")
    if any("\0" in part for part in parts):
        raise UnpackError(f"entry {name!r} has a NUL in its name")
    return parts


def _entry(
    archive: tarfile.TarFile,
    member: tarfile.TarInfo,
    root_fd: int,
    caps: UnpackCaps,
    result: Unpacked,
    created: set[tuple[str, ...]],
) -> None:
    parts = _parts(member.name)
    if not parts:
        return  # the root itself: its mode is ours
    parent, base = parts[:-1], parts[-1]
    if base.startswith(_WHITEOUT):
        _whiteout(root_fd, parent, base, created, member.name)
        return
    if member.ischr() or member.isblk() or member.isfifo():
        result.dropped.append(member.name)
        return
    if not (member.isdir() or member.isreg() or member.issym() or member.islnk()):
        raise UnpackError(f"entry {member.name!r} has an unsupported type")
    parent_fd = open_dir(root_fd, parent, create=True, name=member.name)
    assert parent_fd is not None
    try:
        _clear(parent_fd, base, keep_dir=member.isdir())
        mode = member.mode & 0o1777  # no setuid, no setgid
        if member.isdir():
            if not _is_dir(parent_fd, base):
                os.mkdir(base, 0o700, dir_fd=parent_fd)
            fd = os.open(base, _DIR_FLAGS, dir_fd=parent_fd)
            try:
                _own(fd, member, mode)
            finally:
                os.close(fd)
        elif member.isreg():
            _write(archive, member, parent_fd, base, mode, caps, result)
        elif member.issym():
            os.symlink(member.linkname, base, dir_fd=parent_fd)
            if os.geteuid() == 0:
                os.chown(base, member.uid, member.gid, dir_fd=parent_fd, follow_symlinks=False)
            times = (member.mtime, member.mtime)
            os.utime(base, times, dir_fd=parent_fd, follow_symlinks=False)
        else:
            _hard_link(root_fd, member, parent_fd, base)
    finally:
        os.close(parent_fd)
    # The entry and the folders made for it belong to this layer: an opaque whiteout later in
    # the same layer keeps them.
    created.update(parts[:depth] for depth in range(1, len(parts) + 1))


def open_dir(root_fd: int, parts: tuple[str, ...], *, create: bool, name: str) -> int | None:
    """A descriptor of the folder ``parts`` under the root, never through a symlink."""
    fd = os.dup(root_fd)
    try:
        for part in parts:
            if create and not _exists(fd, part):
                os.mkdir(part, 0o755, dir_fd=fd)
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if create:
                    raise
                os.close(fd)
                return None
            except OSError:
                raise UnpackError(
                    f"entry {name!r} goes through {part!r}, which is not a folder (a link?)"
                ) from None
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def _exists(dir_fd: int, name: str) -> bool:
    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def _is_dir(dir_fd: int, name: str) -> bool:
    try:
        return stat.S_ISDIR(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except FileNotFoundError:
        return False


def _clear(dir_fd: int, name: str, *, keep_dir: bool = False) -> None:
    """Remove ``name`` (a folder with its content) unless it is a folder to keep."""
    try:
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(info.st_mode):
        if not keep_dir:
            shutil.rmtree(name, dir_fd=dir_fd)
    else:
        os.unlink(name, dir_fd=dir_fd)


def _whiteout(
    root_fd: int,
    parent: tuple[str, ...],
    base: str,
    created: set[tuple[str, ...]],
    name: str,
) -> None:
    target = base[len(_WHITEOUT) :]
    if base != _OPAQUE and target in ("", ".", ".."):
        raise UnpackError(f"whiteout {name!r} names no entry")
    parent_fd = open_dir(root_fd, parent, create=False, name=name)
    if parent_fd is None:
        return
    try:
        if base == _OPAQUE:
            for child in os.listdir(parent_fd):
                if (*parent, child) not in created:
                    _clear(parent_fd, child)
        else:
            _clear(parent_fd, target)
    finally:
        os.close(parent_fd)


def _write(
    archive: tarfile.TarFile,
    member: tarfile.TarInfo,
    parent_fd: int,
    base: str,
    mode: int,
    caps: UnpackCaps,
    result: Unpacked,
) -> None:
    result.bytes += member.size
    if result.bytes > caps.max_bytes:
        raise UnpackError(f"the image unpacks to more than {caps.max_bytes} bytes")
    source = archive.extractfile(member)
    fd = os.open(base, _FILE_FLAGS, 0o600, dir_fd=parent_fd)
    with os.fdopen(fd, "wb") as out:
        if source is not None:
            shutil.copyfileobj(source, out, 1 << 20)
        out.flush()  # before the time is set: a later write would move it
        _own(out.fileno(), member, mode)


def _own(fd: int, member: tarfile.TarInfo, mode: int) -> None:
    """The entry's owner (as root), mode and modification time, on the open descriptor: nothing
    followed. The time matters: Python's cached bytecode (``__pycache__``, which images ship) is
    valid only while its source keeps the time it was compiled against."""
    if os.geteuid() == 0:
        os.fchown(fd, member.uid, member.gid)
    os.fchmod(fd, mode)
    os.utime(fd, (member.mtime, member.mtime))


def _hard_link(root_fd: int, member: tarfile.TarInfo, parent_fd: int, base: str) -> None:
    target = _parts(member.linkname)
    if not target:
        raise UnpackError(f"hard link {member.name!r} names no file")
    target_fd = open_dir(root_fd, target[:-1], create=False, name=member.linkname)
    if target_fd is None:
        raise UnpackError(f"hard link {member.name!r} names a missing file")
    try:
        info = os.stat(target[-1], dir_fd=target_fd, follow_symlinks=False)
        if not (stat.S_ISREG(info.st_mode) or stat.S_ISLNK(info.st_mode)):
            raise UnpackError(f"hard link {member.name!r} names no regular file")
        os.link(target[-1], base, src_dir_fd=target_fd, dst_dir_fd=parent_fd, follow_symlinks=False)
    except FileNotFoundError:
        raise UnpackError(f"hard link {member.name!r} names a missing file") from None
    finally:
        os.close(target_fd)
