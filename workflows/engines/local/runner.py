"""Walk one job's Workflow: launch each ready step, wait for its exit, record what it did."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from workflows import contract
from workflows.dag import StepImages, build_workflow
from workflows.engines.base import EngineError
from workflows.engines.local import outcomes as judge
from workflows.engines.local.board import JobBoard, StepEvent
from workflows.engines.local.capability import algorithm_runtime, pulls_image
from workflows.engines.local.dispatcher import (
    JobVolumes,
    StepPlan,
    admin_log,
    hand_over_writable_mounts,
    job_volumes,
    local_workflow,
    plan_step,
)
from workflows.engines.local.launcher import Launcher, RunningStep, StepExit
from workflows.engines.local.orchestrator import DagTask, next_tasks, read_dag
from workflows.engines.local.pull_log import PullLog
from workflows.engines.local.runtime import ImageSource, PulledImage, PullFailed, Runtime
from workflows.engines.local.sandbox_failure import sandbox_failure
from workflows.engines.local.store import JobRecord
from workflows.jobfiles import RefusedJobFile, read_job_file
from workflows.spec import JobSpec
from workflows.status import JobStatus

__all__ = ["JobRunner", "ShuttingDown", "log_fields"]

_log = logging.getLogger("c2d.engine")
# Enough of an admin log's end for its last line (the reason a step failed).
_REASON_TAIL_BYTES = 64 * 1024


class ShuttingDown(Exception):
    """A step was killed because the provider stops; a restart resumes the job."""


class JobRunner:
    def __init__(
        self,
        *,
        board: JobBoard,
        launcher: Launcher,
        runtimes: Mapping[str, Mapping[str, Runtime]],
        images: StepImages,
        jobs_dir: Path,
        results_dir: Path,
        clock: Callable[[], float],
        image_source: ImageSource | None = None,
    ) -> None:
        self._board = board
        self._image_source = image_source
        self._pulled: dict[str, PulledImage] = {}
        self._launcher = launcher
        self._runtimes = runtimes
        self._images = images
        self._jobs_dir = jobs_dir
        self._results_dir = results_dir
        self._clock = clock
        self._lock = threading.Lock()
        self._running: dict[str, RunningStep] = {}
        self._closed = False
        self._step_listeners: list[Callable[[StepEvent], None]] = []

    def on_step(self, listener: Callable[[StepEvent], None]) -> None:
        with self._lock:
            self._step_listeners.append(listener)

    def stop(self, job_id: str) -> None:
        """Kill the job's running step, if it may be stopped (publish may not)."""
        with self._lock:
            running = self._running.get(job_id)
        if running is not None:
            running.stop()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            running = list(self._running.values())
        for step in running:
            step.stop()

    def runtime(self, spec: JobSpec) -> Runtime:
        with self._lock:
            pulled = self._pulled.get(spec.job_id)
        return pulled.runtime if pulled else algorithm_runtime(spec, self._runtimes)

    def walk(self, record: JobRecord) -> JobRecord:
        """Pull the algorithm's image if it comes from a registry (status 10, before anything
        else and outside the algorithm's deadline, as Ocean Node does), then run the DAG; the
        image stays leased (never evicted) until the walk ends."""
        spec = record.spec
        if not pulls_image(spec, self._runtimes, self._image_source):
            return self._walk(record)
        assert self._image_source is not None
        if record.failure is None and not record.outcomes:
            record = self._board.save(record, status=JobStatus.PULL_IMAGE)
        progress = PullLog(self._jobs_dir / spec.job_id / "spec" / Path(contract.PULL_LOG).name)
        try:
            pulled = self._image_source.acquire(spec, progress.line)
        except PullFailed as error:
            _log.info("image pull failed: %s", error, extra=log_fields(spec))
            progress.line(f"image pull failed: {error}")
            return self._board.save(
                record, failure=JobStatus.PULL_IMAGE_FAILED, reason=f"image pull failed: {error}"
            )
        _log.info("image ready: %s", pulled.description, extra=log_fields(spec))
        progress.line(f"image ready: {pulled.description}")
        with self._lock:
            self._pulled[spec.job_id] = pulled
        try:
            return self._walk(record)
        finally:
            with self._lock:
                self._pulled.pop(spec.job_id, None)
            pulled.release()

    def _walk(self, record: JobRecord) -> JobRecord:
        workflow = local_workflow(build_workflow(record.spec, self._images).to_dict())
        tasks = read_dag(workflow)
        while True:
            ready, omitted = next_tasks(tasks, record.outcomes)
            for task in omitted:
                record = self._board.save(
                    record, outcomes={**record.outcomes, task.name: "Omitted"}
                )
            if not ready:
                if omitted:
                    continue
                return record
            for task in ready:
                record = self._run_task(record, task, workflow)

    def _run_task(self, record: JobRecord, task: DagTask, workflow: Mapping[str, Any]) -> JobRecord:
        job_id = record.spec.job_id
        plan = plan_step(workflow, task.template, self._volumes(record.spec))
        if record.stop_requested and plan.kind != "trusted":
            return self._board.save(record, outcomes={**record.outcomes, task.name: "Skipped"})
        record = self._board.save(record, **judge.before(task.name, self._now()))
        started = time.monotonic()
        step = self._launch(record, plan)
        # Started (its folders mounted): live log readers look again at what they follow.
        self._board.events.publish(job_id)
        # publish always runs to its end: it is what gets the logs out of a stopped job.
        stoppable = task.name != "publish"
        with self._lock:
            if stoppable:
                self._running[job_id] = step
                if self._closed:
                    step.stop()
        if stoppable and self._board.record(job_id).stop_requested:
            step.stop()
        deadline = plan.deadline_seconds or self._launcher.deadline_for_trusted_steps
        exit = step.wait(deadline)
        with self._lock:
            self._running.pop(job_id, None)
        stop_requested = self._board.record(job_id).stop_requested
        changes = judge.after(
            task.name, exit, record, self._admin_log_tail(job_id, task.name), self._now()
        )
        self._step_ended(record.spec, task.name, exit, time.monotonic() - started, stop_requested)
        if exit.stopped and not stop_requested:
            raise ShuttingDown
        return self._board.save(
            record, outcomes={**record.outcomes, task.name: _outcome(exit)}, **changes
        )

    def _step_ended(
        self, spec: JobSpec, step: str, exit: StepExit, seconds: float, stop_requested: bool
    ) -> None:
        killed = ""
        if exit.oom_killed:
            killed = "oom"
        elif exit.timed_out:
            killed = "deadline"
        elif exit.stopped:
            killed = "stop" if stop_requested else "shutdown"
        event = StepEvent(
            spec.job_id, spec.environment, step, seconds, _outcome(exit), exit.exit_code, killed
        )
        _log.info(
            "step ended: %s in %.3f s%s",
            event.outcome.lower(),
            seconds,
            f" (killed: {killed})" if killed else "",
            extra=log_fields(spec, step),
        )
        with self._lock:
            listeners = list(self._step_listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:
                _log.exception("a step listener failed", extra=log_fields(spec, step))

    def _launch(self, record: JobRecord, plan: StepPlan) -> RunningStep:
        job_dir = self._jobs_dir / record.spec.job_id
        if plan.kind == "trusted":
            for mount in plan.mounts:
                if mount.source is not None and not mount.read_only:
                    mount.source.mkdir(parents=True, exist_ok=True)
            return self._launcher.start_trusted(plan, job_dir / "steps.stderr")
        if plan.kind == "publisher":
            # A publisher template (preprocess): the algorithm's sandbox, its image's runtime.
            hand_over_writable_mounts(plan)
            runtime = self._runtimes.get(record.spec.environment, {}).get(plan.image)
            if runtime is None:
                raise EngineError(f"image {plan.image} of step {plan.task} has no local runtime")
            return self._launcher.start_algorithm(
                plan, runtime, record.spec.limits, f"job-{record.spec.job_id}-{plan.task}"
            )
        return self._launcher.start_algorithm(
            plan,
            self.runtime(record.spec),
            record.spec.limits,
            f"job-{record.spec.job_id}",
            work_dir=job_dir,
        )

    def _volumes(self, spec: JobSpec) -> JobVolumes:
        return job_volumes(self._jobs_dir, spec.job_id, self._results_dir)

    def _admin_log_tail(self, job_id: str, task: str) -> str:
        """The last line a trusted step logged (its failure reason), read as a job's file: the
        folder is the job's volume."""
        if task == "algorithm":  # its sandbox's own error, if it failed to start
            return sandbox_failure(self._jobs_dir / job_id)
        try:
            tail = read_job_file(
                admin_log(self._jobs_dir, job_id, task), _REASON_TAIL_BYTES, tail=True
            )
        except (OSError, RefusedJobFile):
            return ""
        lines = tail.decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else ""

    def _now(self) -> int:
        return int(self._clock())


def _outcome(exit: StepExit) -> str:
    return "Succeeded" if exit.succeeded else "Failed"


def log_fields(spec: JobSpec, step: str = "") -> dict[str, str]:
    """What every engine log line carries (read by the structured log formatter)."""
    fields = {"job_id": spec.job_id, "owner": spec.owner, "environment": spec.environment}
    return {**fields, "step": step} if step else fields
