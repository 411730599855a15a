"""The sandbox's stderr: a pipe per step, drained by the engine into a file of the job's own.

bwrap's pid 1 and the entrypoint shell keep the descriptor they were started with as stderr
for the whole job. A file there (once ``jobs/sandbox.stderr``, shared by all jobs) was a host
file descriptor inside the sandbox: taken with ``pidfd_getfd``, it told the host path and let
the algorithm write, truncate and ``fallocate`` a host file. A pipe is nothing of the host:
whatever reaches it lands in ``jobs/<jobId>/sandbox.stderr`` (a folder the job cannot see), up to
a cap; the rest is read and dropped, so a writer never blocks.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from pathlib import Path

__all__ = ["STDERR_CAP", "StderrDrain"]

_log = logging.getLogger("c2d.engine")
# bwrap's and the stage layer's messages are a few lines; this is generous.
STDERR_CAP = 256 * 1024
_CHUNK = 65536
_FILE_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC


class StderrDrain:
    """``write_fd``: the end to give the step (inheritable once dup'ed onto its fd 2); the
    caller closes it once the step is started. ``dest``: the per-job file (None: the engine's
    log, for a step with no job folder)."""

    def __init__(self, dest: Path | None, name: str, cap: int = STDERR_CAP) -> None:
        self._read_fd, self.write_fd = os.pipe2(os.O_CLOEXEC)
        self._dest = dest
        self._name = name
        self._cap = cap
        self._thread = threading.Thread(target=self._run, name=f"c2d-stderr-{name}", daemon=True)
        self._thread.start()

    def close_write_end(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.write_fd)

    def join(self, timeout: float) -> None:
        """Wait until every holder of the pipe has gone (the step's processes are dead then)."""
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            kept = self._copy()
        finally:
            os.close(self._read_fd)
        if kept:
            _log.warning("sandbox stderr of %s: %s", self._name, kept.decode(errors="replace"))

    def _copy(self) -> bytes:
        """Copy up to the cap into ``dest`` (or return it when there is no file), drop the rest."""
        out = _open(self._dest) if self._dest is not None else None
        kept = bytearray()
        left = self._cap
        try:
            while chunk := os.read(self._read_fd, _CHUNK):
                part, left = chunk[: max(left, 0)], left - len(chunk)
                if part and out is not None:
                    with contextlib.suppress(OSError):
                        os.write(out, part)
                elif part:
                    kept += part
            if left < 0 and out is not None:
                with contextlib.suppress(OSError):
                    os.write(out, f"\n[truncated: more than {self._cap} bytes]\n".encode())
        finally:
            if out is not None:
                os.close(out)
        return bytes(kept)


def _open(dest: Path) -> int | None:
    try:
        return os.open(dest, _FILE_FLAGS, 0o600)
    except OSError as error:
        _log.warning("cannot open %s: %s", dest, error.strerror)
        return None
