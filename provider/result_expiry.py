"""Results in the result store expire, as the local engine's do: one replica (the settlement
leader) deletes each job's objects once its newest is older than the storage expiry.

A job's environment is not in the store, so one expiry serves all jobs: the longest
``storageExpiry`` of the configured environments (no result goes before its own expiry).
``results.json`` goes first, so that a reader sees no results rather than part of them.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

import httpx

from provider.statedb.leader import Leadership
from steps.readers.s3client import S3Client, S3Error
from steps.upload.result_store import STORE_POLICY
from workflows import contract
from workflows.result_store import ResultStore

__all__ = ["ResultExpiry"]

_log = logging.getLogger("c2d.results")
_TIMEOUT_SECONDS = 60.0


class ResultExpiry:
    def __init__(
        self,
        store: ResultStore,
        *,
        keep_seconds: int,
        leader: Leadership,
        clock: Callable[[], float],
        interval: float = 3600.0,
    ) -> None:
        self._store = store
        self._keep = keep_seconds
        self._leader = leader
        self._clock = clock
        self._interval = interval
        self._closing = threading.Event()

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._run, name="result-expiry", daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        self._closing.set()

    def sweep(self) -> list[str]:
        """One pass (by the leader only); the job ids whose results it deleted."""
        if not self._leader.is_leader():
            return []
        newest: dict[str, datetime] = {}
        keys: dict[str, list[str]] = defaultdict(list)
        with self._client() as client:
            for key, modified in client.list_objects(self._store.prefix):
                job_id, slash, _ = key[len(self._store.prefix) :].partition("/")
                if not slash or not job_id:
                    continue
                keys[job_id].append(key)
                newest[job_id] = max(modified, newest.get(job_id, modified))
        expired = [
            job for job, when in newest.items() if self._clock() - when.timestamp() > self._keep
        ]
        for job_id in expired:
            manifest = self._store.key(job_id, contract.RESULTS_MANIFEST)
            for key in sorted(keys[job_id], key=lambda k: k != manifest):
                self._delete(key)
            _log.info("job %s: results expired from the result store", job_id)
        return expired

    def _delete(self, key: str) -> None:
        access = self._store.access("-", "-").model_copy(update={"object_key": key})
        with S3Client(access, STORE_POLICY, _TIMEOUT_SECONDS) as client:
            client.delete()

    def _client(self) -> S3Client:
        # Bucket-wide calls: the object key does not count.
        return S3Client(self._store.access("-", "-"), STORE_POLICY, _TIMEOUT_SECONDS)

    def _run(self) -> None:
        while not self._closing.wait(self._interval):
            try:
                self.sweep()
            except (S3Error, httpx.HTTPError, OSError) as error:
                _log.warning(
                    "result expiry failed (%s); next pass in %.0f s", error, self._interval
                )
