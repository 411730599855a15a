"""Folders the API user must reach whose parents are closed to it (a C2D_HOME in a test's
temporary folder under a 0700 ``/tmp/pytest-of-root``, an interpreter under ``/root``).

A descriptor or a working folder would not do: SQLite turns every name into an absolute path
and resolves its links. So the API process gets a mount namespace of its own in which the
topmost closed parent is covered by a small tmpfs holding only the folders it needs, bound at
their own paths: the names stay the same, and nothing else under that parent is visible to it.
Where every parent is open (``/var/lib/c2d``, ``/usr/lib/python3``) nothing is done.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from provider.privsep.user import ApiUser
from workflows.engines.local.mounts import (
    MS_BIND,
    MS_NODEV,
    MS_NOSUID,
    MS_REC,
    mount,
    unshare_mounts,
)

__all__ = ["closed_parent", "expose"]

_MS_NOEXEC = 0x8


def closed_parent(path: Path, user: ApiUser) -> Path | None:
    """The topmost strict parent of ``path`` (absolute, resolved) ``user`` cannot enter."""
    current = Path(path.anchor)
    for part in path.parts[1:-1]:
        current = current / part
        if not _enterable(os.stat(current), user):
            return current
    return None


def _enterable(info: os.stat_result, user: ApiUser) -> bool:
    # Mode bits only: the folders in question carry no ACLs granting more.
    if info.st_uid == user.uid:
        return bool(info.st_mode & stat.S_IXUSR)
    if info.st_gid == user.gid:
        return bool(info.st_mode & stat.S_IXGRP)
    return bool(info.st_mode & stat.S_IXOTH)


def expose(folders: Iterable[Path], user: ApiUser) -> list[Path]:
    """Make ``folders`` reachable to ``user`` in this process (as root, single-threaded);
    returns the parents covered."""
    covered: dict[Path, list[Path]] = {}
    for folder in folders:
        parent = closed_parent(folder, user)
        if parent is not None:
            covered.setdefault(parent, []).append(folder)
    if not covered:
        return []
    unshare_mounts()
    for parent, inside in covered.items():
        # Opened before the tmpfs hides them, bound back from these descriptors.
        fds = [os.open(f, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC) for f in inside]
        flags = MS_NOSUID | MS_NODEV | _MS_NOEXEC
        mount("tmpfs", parent, "tmpfs", flags, "mode=0755,size=1m")
        for folder, fd in zip(inside, fds, strict=True):
            folder.mkdir(mode=0o755, parents=True, exist_ok=True)
            mount(f"/proc/self/fd/{fd}", folder, None, MS_BIND | MS_REC)
            os.close(fd)
    return list(covered)
