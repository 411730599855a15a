"""LocalEngine: a thread per job walks its Workflow; state in memory and SQLite; per-environment
slots with a queue."""

from __future__ import annotations

import asyncio
import logging
import shutil
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import replace
from pathlib import Path

from workflows import contract
from workflows.dag import StepImages
from workflows.engines.base import EngineError, JobNotFound, JobState, StoredResult
from workflows.engines.local import outcomes as judge
from workflows.engines.local.board import JobBoard, StepEvent
from workflows.engines.local.capability import check_local
from workflows.engines.local.cgroups import CGROUP_ROOT, Cgroups, CgroupsUnavailable
from workflows.engines.local.cgroups_detect import detect_cgroups
from workflows.engines.local.dispatcher import log_sources
from workflows.engines.local.expiry import Lifetime, ResultExpiry
from workflows.engines.local.follow import follow_log
from workflows.engines.local.launcher import Launcher
from workflows.engines.local.quota import DiskQuotas
from workflows.engines.local.restart import resumable_jobs
from workflows.engines.local.runner import JobRunner, ShuttingDown, log_fields
from workflows.engines.local.runtime import (
    ImageSource,
    Runtime,
    SandboxUnavailable,
    require_sandbox_tools,
)
from workflows.engines.local.sandbox import STAGE_MODULE
from workflows.engines.local.scheduler import QueueFull, Scheduler
from workflows.engines.local.stepserver import StepServer
from workflows.engines.local.store import JobRecord, JobStore
from workflows.result_usage import rebuild as rebuild_usage
from workflows.spec import JobSpec
from workflows.status import JobStatus

__all__ = ["NO_CGROUPS", "LocalEngine"]

_log = logging.getLogger("c2d.engine")
NO_CGROUPS = "no usable cgroups"
_STOPPED_QUEUED = "stopped on request while queued (it never started)"


