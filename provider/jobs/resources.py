"""A start request's resources and duration → checked amounts and the job's Limits."""

from __future__ import annotations

from collections.abc import Sequence

from provider.environments import EnvironmentConfig
from provider.errors import BadRequest
from provider.jobs.requests import ResourceAmount, StartRequest
from workflows.spec import Limits

__all__ = ["job_limits", "resource_amounts"]

_GIB = 2**30


def resource_amounts(
    requested: Sequence[ResourceAmount], env: EnvironmentConfig, *, free: bool
) -> dict[str, float]:
    """Every resource of ``env`` with the amount asked for (its minimum when not asked)."""
    amounts = {resource.id: resource.min or 1.0 for resource in env.resources}
    kind = "free " if free else ""
    for wanted in requested:
        resource = env.resource(wanted.id)
        if resource is None:
            offered = ", ".join(r.id for r in env.resources)
            raise BadRequest(f"resources: unknown resource {wanted.id!r}; offered: {offered}")
        cap = env.free_max(wanted.id) if free else resource.max
        if wanted.amount > cap:
            raise BadRequest(
                f"resources: {wanted.id} {wanted.amount:g} exceeds the {kind}maximum {cap:g}"
                f" of environment {env.id}"
            )
        amounts[wanted.id] = wanted.amount
    return amounts


def job_limits(request: StartRequest, env: EnvironmentConfig, *, free: bool) -> Limits:
    """What the job may use: the requested resources and duration within the (free) caps."""
    amounts = resource_amounts(request.resources, env, free=free)
    duration_cap = env.max_job_duration
    if free:
        assert env.free is not None
        duration_cap = min(env.free.max_job_duration, duration_cap)
    duration = int(request.max_job_duration or duration_cap)
    if duration > duration_cap:
        raise BadRequest(
            f"maxJobDuration {duration} exceeds the {'free ' if free else ''}maximum"
            f" {duration_cap} s of environment {env.id}"
        )
    disk_bytes = int(amounts["disk"] * _GIB)
    return Limits(
        cpus=max(amounts["cpu"], 0.1),
        memory_bytes=int(max(amounts["ram"], 0.125) * _GIB),
        disk_bytes=disk_bytes,
        max_job_duration=max(duration, 1),
        gpus=int(amounts.get("gpu", 0)),
        max_download_bytes=disk_bytes,
    )
