"""Reader for ``type: s3`` files: a SigV4-signed GetObject, streamed (Ocean's ``s3Access``)."""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping
from contextlib import contextmanager

import httpx

from steps.readers.base import FetchError
from steps.readers.guard import SourcePolicy
from steps.readers.s3client import S3Client, S3Error
from steps.readers.url import describe_http_error, stream_body
from workflows.spec import FileObject

__all__ = ["S3Reader"]


class S3Reader:
    def __init__(self, policy: SourcePolicy | None = None) -> None:
        self._policy = policy or SourcePolicy()

    def read(
        self, file: FileObject, *, timeout: float, max_bytes: int
    ) -> Generator[bytes, None, None]:
        return stream_body(self, file, timeout=timeout, max_bytes=max_bytes)

    @contextmanager
    def respond(
        self, file: FileObject, *, timeout: float, headers: Mapping[str, str] | None = None
    ) -> Iterator[httpx.Response]:
        """GetObject's streamed response; of ``headers`` only ``Range`` is sent (and signed)."""
        if file.s3_access is None:
            raise FetchError("the file has no s3Access")
        wanted = httpx.Headers(headers or {}).get("Range")
        try:
            with (
                S3Client(file.s3_access, self._policy, timeout) as client,
                client.get(wanted) as response,
            ):
                yield response
        except S3Error as error:
            raise FetchError(str(error)) from None
        except (httpx.HTTPError, httpx.StreamError) as error:
            raise FetchError(describe_http_error(error, timeout)) from None
