"""Status texts as Ocean Node sends them (its C2DStatusText), byte for byte."""

from __future__ import annotations

from workflows.status import JobStatus, status_text


def test_texts_that_clients_compare_are_ocean_nodes() -> None:
    assert status_text(JobStatus.PROVISIONING) == "Provisioning data"
    assert status_text(JobStatus.RUNNING_ALGORITHM) == "Running algorithm "
    assert status_text(JobStatus.DISK_QUOTA_EXCEEDED) == "Error: disk quota exceeded"
    assert status_text(JobStatus.RESULTS_FETCH_FAILED) == (
        "Failed to get outputs folder from container"
    )
    assert status_text(JobStatus.FINISHED) == "Job finished"
