"""File-object readers keyed by ``FileObject.type``: adding a type is one module and one entry."""

from __future__ import annotations

from collections.abc import Callable

from steps.readers.arweave import arweave_reader
from steps.readers.base import FetchError, FileReader, HttpFileReader
from steps.readers.ftp import FtpReader
from steps.readers.guard import SourcePolicy
from steps.readers.ipfs import ipfs_reader
from steps.readers.s3 import S3Reader
from steps.readers.url import UrlReader

__all__ = [
    "READERS",
    "FetchError",
    "FileReader",
    "HttpFileReader",
    "SourcePolicy",
    "reader_for",
]

# Factories, not instances: nothing (clients, sessions) is created at import time. Each gets the
# SSRF policy: whatever the reader connects to must pass it.
READERS: dict[str, Callable[[SourcePolicy], FileReader]] = {
    "url": UrlReader,
    "s3": S3Reader,
    "ftp": FtpReader,
    "ipfs": ipfs_reader,
    "arweave": arweave_reader,
}


def reader_for(file_type: str, policy: SourcePolicy | None = None) -> FileReader:
    try:
        factory = READERS[file_type]
    except KeyError:
        raise FetchError(f"no reader for file type {file_type!r}") from None
    return factory(policy or SourcePolicy())
