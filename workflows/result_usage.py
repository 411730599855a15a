"""What stored results take, kept as totals beside result storage (the local engine's caps).

Publish checks a job's results against the host's and its environment's caps. Measuring every
stored job's folder for that made each publish cost a walk of result storage (thousands of
folders on a busy provider); the totals are kept instead in ``.storage.usage`` (JSON: host bytes,
bytes per environment), read and rewritten under the exclusive lock ``.storage.lock``. Each job
folder holds a mark ``.environment``: its environment's id and, on a second line, the bytes the
totals counted for it, so removing the folder takes off exactly what was added.

The totals are rebuilt from the folders when the file is missing or unreadable, and at every
engine start (``rebuild``): a provider killed between a commit and its count, or folders
removed by hand, leave them off only until then.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "ENVIRONMENT_MARK",
    "Usage",
    "folder_bytes",
    "locked_usage",
    "read_mark",
    "rebuild",
    "remove_results",
    "write_mark",
]

ENVIRONMENT_MARK = ".environment"
_LOCK = ".storage.lock"
_USAGE = ".storage.usage"
_MARK_MAX = 512
_USAGE_MAX = 1 << 20


@dataclass
class Usage:
    """Bytes of committed results: in all, and per environment id."""

    host: int = 0
    environments: dict[str, int] = field(default_factory=dict)

    def environment(self, environment: str) -> int:
        return self.environments.get(environment, 0)

    def add(self, environment: str, size: int) -> None:
        self.host = max(0, self.host + size)
        left = max(0, self.environments.get(environment, 0) + size)
        self.environments[environment] = left


@contextlib.contextmanager
def locked_usage(root: Path) -> Iterator[Usage]:
    """The totals of ``root`` under its lock; what the block changed is saved when it ends."""
    with _locked(root):
        usage = _load(root)
        if usage is None:
            usage = _measure(root)
        before = _dump(usage)
        yield usage
        if _dump(usage) != before:
            _save(root, usage)


def rebuild(root: Path) -> Usage:
    """Measure every job folder again and keep that (at engine start)."""
    with _locked(root):
        usage = _measure(root)
        _save(root, usage)
        return usage


def remove_results(folder: Path) -> None:
    """Remove a job's results folder and take what it held off the totals (``OSError`` when
    it cannot be removed; what went is taken off all the same)."""
    with locked_usage(folder.parent) as usage:
        environment, counted = read_mark(folder)
        if counted is None:
            counted = folder_bytes(folder)
        try:
            shutil.rmtree(folder)
        finally:
            left = folder_bytes(folder) if folder.exists() else 0
            usage.add(environment, -max(0, counted - left))


def folder_bytes(folder: Path) -> int:
    """Blocks allocated to the committed files of one job folder (a sparse file at what it
    holds; staged ``.part`` files of a publish still running are not counted)."""
    used = 0
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.endswith(".part") or entry.name == ENVIRONMENT_MARK:
                continue
            with contextlib.suppress(OSError):
                used += entry.stat(follow_symlinks=False).st_blocks * 512
    return used


def write_mark(folder: Path, environment: str, counted: int) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(folder / ENVIRONMENT_MARK, flags, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(f"{environment}\n{counted}")


def read_mark(folder: Path) -> tuple[str, int | None]:
    """The folder's environment ("" when unmarked) and the bytes counted for it, if known."""
    try:
        fd = os.open(folder / ENVIRONMENT_MARK, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return "", None
    with os.fdopen(fd, "rb") as mark:
        if not stat.S_ISREG(os.fstat(mark.fileno()).st_mode):
            return "", None
        lines = mark.read(_MARK_MAX).decode(errors="replace").split("\n")
    counted = lines[1].strip() if len(lines) > 1 else ""
    return lines[0], int(counted) if counted.isdigit() else None


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    fd = os.open(root / _LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _measure(root: Path) -> Usage:
    usage = Usage()
    with os.scandir(root) as entries:
        for entry in entries:
            if not entry.is_dir(follow_symlinks=False):
                continue
            folder = Path(entry.path)
            environment, counted = read_mark(folder)
            used = folder_bytes(folder)
            usage.add(environment, used)
            if environment and counted != used:
                write_mark(folder, environment, used)  # what the totals now hold for it
    return usage


def _load(root: Path) -> Usage | None:
    try:
        fd = os.open(root / _USAGE, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as source:
            data = json.loads(source.read(_USAGE_MAX))
        environments = {str(k): int(v) for k, v in data["environments"].items()}
        return Usage(int(data["host"]), environments)
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def _dump(usage: Usage) -> str:
    return json.dumps({"host": usage.host, "environments": usage.environments}, sort_keys=True)


def _save(root: Path, usage: Usage) -> None:
    temporary = root / f"{_USAGE}.part"
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(temporary, flags, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(_dump(usage))
    os.replace(temporary, root / _USAGE)
