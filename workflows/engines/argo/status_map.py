"""Pure mapping: a job's Workflow object (and its algorithm Pod) → the Ocean status code
(docs/design.md#status-codes).

The Workflow says which step runs and how each ended; only the algorithm Pod, created by a
``resource`` template, knows why the algorithm ended (OOMKilled, deadline, image pull error).
Like the local engine, a failure becomes the status only once the Workflow has finished, so a
client never sees a final status while ``publish`` still stores the logs. ``publish`` is the
exit handler: it runs after a stop too (not after a terminate), so its failure counts then.
A publisher's ``preprocess`` step that fails is a data provisioning failure (31).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from workflows import contract
from workflows.engines.base import JobState
from workflows.spec import JobSpec
from workflows.status import JobStatus

__all__ = [
    "IMAGE_PULL_FAILURES",
    "STOPPED_REASON",
    "STOP_REASON_ANNOTATION",
    "image_pull_failure",
    "is_finished",
    "map_status",
    "unschedulable",
]

STOPPED_REASON = "stopped on request"
# Set by the provider on a Workflow it stopped itself (an algorithm Pod nothing could schedule):
# the job's reason, and its status is 32 rather than "stopped on request".
STOP_REASON_ANNOTATION = "c2d/stop-reason"
IMAGE_PULL_FAILURES = frozenset(
    {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"}
)
_FINAL_PHASES = frozenset({"Succeeded", "Failed", "Error"})
_FAILED = frozenset({"Failed", "Error"})
_RUNNING = frozenset({"Pending", "Running"})


def is_finished(workflow: Mapping[str, Any]) -> bool:
    return _status(workflow).get("phase") in _FINAL_PHASES


def image_pull_failure(pod: Mapping[str, Any] | None) -> str | None:
    """The waiting reason of a Pod whose image cannot be pulled, else None."""
    for container in _container_statuses(pod):
        waiting = container.get("state", {}).get("waiting") or {}
        if waiting.get("reason") in IMAGE_PULL_FAILURES:
            return str(waiting["reason"])
    return None


def unschedulable(pod: Mapping[str, Any] | None) -> tuple[int, str] | None:
    """When a Pending Pod was found unschedulable (unix seconds) and the scheduler's message,
    from its ``PodScheduled`` condition (status False, reason Unschedulable); else None."""
    if pod is None or pod.get("status", {}).get("phase") != "Pending":
        return None
    for condition in pod.get("status", {}).get("conditions") or []:
        if (
            condition.get("type") == "PodScheduled"
            and condition.get("status") == "False"
            and condition.get("reason") == "Unschedulable"
        ):
            since = _time(condition.get("lastTransitionTime"))
            if since is not None:
                return since, str(condition.get("message") or "no node fits")[:300]
    return None


def map_status(
    spec: JobSpec, workflow: Mapping[str, Any], pod: Mapping[str, Any] | None
) -> JobState:
    """What the Workflow and Pod say about the job; its results are read by the engine."""
    nodes = _nodes(workflow)
    algorithm = nodes.get("algorithm", {})
    times: dict[str, Any] = {
        "algorithm_started_at": _time(algorithm.get("startedAt")),
        "algorithm_finished_at": _time(algorithm.get("finishedAt")),
    }
    terminated = _terminated(pod)
    exit_code = _int(terminated.get("exitCode"))
    oom = terminated.get("reason") == "OOMKilled"
    if not is_finished(workflow):
        return JobState(
            spec=spec, status=_progress(nodes), exit_code=exit_code, oom_killed=oom, **times
        )
    failure, reason = _failure(spec, workflow, nodes, pod)
    if failure is None and _stopped(workflow):
        reason = STOPPED_REASON
    return JobState(
        spec=spec,
        status=failure if failure is not None else JobStatus.FINISHED,
        date_finished=_time(_status(workflow).get("finishedAt")),
        exit_code=exit_code,
        oom_killed=oom,
        reason=reason,
        **times,
    )


def _progress(nodes: Mapping[str, Mapping[str, Any]]) -> JobStatus:
    def phase(name: str) -> str | None:
        node = nodes.get(name)
        return None if node is None else str(node.get("phase", "Pending"))

    if phase("publish") is not None:
        return JobStatus.PUBLISHING_RESULTS
    if phase("algorithm") in _RUNNING or phase("algorithm") in _FAILED:
        return JobStatus.RUNNING_ALGORITHM
    if phase("configure") == "Succeeded":
        return JobStatus.PROVISIONING
    if phase("configure") is not None:
        return JobStatus.CONFIGURING_VOLUMES
    return JobStatus.STARTED


def _failure(
    spec: JobSpec,
    workflow: Mapping[str, Any],
    nodes: Mapping[str, Mapping[str, Any]],
    pod: Mapping[str, Any] | None,
) -> tuple[JobStatus | None, str]:
    configure = nodes.get("configure", {})
    preprocess = nodes.get("preprocess", {})
    algorithm = nodes.get("algorithm", {})
    publish = nodes.get("publish", {})
    if configure.get("phase") in _FAILED and not _stopped(workflow):
        code = _exit_code(configure)
        status = (
            JobStatus.ALGORITHM_PROVISIONING_FAILED
            if code == contract.EXIT_ALGORITHM_PROVISIONING_FAILED
            else JobStatus.DATA_PROVISIONING_FAILED
        )
        return status, _message(configure, f"configure exited with code {code}")
    if preprocess.get("phase") in _FAILED and not _stopped(workflow):
        code = _exit_code(preprocess)
        fallback = f"preprocess {spec.preprocess_template} exited with code {code}"
        return JobStatus.DATA_PROVISIONING_FAILED, _message(preprocess, fallback)
    stop_reason = (workflow.get("metadata", {}).get("annotations") or {}).get(
        STOP_REASON_ANNOTATION
    )
    if stop_reason and _stopped(workflow):
        return JobStatus.ALGORITHM_PROVISIONING_FAILED, str(stop_reason)[:400]
    pull = image_pull_failure(pod)
    if pull is not None:
        image = spec.algorithm.container.reference
        return JobStatus.ALGORITHM_PROVISIONING_FAILED, f"image {image} cannot be pulled ({pull})"
    if algorithm.get("phase") in _FAILED:
        algorithm_failure = _algorithm_failure(spec, pod)
        if algorithm_failure is not None:
            return JobStatus.ALGORITHM_FAILED, algorithm_failure
        if not _stopped(workflow):
            return JobStatus.ALGORITHM_FAILED, _message(algorithm, "the algorithm failed")
    if publish.get("phase") in _FAILED and not _workflow_terminated(workflow):
        code = _exit_code(publish)
        status = (
            JobStatus.RESULTS_FETCH_FAILED
            if code == contract.EXIT_RESULTS_FETCH_FAILED
            else JobStatus.RESULTS_UPLOAD_FAILED
        )
        return status, _message(publish, "publishing the results failed")
    if _status(workflow).get("phase") in _FAILED and not _stopped(workflow):
        # The Workflow failed outside the steps (its deadline, a volume it could not create).
        message = str(_status(workflow).get("message") or "the workflow failed")
        provisioned = [configure] + ([preprocess] if spec.preprocess_template else [])
        if any(step.get("phase") != "Succeeded" for step in provisioned):
            return JobStatus.DATA_PROVISIONING_FAILED, message
        if algorithm.get("phase") != "Succeeded":
            return JobStatus.ALGORITHM_FAILED, message
        return JobStatus.RESULTS_UPLOAD_FAILED, message
    return None, ""


def _algorithm_failure(spec: JobSpec, pod: Mapping[str, Any] | None) -> str | None:
    """Why the algorithm Pod failed, when the Pod says so; None when it is gone or silent."""
    if pod is None:
        return None
    if pod.get("status", {}).get("reason") == "DeadlineExceeded":
        duration = spec.limits.max_job_duration
        return f"stopped at the maximum job duration (maxJobDuration {duration} s)"
    terminated = _terminated(pod)
    if terminated.get("reason") == "OOMKilled":
        mib = spec.limits.memory_bytes // 2**20
        return f"killed: out of memory (limit {mib} MiB)"
    code = _int(terminated.get("exitCode"))
    if code not in (None, 0):
        return f"algorithm exited with code {code}"
    return None


def _stopped(workflow: Mapping[str, Any]) -> bool:
    if workflow.get("spec", {}).get("shutdown") in ("Stop", "Terminate"):
        return True
    return "Stopped with strategy" in str(_status(workflow).get("message", ""))


def _workflow_terminated(workflow: Mapping[str, Any]) -> bool:
    """Argo's ``terminate`` (unlike ``stop``) kills exit handlers too: publish never finished."""
    if workflow.get("spec", {}).get("shutdown") == "Terminate":
        return True
    return "Stopped with strategy 'Terminate'" in str(_status(workflow).get("message", ""))


