"""A job's DAG (configure → algorithm → publish) as a small tree, like ``argo get``.

Derived from what any Ocean client reads (status code, creation, algorithm start and stop,
finish): each step's state, start and duration; the job's reason goes on the step that failed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from provider.commands.consumer.output import clock, epoch, seconds, table
from workflows.status import JobStatus

__all__ = ["Step", "format_job", "job_steps"]

# The codes at which each step fails, and the first code at which it has begun.
_FAILS = {
    "configure": {JobStatus.DATA_PROVISIONING_FAILED, JobStatus.ALGORITHM_PROVISIONING_FAILED},
    "algorithm": {JobStatus.ALGORITHM_FAILED, JobStatus.DISK_QUOTA_EXCEEDED},
    "publish": {JobStatus.RESULTS_FETCH_FAILED, JobStatus.RESULTS_UPLOAD_FAILED},
}
_BEGINS = {
    "configure": JobStatus.CONFIGURING_VOLUMES,
    "algorithm": JobStatus.RUNNING_ALGORITHM,
    "publish": JobStatus.PUBLISHING_RESULTS,
}
_ENDS = {
    "configure": JobStatus.RUNNING_ALGORITHM,
    "algorithm": JobStatus.PUBLISHING_RESULTS,
    "publish": JobStatus.FINISHED,
}
_ICONS = {"Succeeded": "✔", "Failed": "✖", "Running": "●", "Pending": "◷", "Skipped": "○"}


@dataclass(frozen=True)
class Step:
    name: str
    phase: str  # Pending, Running, Succeeded, Failed or Skipped
    start: float | None
    end: float | None
    message: str


def job_steps(job: dict[str, Any]) -> list[Step]:
    status = JobStatus(int(job["status"]))
    created = epoch(job.get("dateCreated"))
    algo_start = epoch(job.get("algoStartTimestamp"))
    algo_stop = epoch(job.get("algoStopTimestamp"))
    finished = epoch(job.get("dateFinished"))
    reason = str(job.get("statusReason") or "")
    bounds = {
        "configure": (created, algo_start),
        "algorithm": (algo_start, algo_stop),
        "publish": (algo_stop, finished),
    }
    steps: list[Step] = []
    failed_before = False
    for name, (start, end) in bounds.items():
        if failed_before:
            steps.append(Step(name, "Skipped", None, None, ""))
            continue
        if status in _FAILS[name]:
            steps.append(Step(name, "Failed", start, end or finished, reason))
            failed_before = True
        elif status == JobStatus.QUEUE_EXPIRED:
            steps.append(Step(name, "Skipped", None, None, reason if name == "configure" else ""))
            failed_before = True
        elif status >= _ENDS[name]:
            # A job that ends well with a reason was stopped (or cut short) in its algorithm.
            note = reason if name == "algorithm" else ""
            steps.append(Step(name, "Succeeded", start, end, note))
        elif status >= _BEGINS[name]:
            steps.append(Step(name, "Running", start, None, ""))
        else:
            steps.append(Step(name, "Pending", None, None, ""))
    return steps


def format_job(job: dict[str, Any], *, now: float | None = None) -> str:
    now = time.time() if now is None else now
    created, finished = job.get("dateCreated"), job.get("dateFinished")
    lines = [
        f"Name:         {job['jobId']}",
        f"Status:       {job['status']} {str(job['statusText']).strip()}",
        f"Environment:  {job.get('environment', '')}",
        f"Created:      {clock(created)}",
        f"Finished:     {clock(finished)}",
        f"Duration:     {seconds(created, finished, now)}",
    ]
    if job.get("statusReason"):
        lines.append(f"Reason:       {job['statusReason']}")
    rows = [
        ["STEP", "STATUS", "START", "DURATION", "MESSAGE"],
        [f"● {job['jobId']}", "", "", "", ""],
    ]
    steps = job_steps(job)
    for number, step in enumerate(steps):
        branch = "└─" if number == len(steps) - 1 else "├─"
        rows.append(
            [
                f" {branch}{_ICONS[step.phase]} {step.name}",
                step.phase,
                clock(step.start)[11:] if step.start else "-",
                seconds(step.start, step.end, now) if step.start else "-",
                step.message,
            ]
        )
    lines += ["", table(rows)]
    results = job.get("results") or []
    if results:
        lines += [
            "",
            table(
                [["INDEX", "TYPE", "SIZE", "FILE"]]
                + [
                    [str(r["index"]), str(r["type"]), str(r["filesize"]), str(r["filename"])]
                    for r in results
                ]
            ),
        ]
    return "\n".join(lines)
