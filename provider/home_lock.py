"""One provider per ``C2D_HOME``: an exclusive lock held for the life of ``c2d serve``.

A second provider on the same home would take the first one's running jobs for orphans of a
crash and fail them; it must stop before it touches any state, and say who holds the home.
The lock is ``flock`` on ``C2D_HOME/serve.lock``: the kernel drops it when the holder exits,
however it exits, so a crash never leaves a stale lock behind. The file's text (who holds it)
is only for the message.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path

from provider.errors import ConfigError

__all__ = ["LOCK_NAME", "HomeLock", "lock_home"]

LOCK_NAME = "serve.lock"
_HOLDER_BYTES = 4096


class HomeLock:
    """The held lock; ``release`` (or the process ending) lets another provider start."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def fileno(self) -> int:
        return self._fd

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def lock_home(home: Path, address: str) -> HomeLock:
    """Hold ``home`` for this process, or ConfigError naming the provider that holds it."""
    path = home / LOCK_NAME
    try:
        home.mkdir(parents=True, exist_ok=True)
        # O_NOFOLLOW: the home is the operator's, but a link there must not redirect the write.
        # O_CLOEXEC: the lock must die with the provider, not live on in a helper it started.
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as error:
        raise ConfigError(
            f"cannot use C2D_HOME {home}: {path}: {error.strerror}; set C2D_HOME to a folder"
            " this user may write"
        ) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, _HOLDER_BYTES, 0)
        os.close(fd)
        raise ConfigError(
            f"another c2d serve is using C2D_HOME {home.resolve()} ({describe_holder(holder)});"
            " stop it first, or give this one another C2D_HOME"
        ) from None
    except BaseException:
        os.close(fd)
        raise
    record = {"pid": os.getpid(), "started": int(time.time()), "address": address}
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(record).encode(), 0)
    return HomeLock(fd)


def describe_holder(text: bytes) -> str:
    """``pid N, started at …, listening on …`` from the lock file's text, as far as it says."""
    try:
        record = json.loads(text)
        pid, started, address = int(record["pid"]), int(record["started"]), str(record["address"])
    except (ValueError, KeyError, TypeError):
        return "it has not said which process it is yet"
    stamp = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(started))
    return f"pid {pid}, started {stamp}, listening on {address}"
