"""Request bodies of the Ocean Node compute API (camelCase on the wire, snake_case here)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import Field, TypeAdapter, ValidationError, field_validator, model_validator

from provider.api.field_rules import MAX_METADATA, check_payment, metadata_size, same_value
from provider.api.publish_results import PublishResultsIn
from provider.api.validation import (
    MAX_AMOUNT,
    MAX_INTEGER,
    MAX_SAFE_INTEGER,
    MAX_SECONDS,
    check_json,
    out_of_range,
    printable,
)
from provider.api.wire import Wire, refuse_given
from provider.errors import BadRequest

__all__ = [
    "AlgorithmIn",
    "AlgorithmMetaIn",
    "AuthTokenRequest",
    "ComputeAssetIn",
    "ContainerIn",
    "InitializeComputeRequest",
    "InvalidateTokenRequest",
    "PublishResultsIn",
    "ResourceRequest",
    "StartComputeRequest",
]

ADDRESS_PATTERN = r"^0x[0-9a-fA-F]{40}$"
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_MAX_ENVS = 64
_MAX_ENV_VALUE = 32 * 1024

# A finite number of seconds; the environment's own maxima apply after the schema.
Seconds = Annotated[float, Field(ge=0, le=MAX_SECONDS, allow_inf_nan=False)]
_SECONDS: TypeAdapter[float] = TypeAdapter(Seconds)
ChainId = Annotated[int, Field(ge=0, le=MAX_INTEGER)]
# Signed requests: a decimal string (as ocean.js sends it) or an integer; checked by the
# Authenticator.
Nonce = Annotated[str, Field(max_length=40)] | int


class _Body(Wire):
    """A whole request body: every value in it, known field or not, is in range first."""

    @model_validator(mode="before")
    @classmethod
    def _sane(cls, data: Any) -> Any:
        check_json(data)
        return data


class ContainerIn(Wire):
    entrypoint: str = Field(min_length=1, max_length=1024)
    image: str = Field(min_length=1, max_length=256)
    tag: str = Field(default="latest", max_length=128)
    checksum: str = Field(default="", max_length=128)
    # Ocean Node builds images from it; refused at start (provider/jobs/admission.py).
    dockerfile: str | None = Field(default=None, max_length=256 * 1024)
    additional_docker_files: Any = Field(default=None, alias="additionalDockerFiles")
    # A published algorithm's declaration of its parameters: descriptive, as on Ocean Node.
    consumer_parameters: Any = Field(default=None, alias="consumerParameters")

    @model_validator(mode="after")
    def _no_build(self) -> ContainerIn:
        refuse_given(
            self.additional_docker_files,
            "additionalDockerFiles",
            "this provider builds no images; give an image (and tag or checksum) a registry serves",
        )
        return self


class AlgorithmMetaIn(Wire):
    rawcode: str | None = Field(default=None, max_length=512 * 1024)
    url: str | None = Field(default=None, max_length=4096)
    container: ContainerIn
    language: str | None = Field(default=None, max_length=64)
    version: str | None = Field(default=None, max_length=64)
    # A published algorithm's declaration of its parameters: descriptive, as on Ocean Node.
    consumer_parameters: Any = Field(default=None, alias="consumerParameters")


class AlgorithmIn(Wire):
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

    @model_validator(mode="after")
    def _not_acted_on(self) -> AlgorithmIn:
        refuse_given(
            self.userdata,
            "userdata",
            "an algorithm takes no userdata (a dataset's is appended to its URLs); give the"
            " algorithm its parameters in algocustomdata",
        )
        refuse_given(
            self.file_object,
            "fileObject",
            "give a raw algorithm's code in meta.rawcode or meta.url, or a published one by"
            " documentId",
        )
        return self


class ComputeAssetIn(Wire):
    document_id: str | None = Field(default=None, alias="documentId", max_length=128)
    service_id: str | None = Field(default=None, alias="serviceId", max_length=256)
    transfer_tx_id: str | None = Field(default=None, alias="transferTxId", max_length=128)
    file_object: dict[str, Any] | None = Field(default=None, alias="fileObject")
    userdata: dict[str, Any] | None = None


class ResourceRequest(Wire):
    id: str = Field(min_length=1, max_length=40)
    # Below the resource's minimum (0 included) is raised to it, as Ocean Node does.
    amount: float = Field(ge=0, le=MAX_AMOUNT, allow_inf_nan=False)


class _OceanNodeOnly(_Body):
    """Ocean Node's fields for features this provider does not have: refused, with why."""

    policy_server: Any = Field(default=None, alias="policyServer")
    output_bucket_id: Any = Field(default=None, alias="outputBucketId")
    node: Any = None

    @model_validator(mode="after")
    def _refused(self) -> _OceanNodeOnly:
        refuse_given(
            self.policy_server,
            "policyServer",
            "this provider has no policy server; access follows the assets' credentials and"
            " the environment's access list",
        )
        refuse_given(
            self.output_bucket_id,
            "outputBucketId",
            "this provider has no persistent storage buckets; send the results to your own"
            " storage with output",
        )
        refuse_given(
            self.node,
            "node",
            "this provider routes no requests to other nodes; send it to the node you mean",
        )
        return self


