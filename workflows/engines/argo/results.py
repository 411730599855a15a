"""Where the Argo engine finds a finished job's results: the result volume, or the result store.

With a ``ResultReader`` (the provider's result store on S3) the manifest and the files are read
from it, so any replica serves any job; without, from the ``c2d-results`` volume mounted at
``results_dir``. A found manifest never changes (publish writes it last), so it is kept.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path

from workflows.engines.base import RemoteResult, ResultFile, ResultReader, StoredResult
from workflows.jobfile_stream import stream_job_file
from workflows.jobfiles import JobFilePath
from workflows.manifest import read_manifest

__all__ = ["ClusterResults"]

_STORED_LOG = "algorithm.log"  # publish's name for it in result storage
_KEPT_MANIFESTS = 10_000


class ClusterResults:
    def __init__(self, results_dir: Path, reader: ResultReader | None = None) -> None:
        self._results_dir = results_dir
        self._reader = reader
        self._lock = threading.Lock()
        self._manifests: dict[str, list[ResultFile]] = {}

    def files(self, job_id: str) -> list[ResultFile]:
        """The job's result files; none while (or if) no manifest is readable."""
        with self._lock:
            known = self._manifests.get(job_id)
        if known is not None:
            return known
        try:
            if self._reader is not None:
                found = self._reader.manifest(job_id)
            else:
                found = list(read_manifest(self._results_dir / job_id))
        except (OSError, ValueError):
            return []
        with self._lock:
            if len(self._manifests) >= _KEPT_MANIFESTS:
                self._manifests.pop(next(iter(self._manifests)))
            self._manifests[job_id] = found
        return found

    def stored(self, job_id: str, file: ResultFile) -> StoredResult | RemoteResult:
        if self._reader is not None:
            return RemoteResult(file, job_id, self._reader)
        return StoredResult.in_storage(self._results_dir, job_id, file)

    async def algorithm_log(self, job_id: str, cap: int) -> AsyncIterator[bytes]:
        """The algorithm's log as publish stored it, at most ``cap`` bytes."""
        if self._reader is None:
            # Written by publish, from what the algorithm left: opened as a job's file.
            stored = JobFilePath(self._results_dir, f"{job_id}/{_STORED_LOG}")
            async for chunk in stream_job_file(stored, cap):
                yield chunk
            return
        try:
            chunks = await asyncio.to_thread(self._reader.open, job_id, _STORED_LOG, 0, cap)
        except FileNotFoundError:
            return
        except OSError:
            yield b"[the algorithm's log cannot be read from the result store now]\n"
            return
        while chunk := await asyncio.to_thread(next, chunks, b""):
            yield chunk
