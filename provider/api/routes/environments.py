"""GET computeEnvironments — the environments, their resources, prices and free limits."""

from __future__ import annotations

import platform
from typing import Annotated, Any

from fastapi import APIRouter, Query

from provider.api.deps import ServicesDep
from provider.api.validation import MAX_INTEGER
from provider.environments import EnvironmentConfig
from provider.observability.metrics import JobCounter

__all__ = ["render_environment", "router"]

router = APIRouter(prefix="/api/services")


@router.get("/computeEnvironments")
def compute_environments(
    services: ServicesDep,
    chain_id: Annotated[int | None, Query(alias="chainId", ge=0, le=MAX_INTEGER)] = None,
) -> list[dict[str, Any]]:
    # Free environments serve every chain; paid ones are listed for the chains they are paid on.
    engine = services.engine
    depths = engine.queue_depths() if isinstance(engine, JobCounter) else {}
    return [
        render_environment(
            env, services.account.address, engine.active_jobs(env.id), depths.get(env.id, 0)
        )
        for env in services.config.environments
        if chain_id is None or env.free is not None or str(chain_id) in env.fees
    ]


def render_environment(
    env: EnvironmentConfig, provider_address: str, active: int, queued: int = 0
) -> dict[str, Any]:
    """``active``: unfinished jobs of the environment, of which ``queued`` wait for a slot."""
    running = max(0, active - queued)
    body: dict[str, Any] = {
        "id": env.id,
        "description": env.description,
        "consumerAddress": provider_address,
        "storageExpiry": env.storage_expiry,
        "minJobDuration": env.min_job_duration,
        "maxJobDuration": env.max_job_duration,
        "maxJobs": env.max_jobs,
        "runningJobs": running,
        "runningfreeJobs": running if env.free else 0,
        "queuedJobs": queued,
        "queuedFreeJobs": queued if env.free else 0,
        "fees": {
            chain: [fee.model_dump(by_alias=True) for fee in fees]
            for chain, fees in env.fees.items()
        },
        "resources": [
            {"id": r.id, "total": r.total, "max": r.max, "min": r.min, "inUse": 0}
            for r in env.resources
        ],
        "platform": {"architecture": platform.machine(), "os": "linux"},
        "images": list(env.images),
        # Images pulled from registries (docs/environments.md#images); none are built here.
        "registryImages": list(env.registry_images),
        "registryDigestsOnly": env.registry_digests_only,
        "maxImageSize": env.max_image_size,
        "allowImageBuild": False,
        "allowNetwork": env.allow_network,
    }
    if env.free:
        body["free"] = {
            "maxJobDuration": env.free.max_job_duration,
            "maxJobs": env.free.max_jobs,
            "allowImageBuild": False,
            "resources": [
                {"id": r.id, "max": env.free_max(r.id), "inUse": 0} for r in env.resources
            ],
        }
    return body
