"""LocalEngine: each job's Workflow walked by a thread, its steps as processes, state in SQLite."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

from workflows import contract
from workflows.dag import StepImages, build_workflow
from workflows.engines.base import EngineError, JobNotFound, JobState, ResultFile, StoredResult
from workflows.engines.local import outcomes as judge
from workflows.engines.local.cgroups import Cgroups
from workflows.engines.local.dispatcher import JobVolumes, StepPlan, plan_step
from workflows.engines.local.launcher import Launcher, RunningStep, StepExit
from workflows.engines.local.orchestrator import DagTask, next_tasks, read_dag
from workflows.engines.local.runtime import Runtime, require_sandbox_tools
from workflows.engines.local.store import JobRecord, JobStore
from workflows.spec import JobSpec
from workflows.status import JobStatus

__all__ = ["LocalEngine"]

_log = logging.getLogger("c2d.engine")
_LOG_CHUNK = 64 * 1024
# How often a live log reader looks for new output while the algorithm runs.
_LOG_POLL_SECONDS = 0.1


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
    ) -> None:
        tools = require_sandbox_tools()
        self._cgroups = Cgroups.detect()
        # Absolute: these paths are handed to mount and to the steps, whatever the cwd.
        self._jobs_dir = jobs_dir = jobs_dir.resolve()
        self._results_dir = results_dir = results_dir.resolve()
        self._runtimes = runtimes
        self._images = images or StepImages()
        self._clock = clock
        for folder in (jobs_dir, results_dir):
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._launcher = Launcher(
            tools=tools, cgroups=self._cgroups, python=sys.executable, log_dir=jobs_dir
        )
        self._store = JobStore(db_path)
        self._lock = threading.Lock()
        self._records: dict[str, JobRecord] = {}
        self._running: dict[str, RunningStep] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._closed = False
        self._listeners: list[Callable[[JobState], None]] = []
        self._reconcile()

    @property
    def sandbox_description(self) -> str:
        limits = self._cgroups.describe() if self._cgroups else "rlimits only (no cgroups)"
        return f"bubblewrap, no network, uid 1000, limits: {limits}"

    # --- Engine protocol ----------------------------------------------------------------------
    def submit(self, spec: JobSpec) -> JobState:
        self._runtime(spec)
        if spec.network:
            # The sandbox has no network namespace to share; say so rather than run offline.
            raise EngineError("the local engine cannot give an algorithm network access")
        volume = self._jobs_dir / spec.job_id
        (volume / "spec").mkdir(parents=True, mode=0o700)
        spec_file = volume / "spec" / Path(contract.SPEC_FILE).name
        spec_file.write_text(spec.model_dump_json())
        spec_file.chmod(0o600)
        record = JobRecord(spec=spec, status=JobStatus.STARTED)
        self._store.insert(record)
        self._start(record)
        return self._state(record)

    def get(self, job_id: str) -> JobState:
        return self._state(self._record(job_id))

    def list_for_owner(self, owner: str) -> list[JobState]:
        return [self._state(self._cached(r)) for r in self._store.for_owner(owner)]

    def active_jobs(self, environment: str) -> int:
        with self._lock:
            return sum(
                1
                for job_id in self._threads
                if self._records[job_id].spec.environment == environment
            )

    def stop(self, job_id: str) -> JobState:
        record = self._record(job_id)
        if record.date_finished is None:
            with self._lock:
                record = self._store.update(self._records[job_id], stop_requested=True)
                self._records[job_id] = record
                running = self._running.get(job_id)
            if running is not None:
                running.stop()
        return self._state(record)

    def result(self, job_id: str, index: int) -> StoredResult:
        for file in self._results(self._record(job_id)):
            if file.index == index:
                return StoredResult(file, self._results_dir / job_id / file.filename)
        raise JobNotFound(f"job {job_id} has no result {index}")

    async def algorithm_log(self, job_id: str) -> AsyncIterator[bytes]:
        record = self._record(job_id)
        live = self._jobs_dir / job_id / "volume" / contract.ALGORITHM_LOG.lstrip("/")
        stored = self._results_dir / job_id / "algorithm.log"
        handle = None
        try:
            while True:
                if handle is None:
                    with contextlib.suppress(OSError):
                        handle = (stored if record.date_finished else live).open("rb")
                chunk = handle.read(_LOG_CHUNK) if handle else b""
                if chunk:
                    yield chunk
                    continue
                record = self._record(job_id)
                if "algorithm" in record.outcomes or record.date_finished:
                    if handle is None and stored.exists():
                        handle = stored.open("rb")
                        continue
                    return
                await asyncio.sleep(_LOG_POLL_SECONDS)
        finally:
            if handle is not None:
                handle.close()

    def on_finished(self, listener: Callable[[JobState], None]) -> None:
        with self._lock:
            self._listeners.append(listener)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            running = list(self._running.values())
        for step in running:
            step.stop()
        for thread in list(self._threads.values()):
            thread.join(timeout=10)
        self._store.close()

    # --- running a job ------------------------------------------------------------------------
    def _start(self, record: JobRecord) -> None:
        thread = threading.Thread(
            target=self._run, args=(record,), name=f"job-{record.spec.job_id}", daemon=True
        )
        with self._lock:
            self._records[record.spec.job_id] = record
            self._threads[record.spec.job_id] = thread
        thread.start()

    def _run(self, record: JobRecord) -> None:
        job_id = record.spec.job_id
        try:
            record = self._finish(self._walk(record))
        except _ShuttingDown:
            _log.info("job %s: left for the next start to resume", job_id)
        except Exception:
            _log.exception("job %s: the engine failed", job_id)
            record = self._finish(
                self._save(
                    record,
                    failure=record.failure or JobStatus.RESULTS_UPLOAD_FAILED,
                    reason=record.reason or "internal error in the local engine",
                )
            )
        finally:
            with self._lock:
                self._threads.pop(job_id, None)
                self._records[job_id] = record
                listeners = list(self._listeners)
        if record.date_finished is not None:
            self._notify(listeners, self._state(record))

    def _notify(self, listeners: list[Callable[[JobState], None]], state: JobState) -> None:
        for listener in listeners:
            try:
                listener(state)
            except Exception:
                _log.exception("job %s: a finish listener failed", state.spec.job_id)

    def _walk(self, record: JobRecord) -> JobRecord:
        workflow = build_workflow(record.spec, self._images).to_dict()
        tasks = read_dag(workflow)
        while True:
            ready, omitted = next_tasks(tasks, record.outcomes)
            for task in omitted:
                record = self._save(record, outcomes={**record.outcomes, task.name: "Omitted"})
            if not ready:
                if omitted:
                    continue
                return record
            for task in ready:
                record = self._run_task(record, task, workflow)

    def _run_task(self, record: JobRecord, task: DagTask, workflow: dict[str, Any]) -> JobRecord:
        job_id = record.spec.job_id
        plan = plan_step(workflow, task.template, self._volumes(record.spec))
        if record.stop_requested and plan.kind == "algorithm":
            return self._save(record, outcomes={**record.outcomes, task.name: "Skipped"})
        record = self._save(record, **judge.before(task.name, self._now()))
        step = self._launch(record, plan)
        # publish always runs to its end: it is what gets the logs out of a stopped job.
        stoppable = task.name != "publish"
        with self._lock:
            if stoppable:
                self._running[job_id] = step
                if self._records[job_id].stop_requested or self._closed:
                    step.stop()
        deadline = plan.deadline_seconds or self._launcher.deadline_for_trusted_steps
        exit = step.wait(deadline)
        with self._lock:
            self._running.pop(job_id, None)
            stop_requested = self._records[job_id].stop_requested
        changes = judge.after(
            task.name, exit, record, self._admin_log_tail(job_id, task.name), self._now()
        )
        if exit.stopped and not stop_requested:
            # Stopped by close(): the provider is shutting down; a restart resumes the job.
            raise _ShuttingDown
        return self._save(
            record, outcomes={**record.outcomes, task.name: _outcome(exit)}, **changes
        )

    def _launch(self, record: JobRecord, plan: StepPlan) -> RunningStep:
        job_dir = self._jobs_dir / record.spec.job_id
        if plan.kind == "trusted":
            for mount in plan.mounts:
                if mount.source is not None and not mount.read_only:
                    mount.source.mkdir(parents=True, exist_ok=True)
            return self._launcher.start_trusted(plan, job_dir / "steps.stderr")
        return self._launcher.start_algorithm(
            plan, self._runtime(record.spec), record.spec.limits, f"job-{record.spec.job_id}"
        )

    def _finish(self, record: JobRecord) -> JobRecord:
        if record.date_finished is not None:
            return record
        # The job's data leaves the machine's working area as soon as the job ends.
        shutil.rmtree(self._jobs_dir / record.spec.job_id, ignore_errors=True)
        status = judge.final_status(record)
        return self._save(record, status=status, date_finished=self._now())

    # --- restart ------------------------------------------------------------------------------
    def _reconcile(self) -> None:
        for record in self._store.unfinished():
            job_id = record.spec.job_id
            if self._cgroups is not None:
                leftover = self._cgroups.existing(f"job-{job_id}")
                if leftover is not None:
                    leftover.remove()
            changes = judge.interrupted(record, self._now())
            if changes:
                record = self._store.update(record, **changes)
            _log.info("job %s: resumed after a restart", job_id)
            self._start(record)

    # --- helpers ------------------------------------------------------------------------------
    def _save(self, record: JobRecord, **changes: Any) -> JobRecord:
        record = self._store.update(record, **changes)
        with self._lock:
            current = self._records.get(record.spec.job_id)
            if current is not None and current.stop_requested and not record.stop_requested:
                record = self._store.update(record, stop_requested=True)
            self._records[record.spec.job_id] = record
        return record

    def _record(self, job_id: str) -> JobRecord:
        with self._lock:
            record = self._records.get(job_id)
        if record is None:
            record = self._store.get(job_id)
        if record is None:
            raise JobNotFound(f"job {job_id} not found")
        return record

    def _cached(self, record: JobRecord) -> JobRecord:
        with self._lock:
            return self._records.get(record.spec.job_id, record)

    def _state(self, record: JobRecord) -> JobState:
        return JobState(
            spec=record.spec,
            status=record.status,
            date_finished=record.date_finished,
            results=tuple(self._results(record)) if record.date_finished else (),
            exit_code=record.exit_code,
            oom_killed=record.oom_killed,
            reason=record.reason,
            algorithm_started_at=record.algorithm_started_at,
            algorithm_finished_at=record.algorithm_finished_at,
        )

    def _results(self, record: JobRecord) -> list[ResultFile]:
        from steps.manifest import read_manifest

        try:
            return list(read_manifest(self._results_dir / record.spec.job_id))
        except (OSError, ValueError):
            return []

    def _volumes(self, spec: JobSpec) -> JobVolumes:
        job_dir = self._jobs_dir / spec.job_id
        return JobVolumes(data=job_dir / "volume", spec=job_dir / "spec", results=self._results_dir)

    def _runtime(self, spec: JobSpec) -> Runtime:
        images = self._runtimes.get(spec.environment, {})
        runtime = images.get(spec.algorithm.container.reference)
        if runtime is None:
            raise EngineError(
                f"image {spec.algorithm.container.reference} has no local runtime in environment"
                f" {spec.environment}; it offers: {', '.join(images) or 'none'}"
            )
        return runtime

    def _admin_log_tail(self, job_id: str, task: str) -> str:
        log = self._jobs_dir / job_id / "volume" / "admin" / f"{task}.log"
        try:
            lines = log.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return lines[-1] if lines else ""

    def _now(self) -> int:
        return int(self._clock())


class _ShuttingDown(Exception):
    pass


def _outcome(exit: StepExit) -> str:
    return "Succeeded" if exit.succeeded else "Failed"
