"""Compute environments: the operator's config file (YAML or JSON), validated, or defaults."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from provider.chains.config import ChainConfig
from provider.environment_access import AccessConfig
from provider.errors import ConfigError
from provider.job_slots import default_job_slots
from provider.runtime_config import KubernetesConfig, RuntimeConfig
from steps.images.policy import validate_pattern

__all__ = [
    "EnvironmentConfig",
    "FeeConfig",
    "FreeConfig",
    "KubernetesConfig",
    "PriceConfig",
    "ProviderConfig",
    "ResourceConfig",
    "RuntimeConfig",
    "default_config",
    "load_config",
]

_GIB = 2**30


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class ResourceConfig(_Config):
    id: str = Field(pattern=r"^[a-zA-Z0-9_.-]{1,40}$")
    total: float = Field(gt=0)
    max: float = Field(gt=0)
    min: float = Field(default=1, ge=0)
    description: str | None = None
    # Ocean Node's resource type (cpu, ram, disk, gpu, ...); default: the id.
    type: str | None = Field(default=None, max_length=40)

    @model_validator(mode="after")
    def _ordered(self) -> ResourceConfig:
        if not self.min <= self.max <= self.total:
            raise ValueError(f"resource {self.id}: need min <= max <= total")
        return self


class FreeResource(_Config):
    id: str
    max: float = Field(gt=0)


class FreeConfig(_Config):
    max_job_duration: int = Field(default=600, gt=0, alias="maxJobDuration")
    max_jobs: int = Field(default=4, gt=0, alias="maxJobs")
    resources: tuple[FreeResource, ...] = ()
    # Ocean Node's free block may set these apart from the environment's; unset: the
    # environment's own apply to free jobs.
    min_job_duration: int | None = Field(default=None, gt=0, alias="minJobDuration")
    storage_expiry: int | None = Field(default=None, gt=0, alias="storageExpiry")
    access: AccessConfig | None = None


class PriceConfig(_Config):
    id: str
    price: float = Field(ge=0, description="fee tokens per unit of the resource per minute")


class FeeConfig(_Config):
    """How a paid environment is paid on one chain: a token and per-minute resource prices."""

    fee_token: str = Field(alias="feeToken", pattern=r"^0x[0-9a-fA-F]{40}$")
    prices: tuple[PriceConfig, ...] = ()


_ENVIRONMENT_ID = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


class EnvironmentConfig(_Config):
    # A Kubernetes label value on a cluster (c2d/environment): checked at load, or every job
    # of the environment would fail when its Workflow is created.
    id: str
    description: str = ""
    max_job_duration: int = Field(default=600, gt=0, alias="maxJobDuration")
    min_job_duration: int = Field(default=1, gt=0, alias="minJobDuration")
    storage_expiry: int = Field(default=7 * 86400, gt=0, alias="storageExpiry")
    # GiB the stored results of this environment's jobs may take together (local engine).
    max_result_storage: float | None = Field(default=None, gt=0, alias="maxResultStorage")
    # Seconds a data source may stay silent before configure gives up (status 31/32).
    download_timeout: float = Field(default=60, gt=0, le=3600, alias="downloadTimeout")
    max_jobs: int = Field(default=4, gt=0, alias="maxJobs")
    resources: tuple[ResourceConfig, ...] = Field(min_length=1)
    free: FreeConfig | None = None
    allow_network: bool = Field(default=False, alias="allowNetwork")
    # Who may start jobs here (Ocean Node's ``access``); a free block's own ``access`` wins.
    access: AccessConfig = Field(default_factory=AccessConfig)
    allow_raw_data: bool = Field(default=True, alias="allowRawData")
    allow_raw_algorithm: bool = Field(default=True, alias="allowRawAlgorithm")
    runtimes: tuple[RuntimeConfig, ...] = Field(min_length=1)
    # Images pulled from registries (docs/environments.md#images): patterns, none by default.
    registry_images: tuple[str, ...] = Field(default=(), alias="registryImages")
    registry_digests_only: bool = Field(default=False, alias="registryDigestsOnly")
    # GiB an image's compressed layers may take (a pull over it fails with status 11).
    max_image_size: float = Field(default=10, gt=0, alias="maxImageSize")
    kubernetes: KubernetesConfig | None = None
    # Publisher WorkflowTemplates a dataset may name to preprocess its inputs (an allow-list).
    publisher_templates: tuple[
        Annotated[str, Field(pattern=r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$")], ...
    ] = Field(default=(), alias="publisherTemplates")
    # Paid environments: per chain id (a decimal string, as Ocean writes it), how to pay.
    fees: dict[str, tuple[FeeConfig, ...]] = Field(default_factory=dict)

    @field_validator("id")
    @classmethod
    def _label_value(cls, value: str) -> str:
        if not _ENVIRONMENT_ID.match(value):
            raise ValueError(
                f"{value!r} is not a valid environment id: it is a Kubernetes label value,"
                " at most 63 lowercase letters, digits and '-', starting and ending with a"
                " letter or digit"
            )
        return value

    @field_validator("registry_images")
    @classmethod
    def _patterns(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(validate_pattern(pattern) for pattern in patterns)

    @model_validator(mode="after")
    def _consistent(self) -> EnvironmentConfig:
        ids = [resource.id for resource in self.resources]
        for required in ("cpu", "ram", "disk"):
            if required not in ids:
                raise ValueError(f"resources must include {required!r}")
        if self.free:
            for free_resource in self.free.resources:
                if free_resource.id not in ids:
                    raise ValueError(f"free.resources: unknown resource {free_resource.id!r}")
        return self

    def fee(self, chain_id: int, token: str | None = None) -> FeeConfig | None:
        """The fee on ``chain_id`` (in ``token`` when given), or None when not paid there."""
        for fee in self.fees.get(str(chain_id), ()):
            if token is None or fee.fee_token.lower() == token.lower():
                return fee
        return None

    @property
    def job_access(self) -> AccessConfig:
        """Who may start jobs here: the free block's ``access`` when it has one."""
        if self.free is not None and self.free.access is not None:
            return self.free.access
        return self.access

    @property
    def job_storage_expiry(self) -> int:
        """Seconds a job's results are kept: the free block's when it sets one."""
        if self.free is not None and self.free.storage_expiry is not None:
            return self.free.storage_expiry
        return self.storage_expiry

    @property
    def job_min_duration(self) -> int:
        """The least ``maxJobDuration`` a job gets: the free block's when it sets one."""
        if self.free is not None and self.free.min_job_duration is not None:
            return self.free.min_job_duration
        return self.min_job_duration

    def resource(self, resource_id: str) -> ResourceConfig | None:
        return next((r for r in self.resources if r.id == resource_id), None)

    def free_max(self, resource_id: str) -> float:
        """Most a free job may ask of a resource: the free block's cap, else the resource's max."""
        resource = self.resource(resource_id)
        cap = resource.max if resource else 0.0
        if self.free:
            for free_resource in self.free.resources:
                if free_resource.id == resource_id:
                    return min(cap, free_resource.max)
        return cap

    @property
    def images(self) -> tuple[str, ...]:
        return tuple(image for runtime in self.runtimes for image in runtime.images)


