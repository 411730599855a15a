"""Figure 6: building and serialising the Workflow of a request with 10 inputs, per job."""

from __future__ import annotations

import json
import time

from bench.figures import Figure
from bench.specs import job_spec
from workflows.dag import StepImages, build_workflow
from workflows.spec import JobSpec

__all__ = ["dag_spec", "measure_dag"]


def dag_spec(inputs: int) -> JobSpec:
    """A job with ``inputs`` dataset inputs, each one file."""
    return job_spec(
        [
            {
                "folder": f"{i:064x}",
                "did": f"did:op:{i:064x}",
                "files": [{"url": f"https://example.com/{i}.csv", "checksum": "1" * 64}],
                "ddo": {"id": f"did:op:{i:064x}"},
            }
            for i in range(inputs)
        ]
    )


def measure_dag(rounds: int) -> list[Figure]:
    spec = dag_spec(10)
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
