"""What the helper re-checks in a job it is asked to check or run: nothing a start request
could not have asked for.

The API process admitted the job already; the helper trusts none of it. A request carries
no path: every folder the helper touches is ``jobs/<jobId>`` or ``results/<jobId>`` under its
own ``C2D_HOME``, and a job id is 32 hex digits (the protocol's schema and ``JobSpec``'s). What
remains is the environment (one the helper's own config offers), what it allows (a publisher's
preprocess template, network) and the limits (within what
that environment allows a paid job, the larger of free and paid, as admission computes them in
``provider/jobs/resources.py``).
"""

from __future__ import annotations

from provider.environments import EnvironmentConfig, ProviderConfig
from workflows.spec import JobSpec, Limits

__all__ = ["RefusedRequest", "check_job"]

_GIB = 2**30
# Admission's floors (provider/jobs/resources.py): a job gets at least these.
_MIN_CPUS = 0.1
_MIN_MEMORY_BYTES = _GIB // 8
_MIN_DISK_BYTES = 2**20
_DEFAULTS = Limits(cpus=1, memory_bytes=1, disk_bytes=1, max_job_duration=1, max_download_bytes=1)


class RefusedRequest(Exception):
    """The request is not one a job start could have made (the message says which part)."""


def check_job(spec: JobSpec, config: ProviderConfig) -> EnvironmentConfig:
    """The job's environment, or RefusedRequest naming what is out of bounds."""
    env = config.environment(spec.environment)
    if env is None:
        raise RefusedRequest(f"unknown environment {spec.environment!r}")
    limits = spec.limits
    disk_cap = max(int(_resource_max(env, "disk") * _GIB), _MIN_DISK_BYTES)
    bounds: list[tuple[str, float, float]] = [
        ("cpus", limits.cpus, max(_resource_max(env, "cpu"), _MIN_CPUS)),
        (
            "memory",
            limits.memory_bytes,
            max(int(_resource_max(env, "ram") * _GIB), _MIN_MEMORY_BYTES),
        ),
        ("disk", limits.disk_bytes, disk_cap),
        ("download budget", limits.max_download_bytes, disk_cap),
        ("gpus", limits.gpus, _resource_max(env, "gpu")),
        ("duration", limits.max_job_duration, env.max_job_duration),
        ("download timeout", limits.download_timeout, env.download_timeout),
        ("processes", limits.max_processes, _DEFAULTS.max_processes),
        ("log size", limits.log_bytes, _DEFAULTS.log_bytes),
    ]
    template = spec.preprocess_template
    if template is not None and template not in env.publisher_templates:
        raise RefusedRequest(f"environment {env.id} does not allow preprocess template {template}")
    if spec.network and not env.allow_network:
        raise RefusedRequest(f"environment {env.id} gives jobs no network")
    for name, asked, cap in bounds:
        if asked > cap:
            raise RefusedRequest(
                f"{name} {asked:g} is above the most environment {env.id} allows ({cap:g})"
            )
    return env


def _resource_max(env: EnvironmentConfig, resource_id: str) -> float:
    resource = env.resource(resource_id)
    return resource.max if resource is not None else 0.0
