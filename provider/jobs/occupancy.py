"""How busy an environment is, from its unfinished jobs: the figures ``computeEnvironments`` lists.

As Ocean Node computes them (its engine's ``getUsedResources``): a queued job adds its whole
``maxJobDuration`` to the queue wait, a running one what is left of its ``maxJobDuration``
to the run wait, and its resources to ``inUse``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from workflows.engines.base import Engine, JobState
from workflows.spec import Limits
from workflows.status import JobStatus

__all__ = ["Occupancy", "environment_occupancy", "occupancy"]

_GIB = 2**30


@dataclass(frozen=True)
class Occupancy:
    running: int = 0
    queued: int = 0
    # Seconds: the queued jobs' maxJobDuration summed (Ocean Node's queMaxWaitTime).
    queue_wait: int = 0
    # Seconds: what the running jobs may still run, summed (Ocean Node's runMaxWaitTime).
    run_wait: int = 0
    # Resource id → units the running jobs hold.
    in_use: dict[str, float] = field(default_factory=dict)


def occupancy(jobs: Iterable[JobState], now: float) -> Occupancy:
    running = queued = queue_wait = run_wait = 0
    in_use: dict[str, float] = {}
    for job in jobs:
        limits = job.spec.limits
        if job.status == JobStatus.QUEUED:
            queued += 1
            queue_wait += limits.max_job_duration
            continue
        running += 1
        started = job.algorithm_started_at
        elapsed = max(0.0, now - started) if started is not None else 0.0
        run_wait += max(0, int(limits.max_job_duration - elapsed))
        for resource, amount in _held(limits).items():
            in_use[resource] = in_use.get(resource, 0.0) + amount
    return Occupancy(running, queued, queue_wait, run_wait, in_use)


def _held(limits: Limits) -> dict[str, float]:
    """What a job holds, in the units the environment lists (CPUs, GiB, GPUs)."""
    return {
        "cpu": limits.cpus,
        "ram": limits.memory_bytes / _GIB,
        "disk": limits.disk_bytes / _GIB,
        "gpu": float(limits.gpus),
    }


@runtime_checkable
class CountsOccupancy(Protocol):
    """An engine that counts an environment's load itself (the privilege split's: its helper
    holds the jobs, and handing all of them over cost a thousand decoded specs per listing)."""

    def occupancy(self, environment: str, now: float) -> Occupancy: ...


def environment_occupancy(engine: Engine, environment: str, now: float) -> Occupancy:
    """What ``computeEnvironments`` lists as the environment's load."""
    if isinstance(engine, CountsOccupancy):
        return engine.occupancy(environment, now)
    return occupancy(engine.unfinished(environment), now)