class LocalEngine:
    def __init__(
        self,
        *,
        jobs_dir: Path,
        results_dir: Path,
        db_path: Path,
        runtimes: Mapping[str, Mapping[str, Runtime]],
        images: StepImages | None = None,
        clock: Callable[[], float] = time.time,
        concurrency: Mapping[str, int] | None = None,
        default_concurrency: int = 4,
        max_queued: int = 1000,
        step_env: Mapping[str, str] | None = None,
        fork_steps: bool = True,
        storage_expiry: Lifetime | None = None,
        cgroup_root: Path = CGROUP_ROOT,
        allow_weak_sandbox: bool = False,
        image_source: ImageSource | None = None,
    ) -> None:
        """``fork_steps``: run configure and publish from the pre-started step server;
        ``allow_weak_sandbox``: run with rlimits only where no cgroup backend can limit memory,
        processes and CPU (else SandboxUnavailable);
        ``image_source``: images pulled from registries (none: host runtimes only)."""
        tools = require_sandbox_tools()
        try:
            self._cgroups: Cgroups | None = detect_cgroups(cgroup_root)
        except CgroupsUnavailable as missing:
            if not allow_weak_sandbox:
                raise SandboxUnavailable(f"{NO_CGROUPS}: {missing}") from None
            _log.warning("WEAK SANDBOX: no cgroups (%s); rlimits only", missing)
            self._cgroups = None
        # Absolute: these paths are handed to mount and to the steps, whatever the cwd.
        self._jobs_dir = jobs_dir = jobs_dir.resolve()
        self._results_dir = results_dir = results_dir.resolve()
        self._clock = clock
        for folder in (jobs_dir, results_dir):
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        server = StepServer(log_file=jobs_dir / "stepserver.stderr") if fork_steps else None
        # The algorithm's stage layer has a helper of its own: it imports only that module
        # (about 14 MB against 41 for the steps' helper), and a smaller process forks faster.
        stager = (
            StepServer(log_file=jobs_dir / "stepserver.stderr", modules=(STAGE_MODULE,))
            if fork_steps
            else None
        )
        self._step_server = server
        self._quotas = DiskQuotas.detect()
        self._launcher = Launcher(
            tools=tools,
            cgroups=self._cgroups,
            python=sys.executable,
            log_dir=jobs_dir,
            quotas=self._quotas,
            step_env=step_env,
            step_server=self._step_server,
            stage_server=stager,
        )
        self._store = JobStore(db_path)
        self._board = JobBoard(self._store, results_dir)
        # storage_expiry: environment → seconds results are kept (None: forever); see expiry.py.
        self._expiry = ResultExpiry(
            results_dir, storage_expiry, removed=self._board.forget, clock=clock
        )
        self._runtimes = runtimes
        self._image_source = image_source
        self._runner = JobRunner(
            board=self._board,
            launcher=self._launcher,
            runtimes=runtimes,
            images=images or StepImages(),
            jobs_dir=jobs_dir,
            results_dir=results_dir,
            clock=clock,
            image_source=image_source,
        )
        self._lock = threading.Lock()
        self._threads: dict[str, threading.Thread] = {}
        self._closed = False
        self._listeners: list[Callable[[JobState], None]] = []
        self._scheduler = Scheduler(
            limits=concurrency or {},
            default_limit=default_concurrency,
            max_queued=max_queued,
            start=self._start,
            expire=self._expire,
            clock=clock,
        )
        self.on_finished(self._expiry.finished)
        # What stored results take, measured again: a stop between a publish's commit and its
        # count (or a folder removed by hand) leaves the totals off until here.
        rebuild_usage(results_dir)
        self._reconcile()
        self._expiry.start(self._store)

    @property
    def weak_sandbox(self) -> bool:
        """True when jobs run with rlimits only (no cgroups; allowed by the operator)."""
        return self._cgroups is None

    @property
    def sandbox_description(self) -> str:
        return self._launcher.describe()

    def image_stats(self) -> object | None:
        """The image cache's counters (/metrics), or None without registry images."""
        return self._image_source.stats() if self._image_source else None

    # --- Engine protocol ----------------------------------------------------------------------
    def check(self, spec: JobSpec) -> None:
        check_local(spec, self._runtimes, self._image_source)

    def submit(self, spec: JobSpec) -> JobState:
        self.check(spec)
        # Serialised before anything is created, so a spec that cannot be written leaves no
        # folder behind; a failed write removes what it made.
        text = spec.steps_json()
        volume = self._jobs_dir / spec.job_id
        (volume / "spec").mkdir(parents=True, mode=0o700)
        spec_file = volume / "spec" / Path(contract.SPEC_FILE).name
        try:
            spec_file.write_text(text)
            spec_file.chmod(0o600)
        except BaseException:
            shutil.rmtree(volume, ignore_errors=True)
            raise
        record = JobRecord(spec=spec, status=JobStatus.STARTED)

        def store(start: bool) -> None:
            # Once the job has its place and before anything can run it: a start refused for a
            # full queue is never stored, so no job is left in its owner's list.
            self._board.add(record if start else replace(record, status=JobStatus.QUEUED))
            _log.info("job submitted", extra=log_fields(spec))

        try:
            started = self._scheduler.admit(
                spec.job_id, spec.environment, _queue_deadline(record), store
            )
        except QueueFull as error:
            shutil.rmtree(volume, ignore_errors=True)
            raise EngineError(str(error)) from error
        if not started:
            _log.info("job queued", extra=log_fields(spec))
        return self._board.state(spec.job_id)

    def get(self, job_id: str) -> JobState:
        return self._board.state(job_id)

    async def get_async(self, job_id: str) -> JobState:
        # A finished job missing from the board's cache is read from SQLite and its manifest.
        return await asyncio.to_thread(self._board.state, job_id)

    def list_for_owner(self, owner: str) -> list[JobState]:
        return self._board.for_owner(owner)

    def active_jobs(self, environment: str) -> int:
        return sum(1 for r in self._board.unfinished() if r.spec.environment == environment)

    def unfinished(self, environment: str) -> list[JobState]:
        return [r.as_state() for r in self._board.unfinished() if r.spec.environment == environment]

    def stop(self, job_id: str) -> JobState:
        record = self._board.record(job_id)
        if record.date_finished is None:
            if self._scheduler.withdraw(job_id, record.spec.environment):
                # It never started: it leaves the queue now, with nothing to run or publish.
                self._end_unstarted(record, JobStatus.FINISHED, _STOPPED_QUEUED)
                return self._board.state(job_id)
            self._board.request_stop(job_id)
            self._runner.stop(job_id)
        return self._board.state(job_id)

    def result(self, job_id: str, index: int) -> StoredResult:
        for file in self._board.state(job_id).results:
            stored = StoredResult.in_storage(self._results_dir, job_id, file)
            if file.index == index and stored.path.is_file():
                return stored
        self._expiry.check(self._board.state(job_id))
        raise JobNotFound(f"job {job_id} has no result {index}")

    def algorithm_log(self, job_id: str) -> AsyncIterator[bytes]:
        cap = self._board.record(job_id).spec.limits.log_bytes
        live, stored = log_sources(self._jobs_dir, self._results_dir, job_id)

        def progress() -> str:
            record = self._board.record(job_id)
            if record.date_finished is not None:
                return "finished"
            return "ended" if "algorithm" in record.outcomes else "running"

        return follow_log(job_id, live, stored, progress, self._board.events, cap=cap)

    def on_finished(self, listener: Callable[[JobState], None]) -> None:
        with self._lock:
            self._listeners.append(listener)

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._scheduler.close()
        self._expiry.close()
        self._runner.close()
        for thread in list(self._threads.values()):
            thread.join(timeout=10)
        self._launcher.close()  # the spare quota images and the step server
        self._store.close()

    # --- what this engine adds: metrics and queue views ---------------------------------------
    def on_change(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(job_id)`` after each change of a job's state, once ``get`` shows it
        (from the thread that made the change)."""
        self._board.events.subscribe_every_job(listener)

    def on_step(self, listener: Callable[[StepEvent], None]) -> None:
        """Call ``listener`` each time a step of a job ends (durations, sandbox kills)."""
        self._runner.on_step(listener)

    def queue_depths(self) -> dict[str, int]:
        return self._scheduler.depths()

    def job_counts(self) -> dict[tuple[str, int], int]:
        return self._board.counts()

    def slots(self, environment: str) -> tuple[int, int]:
        """The environment's job slots and how many of them run a job now."""
        return self._scheduler.limit(environment), self._scheduler.running(environment)

    def recent_jobs(self, limit: int) -> list[JobState]:
        """Every unfinished job and the last ``limit`` created (the operator's page)."""
        return self._board.recent(limit)

    # --- queue --------------------------------------------------------------------------------
    def _enqueue(self, record: JobRecord) -> None:
        """A job found unfinished at start-up goes back in line (or ends: its queue is full)."""
        spec = record.spec
        try:
            started = self._scheduler.admit(spec.job_id, spec.environment, _queue_deadline(record))
        except QueueFull as error:
            self._remove_files(spec.job_id)
            self._board.save(
                record, status=JobStatus.QUEUE_EXPIRED, date_finished=self._now(), reason=str(error)
            )
            raise EngineError(str(error)) from error
        if not started and record.status != JobStatus.QUEUED:
            self._board.save(record, status=JobStatus.QUEUED)
            _log.info("job queued", extra=log_fields(spec))

    def _expire(self, job_id: str) -> None:
        record = self._board.record(job_id)
        wait = record.spec.queue_max_wait_time
        reason = f"no slot became free within queueMaxWaitTime ({wait} s)"
        self._end_unstarted(record, JobStatus.QUEUE_EXPIRED, reason)
        _log.info("job expired in the queue", extra=log_fields(record.spec))

    def _end_unstarted(self, record: JobRecord, status: JobStatus, reason: str) -> None:
        """A job that leaves the queue without running: its files go, its end is announced."""
        job_id = record.spec.job_id
        # A job resumed after a restart may have run its algorithm: its disk may be mounted.
        self._remove_files(job_id)
        stopped = {"stop_requested": True} if reason == _STOPPED_QUEUED else {}
        self._board.save(record, status=status, date_finished=self._now(), reason=reason, **stopped)
        if stopped:
            _log.info("job stopped in the queue", extra=log_fields(record.spec))
        self._notify(self._board.state(job_id))

    # --- running a job ------------------------------------------------------------------------
    def _start(self, job_id: str) -> None:
        record = self._board.record(job_id)
        thread = threading.Thread(target=self._run, args=(record,), name=f"job-{job_id}")
        thread.daemon = True
        with self._lock:
            if self._closed:
                return
            self._threads[job_id] = thread
        thread.start()

    def _run(self, record: JobRecord) -> None:
        spec = record.spec
        try:
            if record.status == JobStatus.QUEUED:
                record = self._board.save(record, status=JobStatus.STARTED)
            record = self._finish(self._runner.walk(record))
            # After the end is visible: unmounting the job's disk and deleting its folder take
            # tens of ms that no consumer should wait for. A crash in between leaves a folder
            # that the next start removes (_sweep_finished).
            self._remove_files(spec.job_id)
        except ShuttingDown:
            # No mount outlives the provider (it may never start again); the disk image stays
            # for the next start to mount again, so that publish stores what the algorithm wrote.
            if self._quotas is not None:
                self._quotas.set_aside(self._jobs_dir / spec.job_id)
            _log.info("job left for the next start to resume", extra=log_fields(spec))
        except Exception:
            _log.exception("the engine failed", extra=log_fields(spec))
            record = self._finish(
                self._board.save(
                    record,
                    failure=record.failure or JobStatus.RESULTS_UPLOAD_FAILED,
                    reason=record.reason or "internal error in the local engine",
                )
            )
            self._remove_files(spec.job_id)
        finally:
            with self._lock:
                self._threads.pop(spec.job_id, None)
                closed = self._closed
        if not closed:
            self._scheduler.release(spec.job_id, spec.environment)
        if record.date_finished is not None:
            self._notify(self._board.state(spec.job_id))

    def _notify(self, state: JobState) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(state)
            except Exception:
                _log.exception("a finish listener failed", extra=log_fields(state.spec))

    def _finish(self, record: JobRecord) -> JobRecord:
        """The job's end, saved; its data then leaves the working area (the caller removes it)."""
        if record.date_finished is not None:
            return record
        status = judge.final_status(record)
        record = self._board.save(record, status=status, date_finished=self._now())
        _log.info("job finished: %s", record.status.name.lower(), extra=log_fields(record.spec))
        return record

    # --- restart ------------------------------------------------------------------------------
    def _reconcile(self) -> None:
        """Unfinished jobs go back in order: queued ones keep their deadline, others resume."""
        self._sweep_finished()
        for record in resumable_jobs(
            self._store, self._now(), self._jobs_dir, cgroups=self._cgroups, quotas=self._quotas
        ):
            self._board.add(record, stored=True)
            _log.info("job resumed after a restart", extra=log_fields(record.spec))
            try:
                self._enqueue(record)
            except EngineError:
                _log.warning("job dropped: the queue is full", extra=log_fields(record.spec))

    def _sweep_finished(self) -> None:
        """Working folders of jobs that had ended when the provider stopped (it stopped between
        saving the end and removing the folder) go now, mounts first."""
        for folder in self._jobs_dir.iterdir():
            if not folder.is_dir() or folder.is_symlink():
                continue
            record = self._store.get(folder.name)
            if record is not None and record.date_finished is not None:
                _log.info(
                    "removing the working folder of a finished job", extra=log_fields(record.spec)
                )
                self._remove_files(folder.name)

    def _remove_files(self, job_id: str) -> None:
        """Unmount the job's disk, then delete its working folder: deleted while mounted, the
        files would go but the mounts (and their loop devices) would stay."""
        self._launcher.release(self._jobs_dir / job_id)
        shutil.rmtree(self._jobs_dir / job_id, ignore_errors=True)

    def _now(self) -> int:
        return int(self._clock())


def _queue_deadline(record: JobRecord) -> int | None:
    """When the job leaves the queue unstarted: only a job that never started can expire (a
    resumed one has already waited its turn)."""
    wait = record.spec.queue_max_wait_time
    waiting = record.status in (JobStatus.STARTED, JobStatus.QUEUED) and not record.outcomes
    return record.spec.created_at + wait if wait and waiting else None
