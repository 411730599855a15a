"""The JobSpec the bench builds its figures on: a raw Python algorithm, 1 CPU, 1 GiB of memory."""

from __future__ import annotations

from typing import Any

from workflows.spec import JobSpec

__all__ = ["job_spec"]


def job_spec(
    inputs: list[dict[str, Any]],
    *,
    job_id: str = "ab" * 16,
    created_at: int = 1_700_000_000,
    disk_bytes: int = 2**30,
) -> JobSpec:
    """A free job on ``inputs`` (JobSpec input objects); downloads may fill its disk."""
    return JobSpec.model_validate(
        {
            "job_id": job_id,
            "owner": "0x" + "ab" * 20,
            "environment": "free",
            "created_at": created_at,
            "inputs": inputs,
            "algorithm": {
                "container": {"entrypoint": "python $ALGO", "image": "python", "tag": "3.11"},
                "rawcode": "print(1)\n",
            },
            "limits": {
                "cpus": 1,
                "memory_bytes": 2**30,
                "disk_bytes": disk_bytes,
                "max_job_duration": 60,
                "max_download_bytes": disk_bytes,
            },
        }
    )
