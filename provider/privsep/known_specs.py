"""The specs of the jobs the API has lately asked the sandbox helper about.

A job's spec never changes once the job exists (a second submit of its id is refused), yet it
is most of the job's state on the wire: the algorithm's code, the datasets. A status poll then
asks the helper only for what changes (the ``status`` request) and joins it with the spec kept
here. The newest jobs asked about are kept, at most ``max_jobs`` of them and ``max_bytes`` of
their encoded size (an algorithm may carry up to a megabyte of code).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from workflows.spec import JobSpec

__all__ = ["KnownSpecs"]


class KnownSpecs:
    def __init__(self, max_jobs: int = 1000, max_bytes: int = 64 * 1024 * 1024) -> None:
        self._max_jobs = max_jobs
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        self._specs: OrderedDict[str, tuple[JobSpec, int]] = OrderedDict()
        self._bytes = 0

    def get(self, job_id: str) -> JobSpec | None:
        with self._lock:
            kept = self._specs.get(job_id)
            if kept is None:
                return None
            self._specs.move_to_end(job_id)
            return kept[0]

    def keep(self, spec: JobSpec, size: int) -> None:
        """Keep ``spec``, ``size`` bytes on the wire; the longest unused go first."""
        if size > self._max_bytes:
            return
        with self._lock:
            old = self._specs.pop(spec.job_id, None)
            if old is not None:
                self._bytes -= old[1]
            self._specs[spec.job_id] = (spec, size)
            self._bytes += size
            while len(self._specs) > self._max_jobs or self._bytes > self._max_bytes:
                _, (_, dropped) = self._specs.popitem(last=False)
                self._bytes -= dropped

    def __len__(self) -> int:
        with self._lock:
            return len(self._specs)
