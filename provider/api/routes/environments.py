"""GET computeEnvironments — the environments, their resources, prices, access and load."""

from __future__ import annotations

import functools
import platform
import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query

from provider.api.deps import ServicesDep
from provider.api.validation import MAX_INTEGER
from provider.environment_access import render_access
from provider.environments import EnvironmentConfig, ResourceConfig
from provider.jobs.occupancy import Occupancy, environment_occupancy

__all__ = ["render_environment", "router"]

router = APIRouter(prefix="/api/services")


@router.get("/computeEnvironments")
def compute_environments(
    services: ServicesDep,
    chain_id: Annotated[int | None, Query(alias="chainId", ge=0, le=MAX_INTEGER)] = None,
) -> list[dict[str, Any]]:
    # As Ocean Node: with a chainId (0 counts as none), only environments paid on that chain.
    now = time.time()
    return [
        render_environment(
            env, services.account.address, environment_occupancy(services.engine, env.id, now)
        )
        for env in services.config.environments
        if not chain_id or str(chain_id) in env.fees
    ]


def render_environment(
    env: EnvironmentConfig, provider_address: str, load: Occupancy | None = None
) -> dict[str, Any]:
    """The environment as Ocean Node lists it, with ``load`` (its unfinished jobs) counted."""
    load = load or Occupancy()
    free = env.free is not None
    body: dict[str, Any] = {
        "id": env.id,
        "description": env.description,
        "consumerAddress": provider_address,
        "access": render_access(env.access),
        "storageExpiry": env.storage_expiry,
        "minJobDuration": env.min_job_duration,
        "maxJobDuration": env.max_job_duration,
        "maxJobs": env.max_jobs,
        "runningJobs": load.running,
        "runningfreeJobs": load.running if free else 0,
        "queuedJobs": load.queued,
        "queuedFreeJobs": load.queued if free else 0,
        "queMaxWaitTime": load.queue_wait,
        "queMaxWaitTimeFree": load.queue_wait if free else 0,
        "runMaxWaitTime": load.run_wait,
        "runMaxWaitTimeFree": load.run_wait if free else 0,
        "fees": {
            chain: [fee.model_dump(by_alias=True) for fee in fees]
            for chain, fees in env.fees.items()
        },
        "resources": [
            {**_resource(r), "total": r.total, "max": r.max, "min": r.min, **_used(r, load)}
            for r in env.resources
        ],
        "platform": {"architecture": platform.machine(), "os": "linux"},
        "images": list(env.images),
        # Images pulled from registries (docs/environments.md#images); none are built here.
        "registryImages": list(env.registry_images),
        "registryDigestsOnly": env.registry_digests_only,
        "maxImageSize": env.max_image_size,
        "allowImageBuild": False,
        # No engine gives an algorithm network (a job that would get it is refused at
        # admission), so no algorithm here has any, whatever allowNetwork says.
        "enableNetwork": False,
        "allowNetwork": env.allow_network,
    }
    if env.free:
        body["free"] = {
            "access": render_access(env.job_access),
            "storageExpiry": env.job_storage_expiry,
            "minJobDuration": env.job_min_duration,
            "maxJobDuration": env.free.max_job_duration,
            "maxJobs": env.free.max_jobs,
            "allowImageBuild": False,
            "resources": [
                {**_resource(r), "max": env.free_max(r.id), **_used(r, load)} for r in env.resources
            ],
        }
    return body


def _resource(resource: ResourceConfig) -> dict[str, Any]:
    description = resource.description
    if description is None and resource.id == "cpu":
        description = _cpu_model()
    shown: dict[str, Any] = {"id": resource.id, "type": resource.type or resource.id}
    if description:
        shown["description"] = description
    return shown


def _used(resource: ResourceConfig, load: Occupancy) -> dict[str, float]:
    return {"inUse": round(load.in_use.get(resource.id, 0.0), 6)}


@functools.cache
def _cpu_model() -> str | None:
    """The CPU's model name, as Ocean Node describes its cpu resource."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "model name" and value.strip():
            return value.strip()
    return None
