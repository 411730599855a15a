"""Pure rules: how a step's start and exit change a job's status, reason and timestamps."""

from __future__ import annotations

from typing import Any

from workflows import contract
from workflows.engines.local.launcher import StepExit
from workflows.engines.local.store import JobRecord
from workflows.status import JobStatus

__all__ = ["after", "before", "final_status", "interrupted"]

STOPPED_REASON = "stopped on request"


def before(task: str, now: int) -> dict[str, Any]:
    if task == "configure":
        return {"status": JobStatus.CONFIGURING_VOLUMES}
    if task == "algorithm":
        return {"status": JobStatus.RUNNING_ALGORITHM, "algorithm_started_at": now}
    if task == "publish":
        return {"status": JobStatus.PUBLISHING_RESULTS}
    return {}


def after(task: str, exit: StepExit, record: JobRecord, log_tail: str, now: int) -> dict[str, Any]:
    """Changes to the job once ``task`` ended.

    A failure is kept aside (``failure``) and becomes the status only when the job has finished:
    a client must never see a final status while publish is still storing the logs.
    """
    if task == "configure":
        return _after_configure(exit, log_tail)
    if task == "algorithm":
        return {"algorithm_finished_at": now, **_after_algorithm(exit, record, log_tail)}
    if task == "preprocess":
        return _after_preprocess(exit, record)
    if task == "publish":
        return _after_publish(exit, record, log_tail)
    return {}


def _after_configure(exit: StepExit, log_tail: str) -> dict[str, Any]:
    if exit.stopped:
        return {"reason": STOPPED_REASON}
    if exit.succeeded:
        return {"status": JobStatus.PROVISIONING}
    if exit.exit_code == contract.EXIT_ALGORITHM_PROVISIONING_FAILED:
        status = JobStatus.ALGORITHM_PROVISIONING_FAILED
    else:
        status = JobStatus.DATA_PROVISIONING_FAILED
    if exit.timed_out:
        reason = "configuration took too long"
    else:
        reason = _step_reason(log_tail, f"configure exited with code {exit.exit_code}")
    return {"failure": status, "reason": reason}


def _after_preprocess(exit: StepExit, record: JobRecord) -> dict[str, Any]:
    """A publisher template that prepares the inputs: its failure is a data provisioning one."""
    if exit.stopped:
        return {"reason": STOPPED_REASON}
    if exit.succeeded:
        return {}
    how = "took too long" if exit.timed_out else f"exited with code {exit.exit_code}"
    template = record.spec.preprocess_template
    return {"failure": JobStatus.DATA_PROVISIONING_FAILED, "reason": f"preprocess {template} {how}"}


def _after_algorithm(exit: StepExit, record: JobRecord, sandbox_error: str) -> dict[str, Any]:
    """``sandbox_error``: what the sandbox's tools said when they failed before the algorithm
    ran (the algorithm's own log is then empty)."""
    changes: dict[str, Any] = {"exit_code": exit.exit_code}
    if exit.stopped:
        return {**changes, "reason": STOPPED_REASON}
    if exit.timed_out:
        duration = record.spec.limits.max_job_duration
        return {
            **changes,
            "failure": JobStatus.ALGORITHM_FAILED,
            "reason": f"stopped at the maximum job duration (maxJobDuration {duration} s)",
        }
    if exit.oom_killed:
        mib = record.spec.limits.memory_bytes // 2**20
        return {
            **changes,
            "failure": JobStatus.ALGORITHM_FAILED,
            "oom_killed": True,
            "reason": f"killed: out of memory (limit {mib} MiB)",
        }
    if exit.disk_full and exit.exit_code != 0:
        limit = record.spec.limits.disk_bytes
        return {
            **changes,
            "failure": JobStatus.DISK_QUOTA_EXCEEDED,
            "reason": f"disk quota exceeded: outputs and logs may hold at most {limit} bytes",
        }
    if exit.exit_code != 0 and sandbox_error:
        return {
            **changes,
            "failure": JobStatus.ALGORITHM_FAILED,
            "reason": f"the sandbox did not start: {sandbox_error}",
        }
    if exit.exit_code != 0:
        return {
            **changes,
            "failure": JobStatus.ALGORITHM_FAILED,
            "reason": f"algorithm exited with code {exit.exit_code}",
        }
    return changes


def _after_publish(exit: StepExit, record: JobRecord, log_tail: str) -> dict[str, Any]:
    if exit.succeeded or record.failure is not None:
        return {}
    status = (
        JobStatus.RESULTS_FETCH_FAILED
        if exit.exit_code == contract.EXIT_RESULTS_FETCH_FAILED
        else JobStatus.RESULTS_UPLOAD_FAILED
    )
    return {"failure": status, "reason": _step_reason(log_tail, "publishing the results failed")}


def final_status(record: JobRecord) -> JobStatus:
    return record.failure if record.failure is not None else JobStatus.FINISHED


def interrupted(record: JobRecord, now: int) -> dict[str, Any]:
    """After a crash: resume what can safely run again; fail an algorithm that was running.

    configure and publish are idempotent and simply run again; an algorithm never runs twice.
    """
    if record.status == JobStatus.RUNNING_ALGORITHM and "algorithm" not in record.outcomes:
        return {
            "outcomes": {**record.outcomes, "algorithm": "Failed"},
            "failure": JobStatus.ALGORITHM_FAILED,
            "algorithm_finished_at": now,
            "reason": "interrupted by a provider restart while the algorithm ran",
        }
    return {}


def _step_reason(log_tail: str, fallback: str) -> str:
    # The steps' logs never hold URLs or secrets; their last line says what went wrong.
    text = log_tail.partition(" ")[2] if log_tail[:1].isdigit() else log_tail
    return text.strip()[:300] or fallback
