"""Pydantic models of Ocean DDO v4/v5 and the identifiers and checksums derived from them."""

from __future__ import annotations

import hashlib
import re
from typing import Any, Literal

from eth_utils.address import to_checksum_address
from pydantic import BaseModel, ConfigDict, Field

from provider.errors import BadRequest, NotFound

__all__ = [
    "AlgorithmMetadata",
    "ComputePolicy",
    "Container",
    "Credential",
    "Credentials",
    "Ddo",
    "Metadata",
    "Service",
    "ServiceFiles",
    "TrustedAlgorithm",
    "container_section_checksum",
    "did_for",
    "did_hex",
    "service_by_id",
]

_DID = re.compile(r"did:op:([0-9a-fA-F]{64})")


class _DdoModel(BaseModel):
    # Real DDOs carry many fields we do not use (tags, consumerParameters, event, stats…);
    # keeping them means a DDO dumped into a JobSpec is the one the publisher wrote.
    model_config = ConfigDict(populate_by_name=True, extra="allow")


class Container(_DdoModel):
    entrypoint: str
    image: str
    tag: str
    checksum: str = ""


class AlgorithmMetadata(_DdoModel):
    language: str = ""
    version: str = ""
    container: Container | None = None


class Metadata(_DdoModel):
    type: Literal["dataset", "algorithm"]
    name: str
    # v5 allows language-tagged objects for description and license, hence the dict.
    description: str | dict[str, Any] = ""
    author: str = ""
    license: str | dict[str, Any] = ""
    algorithm: AlgorithmMetadata | None = None


class TrustedAlgorithm(_DdoModel):
    did: str
    files_checksum: str = Field(default="", alias="filesChecksum")
    container_section_checksum: str = Field(default="", alias="containerSectionChecksum")


class ComputePolicy(_DdoModel):
    allow_raw_algorithm: bool = Field(default=False, alias="allowRawAlgorithm")
    allow_network_access: bool = Field(default=False, alias="allowNetworkAccess")
    publisher_trusted_algorithms: list[TrustedAlgorithm] = Field(
        default_factory=list, alias="publisherTrustedAlgorithms"
    )
    publisher_trusted_algorithm_publishers: list[str] = Field(
        default_factory=list, alias="publisherTrustedAlgorithmPublishers"
    )
    # c2d's extension (Ocean tooling ignores it): a WorkflowTemplate run before the algorithm,
    # accepted only when the environment allows it (provider/jobs/preprocess.py).
    preprocess_template: str | None = Field(default=None, alias="preprocessTemplate")


class Credential(_DdoModel):
    """One allow/deny rule: ``{"type": "address", "values": [...]}`` (other types kept as-is)."""

    type: str
    values: list[str] = Field(default_factory=list)


class Credentials(_DdoModel):
    allow: list[Credential] = Field(default_factory=list)
    deny: list[Credential] = Field(default_factory=list)


class ServiceFiles(_DdoModel):
    """The plain (unencrypted) files object: ``{"files": [{type, url, method, headers…}]}``."""

    files: list[dict[str, Any]] = Field(default_factory=list)


class Service(_DdoModel):
    id: str
    # A plain str, not Literal["access", "compute"]: one service of a newer type must not make
    # the whole asset unreadable; the policy refuses the types it cannot serve.
    type: str
    files: ServiceFiles | str
    datatoken_address: str = Field(default="", alias="datatokenAddress")
    service_endpoint: str = Field(default="", alias="serviceEndpoint")
    timeout: int = 0
    compute: ComputePolicy | None = None
    credentials: Credentials | None = None
    # The files as published when this provider decrypted them (never dumped).
    encrypted_files: str | None = Field(default=None, exclude=True)

    def plain_files(self) -> list[dict[str, Any]] | None:
        """The file objects, or None when they are encrypted for another provider to read."""
        if isinstance(self.files, str):
            return None
        return list(self.files.files)


class Ddo(_DdoModel):
    id: str = Field(pattern=_DID.pattern)
    version: str = ""
    chain_id: int = Field(alias="chainId")
    nft_address: str = Field(alias="nftAddress")
    metadata: Metadata
    services: list[Service] = Field(default_factory=list)
    credentials: Credentials | None = None
    nft: dict[str, Any] | None = None

    def as_published(self) -> dict[str, Any]:
        """The DDO as JSON the way it was published: decrypted files encrypted again."""
        dumped = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        for service, raw in zip(self.services, dumped.get("services", []), strict=True):
            if service.encrypted_files is not None:
                raw["files"] = service.encrypted_files
        return dumped

    @property
    def publisher(self) -> str | None:
        """The data NFT's owner, the address publisherTrustedAlgorithmPublishers name."""
        owner = (self.nft or {}).get("owner")
        return owner if isinstance(owner, str) and owner else None

    @property
    def nft_state(self) -> int:
        """The data NFT's metadata state; a DDO without one is taken as active (0)."""
        state = (self.nft or {}).get("state", 0)
        if isinstance(state, str) and state.isdigit():
            return int(state)
        # bool is an int subclass but never a state; -1 reads as "unknown" and is refused.
        return state if isinstance(state, int) and not isinstance(state, bool) else -1


def did_for(nft_address: str, chain_id: int) -> str:
    """Ocean's DID of a data NFT: ``did:op:`` + sha256(checksummed address + decimal chain id).

    As ocean.js ``generateDid``: the address is EIP-55 checksummed first, so any casing of the
    same address gives the same DID.
    """
    try:
        checksummed = to_checksum_address(nft_address)
    except ValueError as error:
        raise BadRequest(f"not an NFT address: {nft_address!r}") from error
    return "did:op:" + hashlib.sha256(f"{checksummed}{chain_id}".encode()).hexdigest()


def did_hex(did: str) -> str:
    """The 64-hex part of ``did:op:<hex>``, lowercased; BadRequest for anything else."""
    match = _DID.fullmatch(did)
    if match is None:
        raise BadRequest(f"malformed DID {did[:80]!r}: expected did:op: and 64 hex digits")
    return match.group(1).lower()


def container_section_checksum(container: Container) -> str:
    """sha256 hex of entrypoint + image checksum, as publisherTrustedAlgorithms pins it."""
    return hashlib.sha256((container.entrypoint + container.checksum).encode()).hexdigest()


def service_by_id(ddo: Ddo, service_id: str) -> Service:
    for service in ddo.services:
        if service.id == service_id:
            return service
    raise NotFound(f"asset {ddo.id} has no service {service_id}")
