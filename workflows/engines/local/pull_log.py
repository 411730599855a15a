"""The image pull's progress, written by the engine next to the job's spec (a folder only the
provider and the trusted steps see); configure copies it to the top of its log, so the consumer's
``configurationLog`` says what was fetched and how big."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["PULL_LOG_BYTES", "PullLog"]

_log = logging.getLogger("c2d.engine")
# More would be a registry's doing (a thousand layers): the rest is dropped, the pull goes on.
PULL_LOG_BYTES = 64 * 1024


class PullLog:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._written = 0

    def line(self, message: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        data = f"{stamp} {message}\n".encode()
        if self._written + len(data) > PULL_LOG_BYTES:
            return
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(self._path, flags, 0o600)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
        except OSError as error:  # a log line never fails a pull
            _log.warning("cannot write the pull log %s: %s", self._path, error.strerror)
            return
        self._written += len(data)
