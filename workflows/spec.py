"""JobSpec: the frozen contract between the provider, the engines and the steps.

The provider turns a start request into a ``JobSpec``; the DAG builder, both engines and the
``configure``/``publish`` steps read only this. It carries secrets (file URLs and headers), so
it is written to a file only the trusted steps see (a Kubernetes Secret on Argo).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from workflows.output_spec import OutputSpec, S3Access, has_control_characters

__all__ = [
    "AlgorithmSpec",
    "Container",
    "FileObject",
    "InputSpec",
    "JobSpec",
    "Limits",
]

_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_MANIFEST_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_FOLDER = re.compile(r"^[0-9A-Za-z_-]{1,80}$")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


FileType = Literal["url", "s3", "ftp", "ipfs", "arweave"]
_NO_PATH = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


class FileObject(_Frozen):
    """One file to fetch; ``type`` picks the reader (steps/readers) and the fields it needs.

    url: ``url`` (http/https), ``method``, ``headers``; ftp: ``url`` (ftp/ftps); s3:
    ``s3_access``; ipfs: ``hash`` (a CID); arweave: ``transaction_id``. For ipfs and arweave the
    provider fills in ``gateway`` from its settings.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    type: FileType = "url"
    url: str = ""
    method: Literal["GET", "POST"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    s3_access: S3Access | None = Field(default=None, alias="s3Access")
    hash: str | None = None
    transaction_id: str | None = Field(default=None, alias="transactionId")
    gateway: str | None = None
    # Expected sha256 of the content (hex); a mismatch fails provisioning.
    checksum: str | None = None

    @field_validator("url")
    @classmethod
    def _scheme(cls, url: str, info: ValidationInfo) -> str:
        kind = info.data.get("type", "url")
        if kind == "url" and not url.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        if kind == "ftp" and not url.startswith(("ftp://", "ftps://")):
            raise ValueError("url must start with ftp:// or ftps://")
        if kind == "ftp" and has_control_characters(url):
            raise ValueError("url must not contain control characters")
        return url

    @model_validator(mode="after")
    def _fields_of_the_type(self) -> FileObject:
        needed = {
            "url": self.url,
            "ftp": self.url,
            "s3": self.s3_access,
            "ipfs": self.hash,
            "arweave": self.transaction_id,
        }[self.type]
        if not needed:
            field = {"s3": "s3Access", "ipfs": "hash", "arweave": "transactionId"}.get(
                self.type, "url"
            )
            raise ValueError(f"a file of type {self.type} needs {field}")
        name = self.hash if self.type == "ipfs" else self.transaction_id
        if name is not None and self.type in ("ipfs", "arweave"):
            # As Ocean Node: an identifier, never a URL or a path on the gateway.
            if not _NO_PATH.match(name):
                field = "hash" if self.type == "ipfs" else "transactionId"
                raise ValueError(f"{field} must be letters, digits, - or _ (no URL, no path)")
            if not self.gateway:
                raise ValueError(f"no {self.type} gateway is configured on this provider")
        return self

    @field_validator("checksum")
    @classmethod
    def _sha256(cls, checksum: str | None) -> str | None:
        if checksum is None:
            return None
        digest = checksum.lower().removeprefix("sha256:")
        if not _SHA256_HEX.match(digest):
            raise ValueError("checksum must be a sha256 hex digest")
        return digest


class InputSpec(_Frozen):
    """A dataset: its files land in ``/data/inputs/<folder>/<fileIndex>``."""

    folder: Annotated[str, Field(pattern=_FOLDER.pattern)]
    did: str | None = None
    service_id: str | None = None
    files: tuple[FileObject, ...]
    # The DDO, written to /data/ddos/<folder> when the input is an asset.
    ddo: dict[str, Any] | None = None
    userdata: dict[str, Any] | None = None


class Container(_Frozen):
    entrypoint: str
    image: str
    tag: str = "latest"
    checksum: str = ""

    @property
    def reference(self) -> str:
        """``image:tag`` as an engine resolves it (a digest in ``tag`` is kept as is)."""
        if self.tag.startswith("sha256:"):
            return f"{self.image}@{self.tag}"
        return f"{self.image}:{self.tag}"

    @property
    def pinned_reference(self) -> str:
        """``reference`` pinned by the ``checksum`` (a manifest digest) when one is given, as
        Ocean Node pulls it: what a cluster runs, whatever the tag points at later."""
        if _MANIFEST_DIGEST.match(self.checksum) and "@" not in self.reference:
            return f"{self.reference}@{self.checksum}"
        return self.reference


class AlgorithmSpec(_Frozen):
    """The algorithm: raw code or files to fetch, and the container to run it in."""

    container: Container
    did: str | None = None
    service_id: str | None = None
    rawcode: str | None = None
    files: tuple[FileObject, ...] = ()
    ddo: dict[str, Any] | None = None
    custom_data: dict[str, Any] | None = None
    envs: dict[str, str] = Field(default_factory=dict)


class Limits(_Frozen):
    """What the job may use; engines enforce, the steps honour the download caps."""

    cpus: float = Field(gt=0)
    memory_bytes: int = Field(gt=0)
    disk_bytes: int = Field(gt=0)
    max_job_duration: int = Field(gt=0, description="wall-clock seconds for the algorithm")
    max_processes: int = Field(default=256, gt=0)
    gpus: int = Field(default=0, ge=0)
    max_download_bytes: int = Field(gt=0)
    download_timeout: float = Field(default=60.0, gt=0, description="seconds without progress")
    log_bytes: int = Field(default=16 * 1024 * 1024, gt=0)


class JobSpec(_Frozen):
    job_id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
    owner: str
    environment: str
    created_at: int
    inputs: tuple[InputSpec, ...]
    algorithm: AlgorithmSpec
    limits: Limits
    network: bool = False
    additional_viewers: tuple[str, ...] = ()
    metadata: dict[str, Any] | None = None
    agreement_id: str = ""
    # The consumer's storage for outputs.tar (credentials: never in the Workflow or a status).
    output: OutputSpec | None = None
    # The algorithm image's registry credentials as the consumer sealed them for the provider
    # key (encryptedDockerRegistryAuth): only the provider opens it, to pull or make a pull
    # Secret; never in the Workflow, a step's spec file or a status.
    registry_auth: str | None = None
    # Seconds the job may wait for a free slot of its environment (status 1), from created_at;
    # then it ends with status 2. 0: no expiry (the provider refuses a full environment instead).
    queue_max_wait_time: int = Field(default=0, ge=0)
    # A publisher-defined WorkflowTemplate (its ``preprocess`` template) named by the datasets'
    # compute service and allowed by the environment: it runs between configure and the algorithm.
    preprocess_template: (
        Annotated[str, Field(pattern=r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$")] | None
    ) = None

    def steps_json(self) -> str:
        """The spec file the steps read: everything but what only the provider may open."""
        return self.model_dump_json(exclude={"registry_auth"})

    @property
    def workflow_name(self) -> str:
        return f"c2d-{self.job_id}"

    @property
    def input_dids(self) -> list[str]:
        return [i.did for i in self.inputs if i.did]

    def may_view(self, address: str) -> bool:
        """Owner and additional viewers may read results and logs (addresses case-insensitive)."""
        wanted = address.lower()
        return wanted == self.owner.lower() or any(
            wanted == viewer.lower() for viewer in self.additional_viewers
        )
