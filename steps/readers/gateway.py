"""Files read over HTTP through a gateway the operator configured (IPFS, Arweave)."""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from contextlib import AbstractContextManager

import httpx

from steps.readers.base import FetchError
from steps.readers.guard import SourcePolicy
from steps.readers.url import UrlReader
from workflows.spec import FileObject

__all__ = ["GatewayReader"]


class GatewayReader:
    """GETs ``locate(file)`` with the URL reader: same guard, caps and wording."""

    def __init__(self, policy: SourcePolicy | None, locate: Callable[[FileObject], str]) -> None:
        self._url = UrlReader(policy)
        self._locate = locate

    def read(
        self, file: FileObject, *, timeout: float, max_bytes: int
    ) -> Generator[bytes, None, None]:
        return self._url.read(self._located(file), timeout=timeout, max_bytes=max_bytes)

    def respond(
        self, file: FileObject, *, timeout: float, headers: Mapping[str, str] | None = None
    ) -> AbstractContextManager[httpx.Response]:
        """As UrlReader.respond, from the gateway's address of the file."""
        return self._url.respond(self._located(file), timeout=timeout, headers=headers)

    def _located(self, file: FileObject) -> FileObject:
        if not file.gateway:
            raise FetchError(f"no {file.type} gateway is configured")
        return FileObject(url=self._locate(file))
