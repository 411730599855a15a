"""c2d's ``publishResults`` field: the asset a paid job's outputs.tar is to become."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator, model_validator

from provider.api.validation import out_of_range, printable
from provider.api.wire import Wire

__all__ = ["RESULT_SERVICE_TYPES", "PublishResultsIn", "ResultComputeIn", "TrustedAlgorithmIn"]

# The services a published result may have, both served by this provider.
RESULT_SERVICE_TYPES = ("access", "compute")
_ADDRESS = r"^0x[0-9a-fA-F]{40}$"


class TrustedAlgorithmIn(Wire):
    did: str = Field(pattern=r"^did:op:[0-9a-fA-F]{64}$")
    files_checksum: str = Field(default="", alias="filesChecksum", max_length=64 * 64)
    container_section_checksum: str = Field(
        default="", alias="containerSectionChecksum", max_length=128
    )


class ResultComputeIn(Wire):
    """The compute service's policy, as a dataset's ``compute`` block says it (docs/design.md)."""

    publisher_trusted_algorithms: list[TrustedAlgorithmIn] = Field(
        default_factory=list, alias="publisherTrustedAlgorithms", max_length=64
    )
    publisher_trusted_algorithm_publishers: list[
        Annotated[str, Field(pattern=_ADDRESS + "|^\\*$")]
    ] = Field(default_factory=list, alias="publisherTrustedAlgorithmPublishers", max_length=64)
    allow_raw_algorithm: bool = Field(default=False, alias="allowRawAlgorithm")
    allow_network_access: bool = Field(default=False, alias="allowNetworkAccess")


class PublishResultsIn(Wire):
    """Publish the job's outputs.tar as a new asset owned by the consumer."""

    name: str = Field(min_length=1, max_length=256)
    description: str = Field(default="", max_length=8192)
    author: str = Field(default="", max_length=256)
    license: str = Field(default="", max_length=256)
    tags: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=16
    )
    services: list[str] = Field(default_factory=lambda: ["access"], max_length=2)
    compute: ResultComputeIn | None = None

    @field_validator("services")
    @classmethod
    def _known_services(cls, services: list[str]) -> list[str]:
        if not services:
            raise out_of_range("name at least one service: access, compute or both")
        for service in services:
            if service not in RESULT_SERVICE_TYPES:
                raise out_of_range(
                    f"{printable(service)!r} is no service a result is published with"
                    " (give access, compute or both)"
                )
        if len(set(services)) != len(services):
            raise out_of_range("each service at most once")
        return services

    @model_validator(mode="after")
    def _compute_for_a_compute_service(self) -> PublishResultsIn:
        if self.compute is not None and "compute" not in self.services:
            raise out_of_range(
                'the policy of a compute service: add "compute" to publishResults.services',
                "compute",
            )
        return self
