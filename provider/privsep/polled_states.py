"""The states of the jobs the API polls, kept until the sandbox helper says they changed.

The helper announces each change of a job's state on the events connection (``changed``, sent
once its answers show the change). A repeated poll of a job kept here is answered without a
call to the helper: the call (a frame each way, the helper's lookup, the decoding) was most of
a poll's CPU, and a job waiting in the queue is polled many times between two changes.

An answer is kept only if no change of any job was announced while it was on the wire: an
answer computed before its job's change but read after the announcement is never kept. One
computed before the change and kept before the announcement arrives is dropped by it. So a
kept state is never older than the last announcement read. The events connection lives as long
as the API process (its end stops the process), so no announcement is missed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from workflows.engines.base import JobState

__all__ = ["PolledStates"]


class PolledStates:
    def __init__(self, max_jobs: int = 10_000) -> None:
        self._max_jobs = max_jobs
        self._lock = threading.Lock()
        self._states: OrderedDict[str, JobState] = OrderedDict()
        self._announced = 0

    def get(self, job_id: str) -> JobState | None:
        with self._lock:
            state = self._states.get(job_id)
            if state is not None:
                self._states.move_to_end(job_id)
            return state

    def mark(self) -> int:
        """Taken before a job's state is asked for; given back to ``keep`` with the answer."""
        with self._lock:
            return self._announced

    def keep(self, state: JobState, mark: int) -> bool:
        """Keep ``state`` unless a change was announced since ``mark``; True when kept."""
        with self._lock:
            if self._announced != mark:
                return False
            self._states[state.spec.job_id] = state
            self._states.move_to_end(state.spec.job_id)
            while len(self._states) > self._max_jobs:
                self._states.popitem(last=False)
            return True

    def changed(self, job_id: str) -> None:
        """The job's state has changed (or may have: a stop asked through this process)."""
        with self._lock:
            self._announced += 1
            self._states.pop(job_id, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._states)
