"""The status mapping table: realistic Workflow (+ algorithm Pod) objects → Ocean status codes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.argo.objects import algorithm_pod, node, workflow
from tests.workflows.support import make_spec
from workflows.engines.argo.status_map import map_status
from workflows.spec import JobSpec
from workflows.status import JobStatus

SPEC = make_spec(memory_bytes=512 * 2**20, max_job_duration=60)
NAME = SPEC.workflow_name
STOPPED = "Stopped with strategy 'Stop'"
TERMINATED = "Stopped with strategy 'Terminate'"


def ok(task: str, **kw: Any) -> dict[str, Any]:
    return node(NAME, task, "Succeeded", exit_code=0, **kw)


def failed(task: str, code: int | None = None, message: str | None = None) -> dict[str, Any]:
    return node(NAME, task, "Failed", exit_code=code, message=message)


def running(task: str) -> dict[str, Any]:
    return node(NAME, task, "Running")


def omitted(task: str) -> dict[str, Any]:
    return node(NAME, task, "Omitted", message="omitted: depends condition not met")


def pod(**kw: Any) -> dict[str, Any]:
    return algorithm_pod(SPEC, kw.pop("phase", "Failed"), **kw)


RESOURCE_FAILED = f"Resource {NAME}-algorithm failed condition: status.phase in (Failed, Error)"
# (name, workflow, pod, status, oom, exit code, reason contains)
CASES: list[tuple[str, dict[str, Any], dict[str, Any] | None, JobStatus, bool, Any, str]] = [
    ("submitted", workflow(SPEC, None), None, JobStatus.STARTED, False, None, ""),
    ("pending", workflow(SPEC, "Pending"), None, JobStatus.STARTED, False, None, ""),
    (
        "configuring",
        workflow(SPEC, "Running", [running("configure")]),
        None,
        JobStatus.CONFIGURING_VOLUMES,
        False,
        None,
        "",
    ),
    (
        "provisioned",
        workflow(SPEC, "Running", [ok("configure")]),
        None,
        JobStatus.PROVISIONING,
        False,
        None,
        "",
    ),
    (
        "running",
        workflow(SPEC, "Running", [ok("configure"), running("algorithm")]),
        pod(phase="Running"),
        JobStatus.RUNNING_ALGORITHM,
        False,
        None,
        "",
    ),
    (
        "publishing",
        workflow(SPEC, "Running", [ok("configure"), ok("algorithm"), running("publish")]),
        pod(phase="Succeeded", terminated={"exitCode": 0, "reason": "Completed"}),
        JobStatus.PUBLISHING_RESULTS,
        False,
        0,
        "",
    ),
    (
        "succeeded",
        workflow(SPEC, "Succeeded", [ok("configure"), ok("algorithm"), ok("publish")]),
        pod(phase="Succeeded", terminated={"exitCode": 0, "reason": "Completed"}),
        JobStatus.FINISHED,
        False,
        0,
        "",
    ),
    (
        "algorithm exits 2",
        workflow(
            SPEC,
            "Failed",
            [ok("configure"), failed("algorithm", 1, RESOURCE_FAILED), ok("publish")],
            message="child 'algorithm' failed",
        ),
        pod(terminated={"exitCode": 2, "reason": "Error"}),
        JobStatus.ALGORITHM_FAILED,
        False,
        2,
        "algorithm exited with code 2",
    ),
    (
        "OOMKilled",
        workflow(
            SPEC,
            "Failed",
            [ok("configure"), failed("algorithm", 1, RESOURCE_FAILED), ok("publish")],
        ),
        pod(terminated={"exitCode": 137, "reason": "OOMKilled"}),
        JobStatus.ALGORITHM_FAILED,
        True,
        137,
        "out of memory (limit 512 MiB)",
    ),
    (
        "pod deadline exceeded",
        workflow(
            SPEC,
            "Failed",
            [ok("configure"), failed("algorithm", 1, RESOURCE_FAILED), ok("publish")],
        ),
        pod(terminated={"exitCode": 137, "reason": "Error"}, reason="DeadlineExceeded"),
        JobStatus.ALGORITHM_FAILED,
        False,
        137,
        "maximum job duration (maxJobDuration 60 s)",
    ),
    (
        "workflow deadline exceeded",
        workflow(
            SPEC,
            "Failed",
            [ok("configure"), failed("algorithm", None, "Step exceeded its deadline")],
            message="Max duration limit exceeded",
        ),
        None,
        JobStatus.ALGORITHM_FAILED,
        False,
        None,
        "Step exceeded its deadline",
    ),
    (
        "image pull error",
        workflow(
            SPEC,
            "Failed",
            [ok("configure"), failed("algorithm", None, STOPPED)],
            message=STOPPED,
            shutdown="Stop",
        ),
        pod(
            phase="Pending",
            waiting={"reason": "ImagePullBackOff", "message": "Back-off pulling image"},
        ),
        JobStatus.ALGORITHM_PROVISIONING_FAILED,
        False,
        None,
        "cannot be pulled (ImagePullBackOff)",
    ),
    (
        "stopped",
        workflow(
            SPEC,
            "Failed",
            [ok("configure"), failed("algorithm", None, STOPPED)],
            message=STOPPED,
            shutdown="Stop",
        ),
        None,
        JobStatus.FINISHED,
        False,
        None,
        "stopped on request",
    ),
    (
        "terminated",
        workflow(
            SPEC,
            "Failed",
            [failed("configure", None, TERMINATED), omitted("algorithm")],
            message=TERMINATED,
            shutdown="Terminate",
        ),
        None,
        JobStatus.FINISHED,
        False,
        None,
        "stopped on request",
    ),
    (
        "data provisioning failed",
        workflow(
            SPEC,
            "Failed",
            [failed("configure", 31, "Error (exit code 31)"), omitted("algorithm"), ok("publish")],
        ),
        None,
        JobStatus.DATA_PROVISIONING_FAILED,
        False,
        None,
        "exit code 31",
    ),
    (
        "algorithm provisioning failed",
        workflow(SPEC, "Failed", [failed("configure", 32), omitted("algorithm"), ok("publish")]),
        None,
        JobStatus.ALGORITHM_PROVISIONING_FAILED,
        False,
        None,
        "configure exited with code 32",
    ),
    (
        "results upload failed",
        workflow(SPEC, "Failed", [ok("configure"), ok("algorithm"), failed("publish", 62)]),
        pod(phase="Succeeded", terminated={"exitCode": 0, "reason": "Completed"}),
        JobStatus.RESULTS_UPLOAD_FAILED,
        False,
        0,
        "publishing the results failed",
    ),
    (
        "volume claim not created",
        workflow(SPEC, "Error", [], message="pvc create error: exceeded quota"),
        None,
        JobStatus.DATA_PROVISIONING_FAILED,
        False,
        None,
        "exceeded quota",
    ),
]


@pytest.mark.parametrize(
    ("workflow_obj", "pod_obj", "status", "oom", "exit_code", "reason"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_status_mapping(
    workflow_obj: dict[str, Any],
    pod_obj: dict[str, Any] | None,
    status: JobStatus,
    oom: bool,
    exit_code: int | None,
    reason: str,
) -> None:
    mapped = map_status(SPEC, workflow_obj, pod_obj)
    assert mapped.status == status
    assert mapped.oom_killed is oom
    assert mapped.exit_code == exit_code
    assert reason in mapped.reason
    finished = workflow_obj.get("status", {}).get("phase") in ("Succeeded", "Failed", "Error")
    assert (mapped.date_finished is not None) is finished


def test_a_failure_is_not_final_while_publish_runs() -> None:
    running_publish = workflow(
        SPEC, "Running", [ok("configure"), failed("algorithm", 1), running("publish")]
    )
    mapped = map_status(
        SPEC, running_publish, pod(terminated={"exitCode": 137, "reason": "OOMKilled"})
    )
    assert mapped.status == JobStatus.PUBLISHING_RESULTS
    assert mapped.date_finished is None


def test_algorithm_times_come_from_its_node() -> None:
    done = workflow(SPEC, "Succeeded", [ok("configure"), ok("algorithm"), ok("publish")])
    mapped = map_status(SPEC, done, None)
    assert mapped.algorithm_started_at == 1795600810  # 2026-11-25T10:00:10Z
    assert mapped.algorithm_finished_at == 1795600870
    assert mapped.date_finished == 1795600880


@pytest.mark.parametrize("make", [lambda: make_spec(), lambda: make_spec(gpus=1)])
def test_every_status_is_a_known_code(make: Callable[[], JobSpec]) -> None:
    for case in CASES:
        assert map_status(make(), case[1], case[2]).status in set(JobStatus)
