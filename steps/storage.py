"""Result storage caps: what all stored results may take, per environment and on the host.

The local engine hands publish the caps in its environment (``RESULT_STORAGE_ENV``: host bytes;
``ENVIRONMENT_STORAGE_ENV``: a JSON object environment id → bytes). Publish stages a job's
result files under temporary names, then, holding an exclusive lock on result storage, measures
what the committed results of every job take on disk (allocated blocks, so a sparse file counts
at what it really holds) and commits its own only when they fit; otherwise it removes them.
Each job folder names its environment in a hidden file, so a cap per environment can be summed.
Without caps in the environment (the Argo engine: the result volume's size is the cap) nothing
is measured.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from steps._files import temp_name

__all__ = [
    "ENVIRONMENT_STORAGE_ENV",
    "RESULT_STORAGE_ENV",
    "StorageCaps",
    "StorageFull",
    "commit_within_caps",
]

RESULT_STORAGE_ENV = "C2D_RESULT_STORAGE_BYTES"
ENVIRONMENT_STORAGE_ENV = "C2D_ENVIRONMENT_RESULT_STORAGE"
# In each job's result folder: the id of the job's environment (never listed as a result).
ENVIRONMENT_MARK = ".environment"
_LOCK = ".storage.lock"
_MARK_MAX = 256


class StorageFull(Exception):
    """The job's results do not fit a result storage cap (the message says which)."""


@dataclass(frozen=True)
class StorageCaps:
    host_bytes: int | None = None
    environment_bytes: Mapping[str, int] | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> StorageCaps:
        """The caps the engine set; ``ValueError`` when a value is malformed."""
        host = environ.get(RESULT_STORAGE_ENV)
        table = json.loads(environ.get(ENVIRONMENT_STORAGE_ENV) or "{}")
        if not isinstance(table, dict):
            raise ValueError(f"{ENVIRONMENT_STORAGE_ENV} must be a JSON object")
        caps = {str(env): int(limit) for env, limit in table.items()}
        return cls(int(host) if host else None, caps)

    def for_environment(self, environment: str) -> int | None:
        return (self.environment_bytes or {}).get(environment)

    @property
    def active(self) -> bool:
        return self.host_bytes is not None or bool(self.environment_bytes)


def commit_within_caps(
    folder: Path, names: Sequence[str], environment: str, caps: StorageCaps, reserve: int
) -> None:
    """Rename the staged ``names`` of ``folder`` into place if, with ``reserve`` bytes for what
    is still to come, all results fit the caps; else delete them and raise ``StorageFull``."""
    staged = [temp_name(folder / name) for name in names]
    if not caps.active:
        _commit(folder, names)
        return
    with _locked(folder.parent):
        own = sum(_allocated(path) for path in staged) + reserve
        host_used, environment_used = _usage(folder.parent, folder.name, environment)
        problem = _over(caps.host_bytes, host_used, own, "the provider's result storage")
        env_cap = caps.for_environment(environment)
        problem = problem or _over(
            env_cap, environment_used, own, f"the result storage of environment {environment}"
        )
        if problem:
            for path in staged:
                path.unlink(missing_ok=True)
            raise StorageFull(problem)
        _write_mark(folder, environment)
        _commit(folder, names)


def _over(cap: int | None, used: int, own: int, what: str) -> str:
    if cap is None or used + own <= cap:
        return ""
    return f"results not stored: they need {own} bytes and {what} holds {used} of its {cap} bytes"


def _commit(folder: Path, names: Sequence[str]) -> None:
    for name in names:
        os.replace(temp_name(folder / name), folder / name)


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    fd = os.open(root / _LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _usage(root: Path, own: str, environment: str) -> tuple[int, int]:
    """Committed bytes of every other job's results: in all, and of ``environment``."""
    total = mine = 0
    with os.scandir(root) as entries:
        for entry in entries:
            if entry.name == own or not entry.is_dir(follow_symlinks=False):
                continue
            used = _folder_bytes(Path(entry.path))
            total += used
            if _read_mark(Path(entry.path)) == environment:
                mine += used
    return total, mine


def _folder_bytes(folder: Path) -> int:
    used = 0
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.endswith(".part"):
                continue  # another job's staged file: counted if and when it commits
            with contextlib.suppress(OSError):
                used += entry.stat(follow_symlinks=False).st_blocks * 512
    return used


def _allocated(path: Path) -> int:
    try:
        return os.lstat(path).st_blocks * 512
    except FileNotFoundError:
        return 0


def _write_mark(folder: Path, environment: str) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(folder / ENVIRONMENT_MARK, flags, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(environment)


def _read_mark(folder: Path) -> str:
    try:
        fd = os.open(folder / ENVIRONMENT_MARK, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return ""
    with os.fdopen(fd, "rb") as mark:
        if not stat.S_ISREG(os.fstat(mark.fileno()).st_mode):
            return ""
        return mark.read(_MARK_MAX).decode(errors="replace")
