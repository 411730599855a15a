"""JobState → the job JSON Ocean clients read (docs/api.md, docs/design.md#status-codes)."""

from __future__ import annotations

from typing import Any

from workflows.engines.base import JobState
from workflows.status import status_text

__all__ = ["render_job", "render_job_public"]


def render_job(state: JobState, *, storage_expiry: int) -> dict[str, Any]:
    """The full view, for the owner and additional viewers: the public view plus what shows
    the consumer's choices (inputs, agreement, metadata, who else may look)."""
    spec = state.spec
    return {
        **render_job_public(state, storage_expiry=storage_expiry),
        "inputDID": spec.input_dids,
        "algoDID": spec.algorithm.did or "",
        "agreementId": spec.agreement_id,
        "metadata": spec.metadata or {},
        "additionalViewers": list(spec.additional_viewers),
    }


def render_job_public(state: JobState, *, storage_expiry: int) -> dict[str, Any]:
    """What anyone who knows the owner's address may see: how the job is doing and went."""
    spec = state.spec
    finished = state.date_finished
    return {
        "owner": spec.owner,
        "jobId": spec.job_id,
        "environment": spec.environment,
        "dateCreated": str(spec.created_at),
        "dateFinished": _date(finished),
        "status": int(state.status),
        "statusText": status_text(state.status),
        "statusReason": state.reason,
        "results": [
            {"filename": r.filename, "filesize": r.filesize, "type": r.type, "index": r.index}
            for r in state.results
        ],
        "expireTimestamp": (finished + storage_expiry) if finished else 0,
        "maxJobDuration": spec.limits.max_job_duration,
        "algoStartTimestamp": _date(state.algorithm_started_at),
        "algoStopTimestamp": _date(state.algorithm_finished_at),
        "terminationDetails": {"OOMKilled": state.oom_killed, "exitCode": state.exit_code},
    }


def _date(timestamp: int | None) -> str | None:
    return None if timestamp is None else str(timestamp)
