"""Request bodies of the Ocean Node compute API (camelCase on the wire, snake_case here)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from provider.api.validation import (
    MAX_AMOUNT,
    MAX_INTEGER,
    MAX_SAFE_INTEGER,
    MAX_SECONDS,
    check_json,
    out_of_range,
    printable,
)
from provider.errors import BadRequest

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
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_MAX_ENVS = 64
_MAX_ENV_VALUE = 32 * 1024

# A finite number of seconds; the environment's own maxima apply after the schema.
Seconds = Annotated[float, Field(ge=0, le=MAX_SECONDS, allow_inf_nan=False)]
ChainId = Annotated[int, Field(ge=0, le=MAX_INTEGER)]
# Signed requests: a decimal string (as ocean.js sends it) or an integer; checked by the
# Authenticator.
Nonce = Annotated[str, Field(max_length=40)] | int


class _Wire(BaseModel):
    # Clients send more than we use (policyServer, dockerRegistryAuth, ...): ignore the rest.
    model_config = ConfigDict(populate_by_name=True, extra="ignore")


class _Body(_Wire):
    """A whole request body: every value in it, known field or not, is in range first."""

    @model_validator(mode="before")
    @classmethod
    def _sane(cls, data: Any) -> Any:
        check_json(data)
        return data


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
    language: str | None = Field(default=None, max_length=64)
    version: str | None = Field(default=None, max_length=64)


class AlgorithmIn(_Wire):
    document_id: str | None = Field(default=None, alias="documentId", max_length=128)
    service_id: str | None = Field(default=None, alias="serviceId", max_length=256)
    transfer_tx_id: str | None = Field(default=None, alias="transferTxId", max_length=128)
    meta: AlgorithmMetaIn | None = None
    file_object: dict[str, Any] | None = Field(default=None, alias="fileObject")
    algocustomdata: dict[str, Any] | None = None
    userdata: dict[str, Any] | None = None
    envs: dict[str, str] | None = None

    @field_validator("envs")
    @classmethod
    def _environment_variables(cls, envs: dict[str, str] | None) -> dict[str, str] | None:
        if envs is None:
            return None
        if len(envs) > _MAX_ENVS:
            raise out_of_range(f"at most {_MAX_ENVS} variables")
        for name, value in envs.items():
            if not _ENV_NAME.fullmatch(name):
                raise out_of_range(
                    f"{printable(name)!r} is no variable name (a letter or _, then letters,"
                    " digits or _, at most 128)"
                )
            if len(value) > _MAX_ENV_VALUE:
                raise out_of_range(f"{name}: at most {_MAX_ENV_VALUE} characters")
        return envs


class ComputeAssetIn(_Wire):
    document_id: str | None = Field(default=None, alias="documentId", max_length=128)
    service_id: str | None = Field(default=None, alias="serviceId", max_length=256)
    transfer_tx_id: str | None = Field(default=None, alias="transferTxId", max_length=128)
    file_object: dict[str, Any] | None = Field(default=None, alias="fileObject")
    userdata: dict[str, Any] | None = None


class ResourceRequest(_Wire):
    id: str = Field(min_length=1, max_length=40)
    # Below the resource's minimum (0 included) is raised to it, as Ocean Node does.
    amount: float = Field(ge=0, le=MAX_AMOUNT, allow_inf_nan=False)


class StartComputeRequest(_Body):
    consumer_address: str = Field(alias="consumerAddress", pattern=ADDRESS_PATTERN)
    signature: str | None = Field(default=None, max_length=200)
    nonce: Nonce | None = None
    environment: str = Field(max_length=128)
    algorithm: AlgorithmIn
    datasets: list[ComputeAssetIn] = Field(default_factory=list, max_length=32)
    # ocean.js also sends `dataset` and `chainId`; accepted and ignored (docs/api.md).
    dataset: ComputeAssetIn | None = None
    chain_id: ChainId | None = Field(default=None, alias="chainId")
    encrypted_docker_registry_auth: str | None = Field(
        default=None, alias="encryptedDockerRegistryAuth", max_length=64 * 1024
    )
    max_job_duration: Seconds | None = Field(default=None, alias="maxJobDuration")
    resources: list[ResourceRequest] = Field(default_factory=list, max_length=16)
    payment: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    additional_viewers: list[str] = Field(
        default_factory=list, alias="additionalViewers", max_length=32
    )
    queue_max_wait_time: Seconds | None = Field(default=None, alias="queueMaxWaitTime")
    # ocean.js sends an ECIES-encrypted hex string; admission refuses any output for now.
    output: str | dict[str, Any] | None = None

    @field_validator("additional_viewers")
    @classmethod
    def _addresses(cls, viewers: list[str]) -> list[str]:
        for viewer in viewers:
            if not re.match(ADDRESS_PATTERN, viewer):
                raise ValueError(f"additionalViewers: {viewer!r} is not an address")
        return viewers


class InitializeComputeRequest(_Body):
    """initializeCompute: the start request to be, unsigned; ocean.js puts ``resources`` and
    the chain inside ``payment``."""

    consumer_address: str = Field(alias="consumerAddress", pattern=ADDRESS_PATTERN)
    environment: str = Field(max_length=128)
    algorithm: AlgorithmIn
    datasets: list[ComputeAssetIn] = Field(default_factory=list, max_length=32)
    max_job_duration: Seconds | None = Field(default=None, alias="maxJobDuration")
    resources: list[ResourceRequest] = Field(default_factory=list, max_length=16)
    payment: dict[str, Any] | None = None
    chain_id: ChainId | None = Field(default=None, alias="chainId")
    output: str | dict[str, Any] | None = None

    def as_start(self) -> StartComputeRequest:
        payment = self.payment or {}
        raw_resources = payment.get("resources") or []
        if not isinstance(raw_resources, list):
            raise BadRequest("payment.resources: must be a list of {id, amount}")
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


class AuthTokenRequest(_Body):
    address: str = Field(pattern=ADDRESS_PATTERN)
    signature: str = Field(max_length=200)
    nonce: Nonce
    # Unix seconds, or milliseconds (above 10**12) as JavaScript's Date.now() gives them.
    valid_until: int | None = Field(default=None, alias="validUntil", ge=0, le=MAX_SAFE_INTEGER)


class InvalidateTokenRequest(_Body):
    address: str = Field(pattern=ADDRESS_PATTERN)
    signature: str = Field(max_length=200)
    nonce: Nonce
    token: str = Field(max_length=4096)
