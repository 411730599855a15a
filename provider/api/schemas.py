"""Request bodies of the Ocean Node compute API (camelCase on the wire, snake_case here)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "AlgorithmIn",
    "AlgorithmMetaIn",
    "AuthTokenRequest",
    "ComputeAssetIn",
    "ContainerIn",
    "InitializeComputeRequest",
    "InvalidateTokenRequest",
    "ResourceRequest",
    "StartComputeRequest",
]

ADDRESS_PATTERN = r"^0x[0-9a-fA-F]{40}$"


class _Wire(BaseModel):
    # Clients send more than we use (policyServer, dockerRegistryAuth, ...): ignore the rest.
    model_config = ConfigDict(populate_by_name=True, extra="ignore")


class ContainerIn(_Wire):
    entrypoint: str = Field(min_length=1, max_length=1024)
    image: str = Field(min_length=1, max_length=256)
    tag: str = Field(default="latest", max_length=128)
    checksum: str = Field(default="", max_length=128)
    # Ocean Node builds images from it; refused at start (provider/jobs/admission.py).
    dockerfile: str | None = Field(default=None, max_length=256 * 1024)


class AlgorithmMetaIn(_Wire):
    rawcode: str | None = Field(default=None, max_length=512 * 1024)
    url: str | None = Field(default=None, max_length=4096)
    container: ContainerIn
    language: str | None = None
    version: str | None = None


class AlgorithmIn(_Wire):
    document_id: str | None = Field(default=None, alias="documentId", max_length=128)
    service_id: str | None = Field(default=None, alias="serviceId", max_length=256)
    transfer_tx_id: str | None = Field(default=None, alias="transferTxId", max_length=128)
    meta: AlgorithmMetaIn | None = None
    file_object: dict[str, Any] | None = Field(default=None, alias="fileObject")
    algocustomdata: dict[str, Any] | None = None
    userdata: dict[str, Any] | None = None
    envs: dict[str, str] | None = None


class ComputeAssetIn(_Wire):
    document_id: str | None = Field(default=None, alias="documentId", max_length=128)
    service_id: str | None = Field(default=None, alias="serviceId", max_length=256)
    transfer_tx_id: str | None = Field(default=None, alias="transferTxId", max_length=128)
    file_object: dict[str, Any] | None = Field(default=None, alias="fileObject")
    userdata: dict[str, Any] | None = None


class ResourceRequest(_Wire):
    id: str = Field(max_length=40)
    amount: float = Field(ge=0)


class StartComputeRequest(_Wire):
    consumer_address: str = Field(alias="consumerAddress", pattern=ADDRESS_PATTERN)
    signature: str | None = Field(default=None, max_length=200)
    nonce: str | int | None = None
    environment: str = Field(max_length=128)
    algorithm: AlgorithmIn
    datasets: list[ComputeAssetIn] = Field(default_factory=list, max_length=32)
    # ocean.js also sends `dataset` and `chainId`; accepted and ignored (docs/api.md).
    dataset: ComputeAssetIn | None = None
    chain_id: int | None = Field(default=None, alias="chainId")
    encrypted_docker_registry_auth: str | None = Field(
        default=None, alias="encryptedDockerRegistryAuth", max_length=64 * 1024
    )
    max_job_duration: float | None = Field(default=None, alias="maxJobDuration", ge=0)
    resources: list[ResourceRequest] = Field(default_factory=list, max_length=16)
    payment: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    additional_viewers: list[str] = Field(
        default_factory=list, alias="additionalViewers", max_length=32
    )
    queue_max_wait_time: float | None = Field(default=None, alias="queueMaxWaitTime", ge=0)
    # ocean.js sends an ECIES-encrypted hex string; admission refuses any output for now.
    output: str | dict[str, Any] | None = None

    @field_validator("additional_viewers")
    @classmethod
    def _addresses(cls, viewers: list[str]) -> list[str]:
        for viewer in viewers:
            if not re.match(ADDRESS_PATTERN, viewer):
                raise ValueError(f"additionalViewers: {viewer!r} is not an address")
        return viewers


class InitializeComputeRequest(_Wire):
    """initializeCompute: the start request to be, unsigned; ocean.js puts ``resources`` and
    the chain inside ``payment``."""

    consumer_address: str = Field(alias="consumerAddress", pattern=ADDRESS_PATTERN)
    environment: str = Field(max_length=128)
    algorithm: AlgorithmIn
    datasets: list[ComputeAssetIn] = Field(default_factory=list, max_length=32)
    max_job_duration: float | None = Field(default=None, alias="maxJobDuration", ge=0)
    resources: list[ResourceRequest] = Field(default_factory=list, max_length=16)
    payment: dict[str, Any] | None = None
    chain_id: int | None = Field(default=None, alias="chainId")
    output: str | dict[str, Any] | None = None

    def as_start(self) -> StartComputeRequest:
        payment = self.payment or {}
        raw_resources = payment.get("resources") or []
        resources = self.resources or [ResourceRequest.model_validate(r) for r in raw_resources]
        return StartComputeRequest(
            consumer_address=self.consumer_address,
            environment=self.environment,
            algorithm=self.algorithm,
            datasets=self.datasets,
            max_job_duration=self.max_job_duration,
            resources=resources,
            payment=payment,
            chain_id=self.chain_id,
            output=self.output,
        )


class AuthTokenRequest(_Wire):
    address: str = Field(pattern=ADDRESS_PATTERN)
    signature: str = Field(max_length=200)
    nonce: str | int
    valid_until: int | None = Field(default=None, alias="validUntil")


class InvalidateTokenRequest(_Wire):
    address: str = Field(pattern=ADDRESS_PATTERN)
    signature: str = Field(max_length=200)
    nonce: str | int
    token: str = Field(max_length=4096)
