"""What a client asks of the job use cases, in the domain's words (no HTTP, no camelCase).

The routes translate the wire models of provider/api/schemas.py into these (provider/api/
translate.py); admission, payments and ``c2d render`` read only these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workflows.spec import Container

__all__ = [
    "AlgorithmRequest",
    "Credentials",
    "DatasetRequest",
    "RawAlgorithm",
    "ResourceAmount",
    "ResultAssetRequest",
    "StartRequest",
]


@dataclass(frozen=True)
class Credentials:
    """What a request carries to prove who it is: a signature + nonce, or an auth token."""

    nonce: str | int | None = None
    signature: str | None = None
    token: str | None = None


@dataclass(frozen=True)
class RawAlgorithm:
    """An algorithm given in the request itself: a container and its code or code URL."""

    container: Container
    rawcode: str | None = None
    url: str | None = None
    dockerfile: str | None = None


@dataclass(frozen=True)
class AlgorithmRequest:
    """A published algorithm (``document_id`` + ``service_id``) or a ``raw`` one."""

    document_id: str | None = None
    service_id: str | None = None
    transfer_tx_id: str | None = None
    raw: RawAlgorithm | None = None
    custom_data: dict[str, Any] | None = None
    envs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DatasetRequest:
    """A published dataset (``document_id`` + ``service_id``) or a raw ``file_object``."""

    document_id: str | None = None
    service_id: str | None = None
    transfer_tx_id: str | None = None
    file_object: dict[str, Any] | None = None
    userdata: dict[str, Any] | None = None


@dataclass(frozen=True)
class ResourceAmount:
    id: str
    amount: float


@dataclass(frozen=True)
class ResultAssetRequest:
    """The asset the job's outputs are to become (c2d's ``publishResults``): its metadata, its
    services, and the policy of its compute service (a DDO ``compute`` block; None: the
    default, algorithms published by the owner)."""

    name: str
    description: str = ""
    author: str = ""
    license: str = ""
    tags: tuple[str, ...] = ()
    services: tuple[str, ...] = ("access",)
    compute: dict[str, Any] | None = None

    def as_metadata(self) -> dict[str, Any]:
        """What the publication row keeps until the job ends (provider/assets/results.py)."""
        return {
            "name": self.name,
            "description": self.description,
            "author": self.author,
            "license": self.license,
            "tags": list(self.tags),
            "services": list(self.services),
            "compute": self.compute,
        }


@dataclass(frozen=True)
class StartRequest:
    """A job to start (or, for initializeCompute, to price)."""

    consumer_address: str
    environment: str
    algorithm: AlgorithmRequest
    datasets: tuple[DatasetRequest, ...] = ()
    resources: tuple[ResourceAmount, ...] = ()
    max_job_duration: float | None = None
    queue_max_wait_time: float | None = None
    additional_viewers: tuple[str, ...] = ()
    metadata: dict[str, Any] | None = None
    # The client's payment terms (token, chain, resources) as sent; payments reads them.
    payment: dict[str, Any] | None = None
    chain_id: int | None = None
    # Where the results should go (ECIES-encrypted for the provider, or an object).
    output: str | dict[str, Any] | None = None
    # Ocean Node's encryptedDockerRegistryAuth: hex of ECIES(provider key, JSON auth entry).
    registry_auth: str | None = None
    # Publish outputs.tar as a new asset once the job succeeds (paid jobs only).
    publish_results: ResultAssetRequest | None = None

    def payment_fields(self) -> list[str]:
        """The fields given that only a paid start acts on (a free one refuses them)."""
        given = ["payment"] if self.payment else []
        given += ["chainId"] if self.chain_id is not None else []
        if self.algorithm.transfer_tx_id:
            given.append("algorithm.transferTxId")
        given += [
            f"datasets[{i}].transferTxId" for i, d in enumerate(self.datasets) if d.transfer_tx_id
        ]
        return given