class ProviderConfig(_Config):
    # The chains served; none: the dev chain of C2D_HOME when there is one.
    chains: tuple[ChainConfig, ...] = ()
    environments: tuple[EnvironmentConfig, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> ProviderConfig:
        ids = [env.id for env in self.environments]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate environment ids: {', '.join(duplicates)}")
        chain_ids = [chain.chain_id for chain in self.chains]
        twice = sorted({c for c in chain_ids if chain_ids.count(c) > 1})
        if twice:
            raise ValueError(f"chains: chainId {', '.join(map(str, twice))} given twice")
        if self.chains:
            for env in self.environments:
                for chain in env.fees:
                    if not chain.isdigit() or int(chain) not in chain_ids:
                        raise ValueError(
                            f"environment {env.id}: fees on chain {chain!r}, which is not"
                            " among chains"
                        )
                for chain, _ in env.job_access.contracts():
                    if int(chain) not in chain_ids:
                        raise ValueError(
                            f"environment {env.id}: access list on chain {chain}, which is not"
                            " among chains"
                        )
        return self

    def environment(self, env_id: str) -> EnvironmentConfig | None:
        return next((env for env in self.environments if env.id == env_id), None)


def load_config(path: Path) -> ProviderConfig:
    try:
        text = path.read_text()
    except OSError as error:
        raise ConfigError(f"cannot read config file {path}: {error.strerror}") from error
    try:
        raw: Any = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise ConfigError(
            f"config file {path} is not valid {path.suffix or 'YAML'}: {error}"
        ) from error
    try:
        return ProviderConfig.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(f"config file {path} is invalid:\n{_describe(error)}") from error


def _describe(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        where = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        lines.append(f"  {where}: {problem['msg']}")
    return "\n".join(lines)


def default_config(home: Path, paid_fees: dict[str, Any] | None = None) -> ProviderConfig:
    """One free environment sized from this machine; network denied; Python 3 as python:3.11.

    With ``paid_fees`` (Ocean's ``fees`` shape, e.g. for the dev chain in C2D_HOME) a second,
    paid environment ``paid`` with the same resources and runtimes is offered beside it.
    """
    cpus = os.cpu_count() or 1
    slots = default_job_slots()
    ram_gib = max(1, _memory_bytes() // _GIB)
    home.mkdir(parents=True, exist_ok=True)
    disk_gib = max(1, min(100, shutil.disk_usage(home).free // _GIB // 2))
    environment = EnvironmentConfig.model_validate(
        {
            "id": "free",
            "description": "Free compute on this machine (sandboxed, no network)",
            "maxJobDuration": 600,
            "maxJobs": slots,
            "resources": [
                {"id": "cpu", "total": cpus, "max": cpus, "min": 1},
                {"id": "ram", "total": ram_gib, "max": ram_gib, "min": 1},
                # No disk minimum: small jobs may ask for a few MiB; not asking gives 1 GiB.
                {"id": "disk", "total": disk_gib, "max": disk_gib, "min": 0},
            ],
            "free": {
                "maxJobDuration": 600,
                "maxJobs": slots,
                "resources": [
                    {"id": "cpu", "max": cpus},
                    {"id": "ram", "max": max(1, ram_gib // 2)},
                    {"id": "disk", "max": min(disk_gib, 10)},
                ],
            },
            "runtimes": [
                {
                    "images": ["python:3.11", "python:3.11-slim"],
                    "binds": ["/usr"],
                    "commands": {"python": "/usr/bin/python3"},
                }
            ],
            # Any other image from a registry this machine may reach, as Ocean Node does.
            "registryImages": ["*"],
        }
    )
    if not paid_fees:
        return ProviderConfig(environments=(environment,))
    paid = EnvironmentConfig.model_validate(
        {
            **environment.model_dump(by_alias=True, exclude={"free", "fees"}),
            "id": "paid",
            "description": "Paid compute on this machine (sandboxed, no network), per minute",
            "fees": paid_fees,
        }
    )
    return ProviderConfig(environments=(environment, paid))


def _memory_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
