"""Reading results from the result store on S3 (``workflows/result_store.py``), for any replica."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import httpx

from steps.readers.s3client import S3Client, S3Error
from steps.upload.result_store import STORE_POLICY
from workflows import contract
from workflows.engines.base import ResultFile
from workflows.manifest import ManifestError, parse_manifest
from workflows.result_store import ResultStore

__all__ = ["S3ResultReader"]

_CHUNK = 1024 * 1024
_MANIFEST_CAP = 1024 * 1024 + 1


class S3ResultReader:
    def __init__(self, store: ResultStore, *, timeout: float = 60.0) -> None:
        self._store = store
        self._timeout = timeout

    @property
    def description(self) -> str:
        return f"result store {self._store.endpoint}/{self._store.bucket}/{self._store.prefix}"

    def manifest(self, job_id: str) -> list[ResultFile]:
        body = b"".join(self.open(job_id, contract.RESULTS_MANIFEST, 0, _MANIFEST_CAP))
        try:
            return parse_manifest(body)
        except ManifestError as error:
            raise OSError(f"results.json of job {job_id} in the result store: {error}") from None

    def open(self, job_id: str, name: str, start: int, end: int | None) -> Iterator[bytes]:
        wanted = None if (start, end) == (0, None) else f"bytes={start}-{_last(end)}"
        stack = ExitStack()
        try:
            client = stack.enter_context(
                S3Client(self._store.access(job_id, name), STORE_POLICY, self._timeout)
            )
            response = stack.enter_context(client.get(wanted))
            if response.status_code == 416:  # the client answers it (downloads relay it)
                raise S3Error(f"{name} is shorter than the range {wanted}", 416)
        except S3Error as error:
            stack.close()
            if error.status == 404:
                missing = f"{name} of job {job_id} is not in the result store"
                raise FileNotFoundError(missing) from None
            raise OSError(f"the result store refused {name}: {error}") from None
        except httpx.HTTPError as error:
            stack.close()
            raise OSError(f"the result store cannot be reached: {error}") from None
        return _chunks(response, stack)


def _last(end: int | None) -> str:
    return "" if end is None else str(end - 1)


def _chunks(response: httpx.Response, stack: ExitStack) -> Iterator[bytes]:
    with stack:
        yield from response.iter_bytes(_CHUNK)
