"""Fetch one file object to disk: streamed, size-capped across the job, checksummed, atomic."""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

from steps._files import temp_name
from steps.background_writer import BackgroundWriter
from steps.readers import FetchError, SourcePolicy, reader_for
from workflows.spec import FileObject

__all__ = ["MIN_RATE", "DownloadBudget", "Downloaded", "download"]

# The overall sanity cap: a server that trickles a byte just before every read timeout would
# otherwise hold the job forever. Every file may take its timeout plus the time the remaining
# budget needs at this rate.
MIN_RATE = 64 * 1024


@dataclass
class DownloadBudget:
    """``limits.max_download_bytes``, shared by every file of the job."""

    limit: int
    used: int = 0

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


@dataclass(frozen=True)
class Downloaded:
    size: int
    checksum_verified: bool


def download(
    file: FileObject,
    dest: Path,
    *,
    budget: DownloadBudget,
    timeout: float,
    mode: int = 0o644,
    policy: SourcePolicy | None = None,
) -> Downloaded:
    """Stream ``file`` to ``dest``; raises ``FetchError`` and leaves no partial file behind.

    ``policy`` says which addresses may be reached (default: public ones only).
    """
    reader = reader_for(file.type, policy)
    allowed_seconds = timeout + budget.remaining / MIN_RATE
    deadline = time.monotonic() + allowed_seconds
    digest = hashlib.sha256()
    size = 0
    tmp = temp_name(dest)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        with (
            os.fdopen(os.open(tmp, flags, 0o600), "wb") as file_out,
            BackgroundWriter(file_out) as out,
            contextlib.closing(
                reader.read(file, timeout=timeout, max_bytes=budget.remaining)
            ) as chunks,
        ):
            for chunk in chunks:
                if len(chunk) > budget.remaining:
                    # Counted as it arrives: a missing or lying Content-Length changes nothing.
                    raise FetchError(f"size cap {budget.limit} bytes exceeded")
                budget.used += len(chunk)
                size += len(chunk)
                digest.update(chunk)
                out.write(chunk)
                if time.monotonic() > deadline:
                    raise FetchError(f"download took longer than {allowed_seconds:.1f} s")
        if file.checksum is not None and digest.hexdigest() != file.checksum:
            raise FetchError("checksum mismatch")
        os.chmod(tmp, mode)
        os.replace(tmp, dest)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        raise FetchError(f"cannot write to disk ({error.strerror})") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return Downloaded(size=size, checksum_verified=file.checksum is not None)
