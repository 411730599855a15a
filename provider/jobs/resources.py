"""A start request's resources and duration → checked amounts and the job's Limits.

As Ocean Node does (its compute engine's ``checkAndFillMissingResources``), an amount below a
resource's ``min`` — 0 or a resource not asked for included — is raised to that minimum, and
a ``maxJobDuration`` below the environment's ``minJobDuration`` is raised to it; above the
(free) maximum is a 400.
"""

from __future__ import annotations

from collections.abc import Sequence

from provider.environments import EnvironmentConfig
from provider.errors import BadRequest
from provider.jobs.requests import ResourceAmount, StartRequest
from workflows.spec import Limits

__all__ = ["job_limits", "resource_amounts"]

_GIB = 2**30
# The least a job runs with when the operator's minimum is 0 and nothing (or 0) is asked for.
_DEFAULT_AMOUNT = 1.0
_MIN_CPUS = 0.1
_MIN_MEMORY_GIB = 0.125
_MIN_DISK_BYTES = 2**20


def resource_amounts(
    requested: Sequence[ResourceAmount], env: EnvironmentConfig, *, free: bool
) -> dict[str, float]:
    """Every resource of ``env`` with the amount the job gets: as asked, raised to the
    resource's minimum; a resource neither asked for nor with a minimum gets one unit."""
    asked: dict[str, float] = {}
    for wanted in requested:
        if env.resource(wanted.id) is None:
            offered = ", ".join(r.id for r in env.resources)
            raise BadRequest(f"resources: unknown resource {wanted.id!r}; offered: {offered}")
        if wanted.id in asked:
            raise BadRequest(f"resources: {wanted.id} is listed twice")
        asked[wanted.id] = wanted.amount
    kind = "free " if free else ""
    amounts: dict[str, float] = {}
    for resource in env.resources:
        cap = env.free_max(resource.id) if free else resource.max
        amount = max(asked.get(resource.id, 0.0), resource.min)
        if amount <= 0:
            amount = min(_DEFAULT_AMOUNT, cap)
        if amount > cap:
            what = f"{amount:g}" if resource.id in asked else f"minimum {amount:g}"
            raise BadRequest(
                f"resources: {resource.id} {what} exceeds the {kind}maximum {cap:g}"
                f" of environment {env.id}"
            )
        amounts[resource.id] = amount
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
    duration = min(max(duration, env.job_min_duration, 1), duration_cap)
    disk_bytes = max(int(amounts["disk"] * _GIB), _MIN_DISK_BYTES)
    return Limits(
        cpus=max(amounts["cpu"], _MIN_CPUS),
        memory_bytes=int(max(amounts["ram"], _MIN_MEMORY_GIB) * _GIB),
        disk_bytes=disk_bytes,
        max_job_duration=duration,
        gpus=int(amounts.get("gpu", 0)),
        max_download_bytes=disk_bytes,
    )
