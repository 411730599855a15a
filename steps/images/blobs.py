"""Verified blobs by digest: a blob is visible under its name only once its digest checked."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from steps.images.errors import PullError
from steps.images.reference import DIGEST

__all__ = ["BlobStore"]


class BlobStore:
    """Verified blobs by digest; a blob is visible under its name only once verified."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._fetches: dict[str, threading.Lock] = {}
        self._fetches_lock = threading.Lock()

    def path(self, digest: str) -> Path:
        if not DIGEST.match(digest):
            raise PullError(f"not a sha256 digest: {digest!r}")
        return self.root / digest.removeprefix("sha256:")

    def has(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def writer(self, digest: str) -> _BlobWriter:
        return _BlobWriter(self.path(digest))

    @contextlib.contextmanager
    def fetching(self, digest: str) -> Iterator[None]:
        """Held while one thread fetches ``digest``: two jobs pulling one image at once (each
        resolves its tag, config blob included, before the image's own lock) fetch it once;
        the second finds it stored."""
        with self._fetches_lock:
            lock = self._fetches.setdefault(digest, threading.Lock())
        with lock:
            yield


class _BlobWriter:
    def __init__(self, final: Path) -> None:
        self._final = final
        self._partial = final.with_name(f".{final.name}.{os.getpid()}.{id(self)}")
        self.verified = False
        self._file: Any = None

    def __enter__(self) -> _BlobWriter:
        self._file = self._partial.open("wb")
        return self

    def write(self, chunk: bytes) -> None:
        self._file.write(chunk)

    def __exit__(self, *exc: object) -> None:
        self._file.close()
        if self.verified and exc[0] is None:
            self._partial.rename(self._final)
        else:
            self._partial.unlink(missing_ok=True)