class StartComputeRequest(_OceanNodeOnly):
    consumer_address: str = Field(alias="consumerAddress", pattern=ADDRESS_PATTERN)
    signature: str | None = Field(default=None, max_length=200)
    nonce: Nonce | None = None
    environment: str = Field(max_length=128)
    algorithm: AlgorithmIn
    datasets: list[ComputeAssetIn] = Field(default_factory=list, max_length=32)
    # ocean.js sends datasets[0] again as `dataset`: it must be that copy.
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
    # The ECIES-encrypted hex string ocean.js sends (provider/jobs/output.py).
    output: str | dict[str, Any] | None = None
    publish_results: PublishResultsIn | None = Field(default=None, alias="publishResults")

    @model_validator(mode="after")
    def _consistent(self) -> StartComputeRequest:
        if self.dataset is not None and (not self.datasets or self.dataset != self.datasets[0]):
            raise out_of_range(
                "must be a copy of datasets[0] (as ocean.js sends it); list every dataset in"
                " datasets",
                "dataset",
            )
        payment = check_payment(self.payment, self.chain_id)
        if payment.get("maxJobDuration") is not None:
            duration = _SECONDS.validate_python(payment["maxJobDuration"])
            self.max_job_duration = same_value("maxJobDuration", self.max_job_duration, duration)
        if payment.get("resources"):
            resources = [ResourceRequest.model_validate(r) for r in payment["resources"]]
            self.resources = same_value("resources", self.resources or None, resources)
        return self

    @field_validator("additional_viewers")
    @classmethod
    def _addresses(cls, viewers: list[str]) -> list[str]:
        for viewer in viewers:
            if not re.match(ADDRESS_PATTERN, viewer):
                raise ValueError(f"additionalViewers: {viewer!r} is not an address")
        return viewers

    @field_validator("metadata")
    @classmethod
    def _small_metadata(cls, metadata: dict[str, Any] | None) -> dict[str, Any] | None:
        size = metadata_size(metadata)
        if size > MAX_METADATA:
            raise out_of_range(
                f"Metadata size is too large: {size} characters as JSON, at most"
                f" {MAX_METADATA} (Ocean Node's limit)"
            )
        return metadata


class InitializeComputeRequest(_OceanNodeOnly):
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
    queue_max_wait_time: Seconds | None = Field(default=None, alias="queueMaxWaitTime")
    encrypted_docker_registry_auth: str | None = Field(
        default=None, alias="encryptedDockerRegistryAuth", max_length=64 * 1024
    )
    publish_results: PublishResultsIn | None = Field(default=None, alias="publishResults")

    def as_start(self) -> StartComputeRequest:
        try:
            return StartComputeRequest(
                consumer_address=self.consumer_address,
                environment=self.environment,
                algorithm=self.algorithm,
                datasets=self.datasets,
                max_job_duration=self.max_job_duration,
                resources=self.resources,
                payment=self.payment,
                chain_id=self.chain_id,
                output=self.output,
                queue_max_wait_time=self.queue_max_wait_time,
                encrypted_docker_registry_auth=self.encrypted_docker_registry_auth,
                publish_results=self.publish_results,
            )
        except ValidationError as error:
            problem = error.errors()[0]
            where = ".".join(str(part) for part in problem["loc"])
            raise BadRequest(f"{where}: {problem['msg']}" if where else problem["msg"]) from None


class AuthTokenRequest(_Body):
    address: str = Field(pattern=ADDRESS_PATTERN)
    signature: str = Field(max_length=200)
    nonce: Nonce
    # Ocean Node checks ERC-1271 smart-account signatures on this chain; c2d checks EOA
    # signatures only, which need no chain (docs/api.md).
    chain_id: ChainId | None = Field(default=None, alias="chainId")
    # Unix seconds, or milliseconds (above 10**12) as JavaScript's Date.now() gives them.
    valid_until: int | None = Field(default=None, alias="validUntil", ge=0, le=MAX_SAFE_INTEGER)


class InvalidateTokenRequest(_Body):
    address: str = Field(pattern=ADDRESS_PATTERN)
    signature: str = Field(max_length=200)
    nonce: Nonce
    token: str = Field(max_length=4096)
