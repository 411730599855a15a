"""The FileReader protocol every file-object type implements, and its one error."""

from __future__ import annotations

from collections.abc import Generator, Mapping
from contextlib import AbstractContextManager
from typing import Protocol, runtime_checkable

import httpx

from workflows.spec import FileObject

__all__ = ["FetchError", "FileReader", "HttpFileReader"]


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


@runtime_checkable
class HttpFileReader(FileReader, Protocol):
    """A reader whose origin speaks HTTP (url, ipfs, arweave, s3): its response can be had
    whole, status and headers included, so a download can forward a ``Range`` and check it."""

    def respond(
        self, file: FileObject, *, timeout: float, headers: Mapping[str, str] | None = None
    ) -> AbstractContextManager[httpx.Response]:
        """The streamed response, any status; failures inside the block become FetchErrors."""
        ...