def _status(workflow: Mapping[str, Any]) -> Mapping[str, Any]:
    status: Mapping[str, Any] = workflow.get("status") or {}
    return status


def _nodes(workflow: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Step nodes by task name (the DAG's own node and retries' parents are left out)."""
    found: dict[str, Mapping[str, Any]] = {}
    for node in (_status(workflow).get("nodes") or {}).values():
        if node.get("type") in ("Pod", "Skipped", "Retry") or "templateRef" in node:
            found.setdefault(str(node.get("displayName", "")), node)
    return found


def _container_statuses(pod: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    if pod is None:
        return []
    statuses: list[Mapping[str, Any]] = pod.get("status", {}).get("containerStatuses") or []
    return statuses


def _terminated(pod: Mapping[str, Any] | None) -> Mapping[str, Any]:
    for container in _container_statuses(pod):
        if container.get("name") == "algorithm":
            terminated: Mapping[str, Any] = container.get("state", {}).get("terminated") or {}
            return terminated
    return {}


def _exit_code(node: Mapping[str, Any]) -> int | None:
    return _int((node.get("outputs") or {}).get("exitCode"))


def _message(node: Mapping[str, Any], fallback: str) -> str:
    return str(node.get("message") or fallback)[:300]


def _int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _time(value: Any) -> int | None:
    if not value:
        return None
    try:
        return int(datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None
