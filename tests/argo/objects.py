"""Realistic Workflow and Pod objects, shaped as Argo and the kubelet report them."""

from __future__ import annotations

from typing import Any

from workflows.dag import StepImages, build_workflow
from workflows.spec import JobSpec

T0 = "2026-11-25T10:00:00Z"
T1 = "2026-11-25T10:00:10Z"
T2 = "2026-11-25T10:01:10Z"
T3 = "2026-11-25T10:01:20Z"
STEP_TEMPLATES = {
    "configure": "c2d-configure",
    "publish": "c2d-publish",
    "preprocess": "publisher-preprocess-csv",
}


def node(
    workflow: str,
    task: str,
    phase: str,
    *,
    exit_code: int | None = None,
    message: str | None = None,
    started: str = T1,
    finished: str | None = T2,
) -> dict[str, Any]:
    # publish runs in the exit handler: Argo names its nodes under "<workflow>.onExit".
    parent = f"{workflow}.onExit" if task == "publish" else workflow
    found: dict[str, Any] = {
        "id": f"{workflow}-{abs(hash(task)) % 10**10}",
        "name": f"{parent}.{task}",
        "displayName": task,
        "type": "Skipped" if phase == "Omitted" else "Pod",
        "phase": phase,
        "boundaryID": workflow,
        "startedAt": started,
    }
    if task in STEP_TEMPLATES:
        found["templateRef"] = {"name": STEP_TEMPLATES[task], "template": task}
    else:
        found["templateName"] = task
    if phase not in ("Pending", "Running"):
        found["finishedAt"] = finished
    if exit_code is not None:
        found["outputs"] = {"exitCode": str(exit_code)}
    if message:
        found["message"] = message
    return found


def workflow(
    spec: JobSpec,
    phase: str | None,
    steps: list[dict[str, Any]] | None = None,
    *,
    message: str | None = None,
    shutdown: str | None = None,
) -> dict[str, Any]:
    """The submitted Workflow with the status Argo's controller would have written."""
    obj: dict[str, Any] = build_workflow(spec, StepImages()).to_dict()
    obj["metadata"].update(uid="0b0e1f7c", resourceVersion="4711", namespace="c2d-jobs")
    if shutdown:
        obj["spec"]["shutdown"] = shutdown
    if phase is None:
        return obj
    name = obj["metadata"]["name"]
    nodes = {
        name: {
            "id": name,
            "name": name,
            "displayName": name,
            "type": "DAG",
            "templateName": "main",
            "phase": phase,
            "startedAt": T0,
        }
    }
    for step in steps or []:
        nodes[step["id"]] = step
        if step["displayName"] == "publish":
            exit_node = f"{name}.onExit"
            nodes[exit_node] = {
                "id": exit_node,
                "name": exit_node,
                "displayName": exit_node,
                "type": "DAG",
                "templateName": "exit-handler",
                "phase": step["phase"],
                "startedAt": step["startedAt"],
            }
    status: dict[str, Any] = {"phase": phase, "startedAt": T0, "nodes": nodes}
    if phase in ("Succeeded", "Failed", "Error"):
        status["finishedAt"] = T3
    if message:
        status["message"] = message
    obj["status"] = status
    return obj


def succeeded_workflow(spec: JobSpec) -> dict[str, Any]:
    """The Workflow of a job whose three steps all succeeded."""
    steps = [
        node(spec.workflow_name, step, "Succeeded", exit_code=0)
        for step in ("configure", "algorithm", "publish")
    ]
    return workflow(spec, "Succeeded", steps)


def algorithm_pod(
    spec: JobSpec,
    phase: str,
    *,
    terminated: dict[str, Any] | None = None,
    waiting: dict[str, Any] | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    state: dict[str, Any] = {}
    if terminated is not None:
        state["terminated"] = {"startedAt": T1, "finishedAt": T2, **terminated}
    elif waiting is not None:
        state["waiting"] = waiting
    else:
        state["running"] = {"startedAt": T1}
    status: dict[str, Any] = {
        "phase": phase,
        "containerStatuses": [
            {
                "name": "algorithm",
                "image": spec.algorithm.container.reference,
                "ready": False,
                "restartCount": 0,
                "state": state,
            }
        ],
    }
    if reason:
        status["reason"] = reason
        status["message"] = "Pod was active on the node longer than the specified deadline"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{spec.workflow_name}-algorithm",
            "namespace": "c2d-jobs",
            "resourceVersion": "4712",
            "labels": {
                "c2d/job-id": spec.job_id,
                "c2d/owner": spec.owner.lower(),
                "c2d/environment": spec.environment,
                "c2d/step": "algorithm",
            },
        },
        "spec": {},
        "status": status,
    }


def algorithm_running(spec: JobSpec) -> dict[str, Any]:
    """The Workflow of a job configured and running its algorithm."""
    name = spec.workflow_name
    return workflow(
        spec, "Running", [node(name, "configure", "Succeeded"), node(name, "algorithm", "Running")]
    )


def stopped_by_argo(current: dict[str, Any], spec: JobSpec) -> dict[str, Any]:
    """``current`` (a Workflow asked to stop) as Argo's controller ends it."""
    ended = workflow(spec, "Failed", [], message="Stopped with strategy 'Stop'")
    return {**current, "status": ended["status"]}
