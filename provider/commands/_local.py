"""What the operator commands share: this machine's job state (read-only) and progress output."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from provider.errors import NotFound
from provider.settings import Settings, load_settings
from workflows.engines.local.follow import watch_file
from workflows.engines.local.store import JobRecord, JobStore
from workflows.status import JobStatus, status_text

__all__ = ["LocalState", "Progress", "wait_for_change"]

# Where a job is on its way, for a progress bar: the fraction of the DAG behind it.
_STAGE = {
    JobStatus.STARTED: 0.02,
    JobStatus.QUEUED: 0.0,
    JobStatus.CONFIGURING_VOLUMES: 0.1,
    JobStatus.PROVISIONING: 0.3,
    JobStatus.RUNNING_ALGORITHM: 0.4,
    JobStatus.PUBLISHING_RESULTS: 0.9,
}


class LocalState:
    """The job store and folders under ``C2D_HOME``, as a running provider writes them."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or load_settings()
        self.db_path = self.settings.state_dir / "jobs.sqlite"
        if not self.db_path.exists():
            raise NotFound(f"no job state in {self.settings.home} (set C2D_HOME)")
        self.store = JobStore(self.db_path, read_only=True)

    def close(self) -> None:
        self.store.close()

    def job(self, job_id: str) -> JobRecord:
        """The job with this id, or with this unique id prefix."""
        record = self.store.get(job_id)
        if record is None and 4 <= len(job_id) < 32:
            matches = [r for r in self.store.recent(100_000) if r.spec.job_id.startswith(job_id)]
            if len(matches) == 1:
                record = matches[0]
        if record is None:
            raise NotFound(f"job {job_id} not found in {self.settings.home}")
        return record

    @property
    def wal_path(self) -> Path:
        """SQLite's write-ahead log: written each time the provider changes a job."""
        return self.db_path.with_name("jobs.sqlite-wal")

    def result_dir(self, job_id: str) -> Path:
        return self.settings.results_dir / job_id


def wait_for_change(state: LocalState, timeout: float = 1.0) -> None:
    """Sleep until the provider writes its job state (inotify), or at most ``timeout`` s."""

    async def wait() -> None:
        event = asyncio.Event()
        unwatch = watch_file(str(state.wal_path), event)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout)
        finally:
            if unwatch is not None:
                unwatch()

    asyncio.run(wait())


class Progress:
    """One status line redrawn in place on a terminal; plain lines on change otherwise."""

    def __init__(self, out: TextIO = sys.stderr, clock: Callable[[], float] = time.monotonic):
        self._out = out
        self._tty = out.isatty()
        self._clock = clock
        self._started = clock()
        self._last = ""

    def job(self, record: JobRecord) -> None:
        status = record.status
        fraction = 1.0 if record.date_finished else _STAGE.get(status, 0.0)
        label = f"{status_text(status)} ({int(status)})"
        self.show(fraction, label, changed_key=label)

    def bytes(self, done: int, total: int, name: str) -> None:
        fraction = done / total if total else 1.0
        self.show(fraction, f"{name} {done / 2**20:.1f}/{total / 2**20:.1f} MiB", changed_key=name)

    def show(self, fraction: float, label: str, *, changed_key: str) -> None:
        if self._tty:
            width = 30
            filled = int(width * min(max(fraction, 0.0), 1.0))
            bar = "#" * filled + "-" * (width - filled)
            elapsed = self._clock() - self._started
            self._out.write(f"\r[{bar}] {fraction:4.0%} {elapsed:6.1f}s  {label}\033[K")
            self._out.flush()
        elif changed_key != self._last:
            self._out.write(label + "\n")
            self._out.flush()
        self._last = changed_key

    def done(self) -> None:
        if self._tty:
            self._out.write("\n")
            self._out.flush()
