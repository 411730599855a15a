"""Figure 6: building and serialising the Workflow of a request with 10 inputs, per job."""

from __future__ import annotations

import json
import time

from bench.figures import Figure
from workflows.dag import StepImages, build_workflow
from workflows.spec import JobSpec

__all__ = ["measure_dag"]


def _spec(inputs: int) -> JobSpec:
    return JobSpec.model_validate(
        {
            "job_id": "ab" * 16,
            "owner": "0x" + "ab" * 20,
            "environment": "free",
            "created_at": 1_700_000_000,
            "inputs": [
                {
                    "folder": f"{i:064x}",
                    "did": f"did:op:{i:064x}",
                    "files": [{"url": f"https://example.com/{i}.csv", "checksum": "1" * 64}],
                    "ddo": {"id": f"did:op:{i:064x}"},
                }
                for i in range(inputs)
            ],
            "algorithm": {
                "container": {"entrypoint": "python $ALGO", "image": "python", "tag": "3.11"},
                "rawcode": "print(1)\n",
            },
            "limits": {
                "cpus": 1,
                "memory_bytes": 2**30,
                "disk_bytes": 2**30,
                "max_job_duration": 60,
                "max_download_bytes": 2**30,
            },
        }
    )


def measure_dag(rounds: int) -> list[Figure]:
    spec = _spec(10)
    images = StepImages()
    json.dumps(build_workflow(spec, images).to_dict())  # warm up imports and caches
    started = time.perf_counter()
    for _ in range(rounds):
        json.dumps(build_workflow(spec, images).to_dict())
    per_job = (time.perf_counter() - started) / rounds * 1000
    # Baseline: serialising the JobSpec itself, the least any engine must do per job.
    started = time.perf_counter()
    for _ in range(rounds):
        spec.model_dump_json()
    baseline = (time.perf_counter() - started) / rounds * 1000
    return [Figure("dag_build_ms", per_job, "ms", baseline, "per job, 10 inputs")]
