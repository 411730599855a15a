"""Files read over HTTP through a gateway the operator configured (IPFS, Arweave)."""

from __future__ import annotations

from collections.abc import Callable, Generator

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
        if not file.gateway:
            raise FetchError(f"no {file.type} gateway is configured")
        return self._url.read(
            FileObject(url=self._locate(file)), timeout=timeout, max_bytes=max_bytes
        )
