"""Job status codes and texts, as Ocean Node reports them, spelled exactly as it does
(``C2DStatusNumber``/``C2DStatusText``), trailing space included (docs/design.md#status-codes)."""

from enum import IntEnum

__all__ = ["FAILED_STATUSES", "TERMINAL_STATUSES", "JobStatus", "status_text"]


class JobStatus(IntEnum):
    STARTED = 0
    QUEUED = 1
    QUEUE_EXPIRED = 2
    PULL_IMAGE = 10
    PULL_IMAGE_FAILED = 11
    CONFIGURING_VOLUMES = 20
    PROVISIONING = 30
    DATA_PROVISIONING_FAILED = 31
    ALGORITHM_PROVISIONING_FAILED = 32
    RUNNING_ALGORITHM = 40
    ALGORITHM_FAILED = 41
    DISK_QUOTA_EXCEEDED = 42
    PUBLISHING_RESULTS = 60
    RESULTS_FETCH_FAILED = 61
    RESULTS_UPLOAD_FAILED = 62
    FINISHED = 70
    SETTLING = 71


_TEXTS = {
    JobStatus.STARTED: "Job started",
    JobStatus.QUEUED: "Job queued",
    JobStatus.QUEUE_EXPIRED: "Job expired in queue",
    JobStatus.PULL_IMAGE: "Pulling algorithm image",
    JobStatus.PULL_IMAGE_FAILED: "Pulling algorithm image failed",
    JobStatus.CONFIGURING_VOLUMES: "Configuring volumes",
    JobStatus.PROVISIONING: "Provisioning data",
    JobStatus.DATA_PROVISIONING_FAILED: "Data provisioning failed",
    JobStatus.ALGORITHM_PROVISIONING_FAILED: "Algorithm provisioning failed",
    JobStatus.RUNNING_ALGORITHM: "Running algorithm ",  # sic: Ocean Node's text
    JobStatus.ALGORITHM_FAILED: "Failed to run algorithm",
    JobStatus.DISK_QUOTA_EXCEEDED: "Error: disk quota exceeded",
    JobStatus.PUBLISHING_RESULTS: "Publishing results",
    JobStatus.RESULTS_FETCH_FAILED: "Failed to get outputs folder from container",
    JobStatus.RESULTS_UPLOAD_FAILED: "Failed to upload results to storage",
    JobStatus.FINISHED: "Job finished",
    JobStatus.SETTLING: "Job settling",
}

# A job in one of these states will not change again (settling still waits for the claim).
TERMINAL_STATUSES = frozenset(
    {
        JobStatus.QUEUE_EXPIRED,
        JobStatus.PULL_IMAGE_FAILED,
        JobStatus.DATA_PROVISIONING_FAILED,
        JobStatus.ALGORITHM_PROVISIONING_FAILED,
        JobStatus.ALGORITHM_FAILED,
        JobStatus.DISK_QUOTA_EXCEEDED,
        JobStatus.RESULTS_FETCH_FAILED,
        JobStatus.RESULTS_UPLOAD_FAILED,
        JobStatus.FINISHED,
    }
)

FAILED_STATUSES = TERMINAL_STATUSES - {JobStatus.FINISHED}


def status_text(status: JobStatus) -> str:
    return _TEXTS[status]
