"""The jobs whose state the API may keep: the helper announces a change only for these.

The API keeps a polled job's state until the helper announces that the job changed
(``polled_states.py``). A job changes about a dozen times in its life; announcing each change
of every job cost the helper and the API more than the polls it spared. So a job is watched
from the moment its state is asked for (before the answer is computed) until its next change,
which is then announced once; a job nobody asked about since its last change is not announced.
A state the API keeps was computed after its job was last watched, so the job's next change
is announced, or an earlier one was (after the API took its mark, so the state is dropped).

At most ``max_jobs`` are watched; the least recently asked goes first and is announced as it
goes, so that the API drops its kept state too.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

__all__ = ["WatchedJobs"]


class WatchedJobs:
    def __init__(self, max_jobs: int = 20_000) -> None:
        self._max_jobs = max_jobs
        self._lock = threading.Lock()
        self._jobs: OrderedDict[str, None] = OrderedDict()

    def asked(self, job_id: str) -> list[str]:
        """Watch ``job_id`` (asked for now); the jobs no longer watched, to announce."""
        with self._lock:
            self._jobs[job_id] = None
            self._jobs.move_to_end(job_id)
            dropped = []
            while len(self._jobs) > self._max_jobs:
                dropped.append(self._jobs.popitem(last=False)[0])
            return dropped

    def changed(self, job_id: str) -> bool:
        """The job has changed; True when it was watched (its change is to be announced)."""
        with self._lock:
            return self._jobs.pop(job_id, 0) is None

    def __len__(self) -> int:
        with self._lock:
            return len(self._jobs)
