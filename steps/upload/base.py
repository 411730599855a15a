"""What every uploader shares: its error and the reader it consumes."""

from __future__ import annotations

from typing import Protocol

__all__ = ["Readable", "UploadError", "destination_name"]


class UploadError(Exception):
    """The upload failed; the message is safe to show to the job's owner."""


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def destination_name(path: str, file_name: str) -> str:
    """As Ocean Node: a path ending in ``/`` (or none) is a folder, the archive goes inside."""
    if not path or path.endswith("/"):
        return f"{path.rstrip('/')}/{file_name}"
    return path
