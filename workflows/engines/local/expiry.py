"""Storage expiry: one timer thread removes a finished job's results when its storageExpiry ends.

No polling: the thread sleeps until the earliest deadline it knows; a job that finishes wakes it
only when its own deadline comes first. After a restart the thread first looks at what result
storage still holds (``results/<jobId>/``) and schedules each finished job found there again, so
a deadline that passed while the provider was down is honoured as soon as it is back.

The job record is never touched: the status stays what the job ended with, the result list
becomes empty (the manifest is gone with the folder), and asking for a result says it expired.
"""

from __future__ import annotations

import heapq
import logging
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

from workflows.engines.base import JobState, ResultsExpired
from workflows.engines.local.store import JobStore
from workflows.result_usage import remove_results

__all__ = ["Lifetime", "ResultExpiry"]

_log = logging.getLogger("c2d.engine")
_JOB_FOLDER = re.compile(r"^[0-9a-f]{32}$")

# Environment id → seconds a finished job's results are kept.
Lifetime = Callable[[str], int]


class ResultExpiry:
    """Removes ``results_dir/<jobId>`` at ``dateFinished + lifetime(environment)``.

    ``lifetime`` None keeps results forever (no thread). ``removed(job_id)`` is called after a
    removal, so caches of the job's view can forget their result list.
    """

    def __init__(
        self,
        results_dir: Path,
        lifetime: Lifetime | None,
        *,
        removed: Callable[[str], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._results_dir = results_dir
        self._lifetime = lifetime
        self._removed = removed
        self._clock = clock
        self._due: list[tuple[float, str]] = []
        self._changed = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None

    def start(self, store: JobStore) -> None:
        """Start the timer; it first schedules the finished jobs whose results are still kept."""
        if self._lifetime is None:
            return
        self._thread = threading.Thread(
            target=self._run, args=(store,), name="c2d-expiry", daemon=True
        )
        self._thread.start()

    def finished(self, state: JobState) -> None:
        """A job has ended (an engine finish listener): schedule the removal of its results."""
        if state.date_finished is not None:
            self._schedule(state.spec.job_id, state.spec.environment, state.date_finished)

    def check(self, state: JobState) -> None:
        """Raise ``ResultsExpired`` when the job's results are past their storage expiry."""
        deadline = self._deadline(state.spec.environment, state.date_finished)
        if deadline is not None and deadline <= self._clock():
            raise ResultsExpired(
                f"the results of job {state.spec.job_id} expired at {int(deadline)}"
                f" (kept {int(deadline) - (state.date_finished or 0)} s after the job finished)"
                " and were removed"
            )

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _deadline(self, environment: str, date_finished: int | None) -> float | None:
        if self._lifetime is None or date_finished is None:
            return None
        return float(date_finished + self._lifetime(environment))

    def _schedule(self, job_id: str, environment: str, date_finished: int) -> None:
        deadline = self._deadline(environment, date_finished)
        if deadline is None:
            return
        with self._changed:
            earliest = self._due[0][0] if self._due else None
            heapq.heappush(self._due, (deadline, job_id))
            if earliest is None or deadline < earliest:
                self._changed.notify_all()

    def _run(self, store: JobStore) -> None:
        try:
            self._rescan(store)
        except Exception:
            _log.exception("storage expiry: cannot list the stored results")
        while True:
            with self._changed:
                while True:
                    if self._closed:
                        return
                    wait = self._due[0][0] - self._clock() if self._due else None
                    if wait is not None and wait <= 0:
                        _, job_id = heapq.heappop(self._due)
                        break
                    self._changed.wait(wait)
            self._remove(job_id)

    def _rescan(self, store: JobStore) -> None:
        """After a (re)start: every finished job whose results folder is still there."""
        for folder in sorted(self._results_dir.iterdir()):
            if self._closed:
                return
            if not _JOB_FOLDER.match(folder.name) or not folder.is_dir():
                continue
            record = store.get(folder.name)
            if record is not None and record.date_finished is not None:
                self._schedule(folder.name, record.spec.environment, record.date_finished)

    def _remove(self, job_id: str) -> None:
        folder = self._results_dir / job_id
        if not folder.exists():
            return
        try:
            remove_results(folder)
        except OSError as error:
            _log.warning(
                "storage expiry: cannot remove the results of job %s: %s", job_id, error.strerror
            )
        _log.info("results removed: storage expiry reached", extra={"job_id": job_id})
        self._removed(job_id)
