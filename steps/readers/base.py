"""The FileReader protocol every file-object type implements, and its one error."""

from __future__ import annotations

from collections.abc import Generator
from typing import Protocol

from workflows.spec import FileObject

__all__ = ["FetchError", "FileReader"]


class FetchError(Exception):
    """A file could not be fetched. The message is safe to log: words, never URLs or headers."""


class FileReader(Protocol):
    def read(
        self, file: FileObject, *, timeout: float, max_bytes: int
    ) -> Generator[bytes, None, None]:
        """Yield the file's bytes in chunks as they arrive (a generator, so it can be closed early).

        ``timeout`` is the longest wait without progress; ``max_bytes`` lets a reader refuse a
        file whose declared size is already too big. The caller still counts every byte, writes
        them, checks the checksum and enforces the size cap and the overall deadline. Raises
        ``FetchError`` on any failure.
        """
        ...
