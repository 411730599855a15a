"""Status mapping of the exit handler (publish after a stop) and of a publisher's preprocess."""

from __future__ import annotations

from typing import Any

import pytest

from tests.argo.objects import workflow
from tests.argo.test_status_map import (
    SPEC,
    STOPPED,
    TERMINATED,
    failed,
    ok,
    omitted,
    pod,
    running,
)
from workflows.engines.argo.status_map import map_status
from workflows.spec import JobSpec
from workflows.status import JobStatus

# (name, workflow, pod, status, exit code, reason contains)
EXIT_CASES: list[tuple[str, dict[str, Any], dict[str, Any] | None, JobStatus, Any, str]] = [
    (
        "stopped, then the exit handler publishes",
        workflow(
            SPEC,
            "Running",
            [ok("configure"), failed("algorithm", None, STOPPED), running("publish")],
            message=STOPPED,
            shutdown="Stop",
        ),
        None,
        JobStatus.PUBLISHING_RESULTS,
        None,
        "",
    ),
    (
        "stopped and published",
        workflow(
            SPEC,
            "Failed",
            [ok("configure"), failed("algorithm", None, STOPPED), ok("publish")],
            message=STOPPED,
            shutdown="Stop",
        ),
        None,
        JobStatus.FINISHED,
        None,
        "stopped on request",
    ),
    (
        "stopped, publish failed",
        workflow(
            SPEC,
            "Failed",
            [ok("configure"), failed("algorithm", None, STOPPED), failed("publish", 62)],
            message=STOPPED,
            shutdown="Stop",
        ),
        None,
        JobStatus.RESULTS_UPLOAD_FAILED,
        None,
        "publishing the results failed",
    ),
    (
        "terminated while publishing",
        workflow(
            SPEC,
            "Failed",
            [ok("configure"), ok("algorithm"), failed("publish", None, TERMINATED)],
            message=TERMINATED,
            shutdown="Terminate",
        ),
        pod(phase="Succeeded", terminated={"exitCode": 0, "reason": "Completed"}),
        JobStatus.FINISHED,
        0,
        "stopped on request",
    ),
]


@pytest.mark.parametrize(
    ("workflow_obj", "pod_obj", "status", "exit_code", "reason"),
    [case[1:] for case in EXIT_CASES],
    ids=[case[0] for case in EXIT_CASES],
)
def test_publish_runs_as_the_exit_handler_after_a_stop(
    workflow_obj: dict[str, Any],
    pod_obj: dict[str, Any] | None,
    status: JobStatus,
    exit_code: int | None,
    reason: str,
) -> None:
    mapped = map_status(SPEC, workflow_obj, pod_obj)
    assert mapped.status == status
    assert mapped.exit_code == exit_code
    assert reason in mapped.reason
    assert (mapped.date_finished is None) is (workflow_obj["status"]["phase"] == "Running")


# --- a publisher's preprocess step ------------------------------------------------------------

PRE = JobSpec.model_validate(
    {**SPEC.model_dump(), "preprocess_template": "publisher-preprocess-csv"}
)
PRE_CASES: list[tuple[str, dict[str, Any], JobStatus, str]] = [
    (
        "preprocessing",
        workflow(PRE, "Running", [ok("configure"), running("preprocess")]),
        JobStatus.PROVISIONING,
        "",
    ),
    (
        "preprocess failed",
        workflow(
            PRE,
            "Failed",
            [ok("configure"), failed("preprocess", 3), omitted("algorithm"), ok("publish")],
        ),
        JobStatus.DATA_PROVISIONING_FAILED,
        "preprocess publisher-preprocess-csv exited with code 3",
    ),
    (
        "template not installed",
        workflow(
            PRE,
            "Error",
            [ok("configure")],
            message='workflowtemplates.argoproj.io "publisher-preprocess-csv" not found',
        ),
        JobStatus.DATA_PROVISIONING_FAILED,
        "not found",
    ),
    (
        "preprocessed and finished",
        workflow(
            PRE, "Succeeded", [ok("configure"), ok("preprocess"), ok("algorithm"), ok("publish")]
        ),
        JobStatus.FINISHED,
        "",
    ),
]


@pytest.mark.parametrize(
    ("workflow_obj", "status", "reason"),
    [case[1:] for case in PRE_CASES],
    ids=[case[0] for case in PRE_CASES],
)
def test_status_mapping_with_preprocess(
    workflow_obj: dict[str, Any], status: JobStatus, reason: str
) -> None:
    mapped = map_status(PRE, workflow_obj, None)
    assert mapped.status == status
    assert reason in mapped.reason
