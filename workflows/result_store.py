"""The provider's result store on S3: where publish copies each job's results on a cluster.

Set in the same ``C2D_RESULT_STORE_*`` variables for the provider and for the publish step
(argo/: both read the ``c2d-result-store`` Secret). With a store, the provider serves results
from it (any replica, in any namespace) and the jobs need no shared result volume. Objects are
``<prefix><job id>/<file name>``; ``results.json`` is written last, as on a volume.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from workflows.output_spec import S3Access

__all__ = ["ENV_FIELDS", "RESULT_STORE_REQUIRED_ENV", "ResultStore", "ResultStoreError"]

_PREFIX = "C2D_RESULT_STORE_"
# "required": the provider reads results from the store, so publish must write them there.
RESULT_STORE_REQUIRED_ENV = f"{_PREFIX}REQUIRED"
ENV_FIELDS = {
    "endpoint": f"{_PREFIX}ENDPOINT",
    "bucket": f"{_PREFIX}BUCKET",
    "prefix": f"{_PREFIX}PREFIX",
    "region": f"{_PREFIX}REGION",
    "path_style": f"{_PREFIX}PATH_STYLE",
    "access_key_id": f"{_PREFIX}ACCESS_KEY_ID",
    "secret_access_key": f"{_PREFIX}SECRET_ACCESS_KEY",
}


class ResultStoreError(ValueError):
    """The C2D_RESULT_STORE_* variables are incomplete or malformed (the message names them)."""


class ResultStore(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    endpoint: str = Field(min_length=1)
    bucket: str = Field(min_length=1)
    prefix: str = ""
    region: str = "us-east-1"
    path_style: bool = True  # MinIO and most in-cluster stores: bucket in the path
    access_key_id: str = Field(min_length=1, repr=False)
    secret_access_key: str = Field(min_length=1, repr=False)

    @field_validator("endpoint")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("prefix")
    @classmethod
    def _folder(cls, value: str) -> str:
        value = value.strip("/")
        return f"{value}/" if value else ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ResultStore | None:
        """The store the variables describe; None when no C2D_RESULT_STORE_* is set."""
        given = {name: environ[var] for name, var in ENV_FIELDS.items() if environ.get(var)}
        if not given:
            if environ.get(RESULT_STORE_REQUIRED_ENV) == "required":
                raise ResultStoreError(
                    "the provider serves results from the result store, but no"
                    f" {_PREFIX}* variables are set here (the c2d-result-store Secret)"
                )
            return None
        try:
            return cls.model_validate(given)
        except ValidationError as error:
            problems = "; ".join(
                f"{ENV_FIELDS[str(p['loc'][0])]}: {p['msg']}" for p in error.errors() if p["loc"]
            )
            raise ResultStoreError(f"invalid result store: {problems}") from None

    def key(self, job_id: str, name: str) -> str:
        return f"{self.prefix}{job_id}/{name}"

    def access(self, job_id: str, name: str) -> S3Access:
        """The S3 address of one result object, as the S3 client takes it."""
        return S3Access(
            endpoint=self.endpoint,
            bucket=self.bucket,
            object_key=self.key(job_id, name),
            access_key_id=self.access_key_id,
            secret_access_key=self.secret_access_key,
            region=self.region,
            force_path_style=self.path_style,
        )

    def as_env(self) -> dict[str, str]:
        """The variables that describe this store (for a step's environment)."""
        values = self.model_dump()
        values["path_style"] = "true" if self.path_style else "false"
        return {var: str(values[name]) for name, var in ENV_FIELDS.items()}
