"""``c2d render``: print, as YAML, the Workflow the Argo engine would submit for a start request.

The request is the JSON body a client POSTs to ``freeCompute`` or ``compute``, without its
signature. It goes through the provider's own admission (assets by DID from the local registry
``C2D_HOME/assets``, the environments of ``C2D_CONFIG``), so what is printed is what would run.
Payment is not checked: rendering starts nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

__all__ = ["HELP", "NAME", "add_arguments", "render_request", "run"]

NAME = "render"
HELP = "print the Argo Workflow a start request would become (YAML)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("request", type=Path, help="start request JSON (no signature needed)")
    parser.add_argument("--environment", required=True, help="compute environment id")
    parser.add_argument("--job-id", help="32 hex digits (default: a new random id)")
    parser.add_argument(
        "--created-at", type=int, help="unix seconds the job is created at (default: now)"
    )


def run(args: argparse.Namespace) -> int:
    from provider.errors import BadRequest

    try:
        body = json.loads(args.request.read_text())
    except OSError as error:
        raise BadRequest(f"cannot read {args.request}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise BadRequest(f"{args.request} is not JSON: {error}") from None
    if not isinstance(body, dict):
        raise BadRequest(f"{args.request}: the request must be a JSON object")
    text = render_request(
        body,
        environment=args.environment,
        job_id=args.job_id or uuid.uuid4().hex,
        created_at=int(time.time()) if args.created_at is None else args.created_at,
    )
    sys.stdout.write(text)
    return 0


def render_request(body: dict[str, Any], *, environment: str, job_id: str, created_at: int) -> str:
    """The YAML of the Workflow for ``body`` in ``environment``, settings from ``C2D_*``."""
    import yaml
    from pydantic import ValidationError

    from provider.api.schemas import StartComputeRequest
    from provider.api.translate import start_request
    from provider.assets.resolver import RegistryResolver
    from provider.engine_factory import argo_images, argo_placements
    from provider.environments import default_config, load_config
    from provider.errors import BadRequest, NotFound
    from provider.jobs.admission import AdmissionContext, admit_free_job, admit_paid_job
    from provider.settings import load_settings
    from workflows.engines.argo import check_cluster, workflow_for

    settings = load_settings()
    config = load_config(settings.config) if settings.config else default_config(settings.home)
    env = config.environment(environment)
    if env is None:
        offered = ", ".join(e.id for e in config.environments)
        raise NotFound(f"environment {environment} not found; offered: {offered}")
    try:
        wire = StartComputeRequest.model_validate({**body, "environment": environment})
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        raise BadRequest(f"request: {where}: {problem['msg']}") from None
    request = start_request(wire)
    context = AdmissionContext(
        environment=env,
        resolver=RegistryResolver(settings.assets_dir),
        job_id=job_id,
        now=created_at,
        engine_check=check_cluster,
        gateways=settings.gateways,
    )
    admit = admit_free_job if env.free is not None else admit_paid_job
    spec = admit(request, context).model_copy(
        update={"queue_max_wait_time": int(request.queue_max_wait_time or 0)}
    )
    workflow = workflow_for(spec, argo_images(settings), argo_placements(config))
    return yaml.safe_dump(workflow, sort_keys=False)
