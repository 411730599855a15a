"""Provider settings: read once from ``C2D_*`` environment variables at the edge (``c2d serve``)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from provider.errors import ConfigError
from provider.job_slots import default_job_slots
from workflows import contract
from workflows.source_networks import parse_source_networks

__all__ = ["Settings", "load_settings"]

# A token a person could guess or brute-force over the API's rate limit is no protection.
_MIN_OPERATOR_TOKEN = 16
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="C2D_", extra="ignore")

    home: Path = Field(default=Path(".c2d"), description="state, keys, assets and results")
    config: Path | None = Field(default=None, description="environments file (YAML or JSON)")
    provider_private_key: SecretStr | None = Field(
        default=None, description="hex key; generated into C2D_HOME/provider.key when unset"
    )
    steps_image: str = Field(default=contract.STEPS_IMAGE, description="c2d:<its version>")
    max_request_bytes: int = Field(default=1024 * 1024, gt=0)
    auth_token_lifetime: int = Field(
        default=0,
        ge=0,
        description="longest life of an auth token, seconds; 0: until invalidated (Ocean Node's)",
    )
    max_concurrent_jobs: int = Field(
        default_factory=default_job_slots,
        gt=0,
        description="jobs run at once per environment (also capped by maxJobs); 3 per CPU",
    )
    max_queued_jobs: int = Field(default=1000, gt=0, description="jobs waiting per environment")
    rate_limit_ip: float = Field(
        default=100.0, ge=0, description="requests per second per client IP (0: no limit)"
    )
    rate_limit_ip_burst: int = Field(default=1000, gt=0, description="requests at once per IP")
    rate_limit_address: float = Field(
        default=50.0, ge=0, description="requests per second per consumer address (0: no limit)"
    )
    rate_limit_address_burst: int = Field(
        default=500, gt=0, description="requests at once per consumer address"
    )
    log_streams_per_job: int = Field(default=4, gt=0, description="live log streams per job")
    log_streams_per_address: int = Field(
        default=8, gt=0, description="live log streams per consumer address"
    )
    log_streams_total: int = Field(default=256, gt=0, description="live log streams at once")
    source_networks: str = Field(
        default="",
        description="comma-separated CIDRs that file URLs may reach besides public addresses"
        " (e.g. 127.0.0.0/8 for a demo serving files on loopback); empty: public only",
    )
    ftps_ca_file: Path | None = Field(
        default=None,
        description="PEM file of certificate authorities that ftps:// servers (inputs and"
        " outputs) may also be signed by, besides the system's; unset: the system's only",
    )
    insecure_registries: str = Field(
        default="",
        description="comma-separated host:port of registries reached over plain HTTP (as"
        " Docker's insecure registries); their addresses must still pass C2D_SOURCE_NETWORKS",
    )
    image_cache_size: float = Field(
        default=20, gt=0, description="GiB the pulled images may take under C2D_HOME/images"
    )
    max_result_storage: float | None = Field(
        default=None,
        gt=0,
        description="GiB all stored results may take on this host (local engine); unset: half"
        " of the file system holding C2D_HOME",
    )
    ipfs_gateway: str = Field(
        default="",
        description="IPFS gateway for type ipfs files (e.g. https://ipfs.io); empty: refused",
    )
    arweave_gateway: str = Field(
        default="",
        description="Arweave gateway for type arweave files (e.g. https://arweave.net);"
        " empty: refused",
    )
    public_url: str = Field(
        default="",
        max_length=2048,
        description="the URL consumers reach this provider at; needed to publish results as"
        " assets (their service endpoint); empty: publishResults is refused",
    )
    allowed_decrypters: str = Field(
        default="",
        description="comma-separated addresses (indexers) that may decrypt DDOs encrypted for"
        " this provider with POST /api/services/decrypt; empty: only the provider's own address",
    )
    decrypter_access_lists: str = Field(
        default="",
        description="Ocean AccessList contracts per chain, JSON as Ocean Node's"
        ' AUTHORIZED_DECRYPTERS_LIST ({"8996": ["0x..."]}): on a chain listed, a decrypter must'
        " also hold a token of one of them; empty: none",
    )
    settlement_retry: float = Field(
        default=30.0,
        gt=0,
        description="seconds before a failed claim is tried again (doubled per failure, to 900)",
    )
    operator_token: SecretStr | None = Field(
        default=None,
        description="token of the operator's page at /ui (docs/ui.md), at least 16 characters;"
        " unset: the page is off",
    )
    database_url: SecretStr | None = Field(
        default=None,
        description="postgresql://user:password@host:port/db: nonces, tokens and settlements"
        " shared by several replicas; unset: SQLite files under C2D_HOME/state",
    )
    index_interval: float = Field(
        default=5.0,
        gt=0,
        description="seconds between the asset indexer's passes over each chain once caught up",
    )
    log_format: Literal["auto", "json", "text"] = Field(
        default="auto", description="json when stderr is not a terminal, text when it is"
    )

    engine: Literal["local", "argo"] = Field(
        default="local", description="local: this machine (bubblewrap); argo: Argo Workflows"
    )
    allow_weak_sandbox: bool = Field(
        default=False,
        description="local engine: run jobs with rlimits only where no cgroup backend can limit"
        " memory, processes and CPU (else c2d serve refuses to start)",
    )
    api_user: str | None = Field(
        default=None,
        description="c2d serve as root with the local engine: the user (name, uid or uid:gid)"
        " the HTTP API runs as; unset: user c2d, else uid and gid 65532",
    )
    # For tests only: where the local engine looks for cgroups (an empty folder: none).
    cgroup_root: Path = Path("/sys/fs/cgroup")
    argo_namespace: str = Field(default="c2d-jobs", description="namespace of the jobs")
    argo_server: str | None = Field(
        default=None, description="Argo Server URL; unset: Workflows through the Kubernetes API"
    )
    argo_token: SecretStr | None = Field(default=None, description="Argo Server bearer token")
    argo_verify_tls: bool = True
    kube_api: str | None = Field(
        default=None,
        description="Kubernetes API URL without credentials (e.g. kubectl proxy);"
        " unset: in-cluster service account, else ~/.kube/config",
    )
    argo_service_account: str = Field(
        default="c2d-workflow", description="service account of the jobs' Workflow pods"
    )
    argo_archive_logs: bool = Field(default=False, description="archive step logs (artifacts)")
    argo_unschedulable_timeout: float = Field(
        default=600,
        gt=0,
        description="seconds an algorithm pod may stay unschedulable before its job ends (32)",
    )
    # The result store on S3 (workflows/result_store.py): the same C2D_RESULT_STORE_* variables
    # as the publish step reads; read from the environment by result_store().

    @field_validator("source_networks")
    @classmethod
    def _cidrs(cls, value: str) -> str:
        parse_source_networks(value)  # a ValueError names the bad entry
        return value

    @field_validator("allowed_decrypters")
    @classmethod
    def _decrypters(cls, value: str) -> str:
        for address in _address_list(value):
            if not _ADDRESS.fullmatch(address):
                raise ValueError(f"{address[:60]!r} is not a 0x address of 40 hex digits")
        return value

    @field_validator("decrypter_access_lists")
    @classmethod
    def _decrypter_lists(cls, value: str) -> str:
        _access_lists(value)  # a ValueError names what is wrong
        return value

    @property
    def decrypter_lists(self) -> dict[int, tuple[str, ...]]:
        """The decrypter access lists by chain id."""
        return _access_lists(self.decrypter_access_lists)

    @property
    def decrypters(self) -> frozenset[str]:
        """The allowed decrypters, lowercased."""
        return frozenset(address.lower() for address in _address_list(self.allowed_decrypters))

    @field_validator("ftps_ca_file")
    @classmethod
    def _ca_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"{value} is not a file")
        return value.resolve() if value is not None else None

    @field_validator("operator_token")
    @classmethod
    def _operator_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        token = value.get_secret_value().strip()
        if len(token) < _MIN_OPERATOR_TOKEN:
            raise ValueError(
                f"the operator token needs at least {_MIN_OPERATOR_TOKEN} characters"
                " (e.g. the output of: openssl rand -hex 16)"
            )
        return SecretStr(token)

    @field_validator("database_url")
    @classmethod
    def _postgresql(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(
            ("postgresql://", "postgres://")
        ):
            raise ValueError("a database URL is postgresql://user:password@host:port/database")
        return value

    @field_validator("ipfs_gateway", "arweave_gateway")
    @classmethod
    def _gateway(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("a gateway is an http:// or https:// URL")
        return value.rstrip("/")

    @property
    def gateways(self) -> dict[str, str]:
        """File type → gateway, for the types the operator configured."""
        return {
            kind: url
            for kind, url in (("ipfs", self.ipfs_gateway), ("arweave", self.arweave_gateway))
            if url
        }

    @property
    def state_dir(self) -> Path:
        return self.home / "state"

    @property
    def jobs_dir(self) -> Path:
        return self.home / "jobs"

    @property
    def results_dir(self) -> Path:
        return self.home / "results"

    @property
    def assets_dir(self) -> Path:
        return self.home / "assets"

    @property
    def kept_results_dir(self) -> Path:
        """Outputs published as assets: kept past storageExpiry, served by their asset."""
        return self.home / "published"

    @property
    def images_dir(self) -> Path:
        return self.home / "images"

    @property
    def key_file(self) -> Path:
        return self.home / "provider.key"


def _access_lists(value: str) -> dict[int, tuple[str, ...]]:
    if not value.strip():
        return {}
    try:
        parsed = json.loads(value)
    except ValueError:
        raise ValueError('not JSON; write {"<chainId>": ["0x<access list>", ...]}') from None
    if not isinstance(parsed, dict):
        raise ValueError('not a JSON object; write {"<chainId>": ["0x<access list>", ...]}')
    lists: dict[int, tuple[str, ...]] = {}
    for chain, contracts in parsed.items():
        if not str(chain).isdecimal() or not 0 < int(chain) < 2**63:
            raise ValueError(f"{str(chain)[:30]!r} is not a chain id")
        if not isinstance(contracts, list) or not all(
            isinstance(address, str) and _ADDRESS.fullmatch(address) for address in contracts
        ):
            raise ValueError(f"chain {chain}: not a list of 0x addresses of 40 hex digits")
        lists[int(chain)] = tuple(contracts)
    return lists


def _address_list(value: str) -> list[str]:
    return [address.strip() for address in value.split(",") if address.strip()]


def load_settings() -> Settings:
    """Settings from the environment, or a ConfigError naming each bad ``C2D_*`` variable."""
    try:
        return Settings()
    except ValidationError as error:
        problems = [
            f"  C2D_{str(problem['loc'][0]).upper()}: {problem['msg']}"
            for problem in error.errors()
            if problem["loc"]
        ]
        raise ConfigError("invalid settings:\n" + "\n".join(problems)) from None
