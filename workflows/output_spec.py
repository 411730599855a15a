"""Where the publish step sends ``outputs.tar``: the consumer's storage, from the ``output`` field.

Field names follow Ocean Node's storage objects (``s3Access.accessKeyId`` …) so the decrypted
``output`` validates as is. It holds the consumer's storage credentials and AES key: it lives
only in the job's spec file, which only the trusted steps read (``public_spec`` drops it).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "FtpStorage",
    "OutputEncryption",
    "OutputSpec",
    "S3Access",
    "S3Storage",
    "has_control_characters",
]

_HEX = re.compile(r"^(?:[0-9a-fA-F]{2})+$")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def has_control_characters(url: str) -> bool:
    """A CR or LF, even percent-encoded, would split an FTP command in two."""
    return any(ord(c) < 32 or ord(c) == 127 for c in unquote(url))


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


class S3Access(_Frozen):
    endpoint: str
    bucket: str
    object_key: str = Field(alias="objectKey")
    access_key_id: str = Field(alias="accessKeyId")
    secret_access_key: str = Field(alias="secretAccessKey")
    region: str = "us-east-1"
    force_path_style: bool = Field(default=False, alias="forcePathStyle")

    _filled = field_validator(
        "endpoint", "bucket", "object_key", "access_key_id", "secret_access_key"
    )(_not_blank)

    @field_validator("endpoint")
    @classmethod
    def _http_endpoint(cls, endpoint: str) -> str:
        # As Ocean Node: a bare host name means https.
        url = endpoint if endpoint.startswith(("http://", "https://")) else f"https://{endpoint}"
        if not urlsplit(url).hostname:
            raise ValueError("endpoint has no host")
        return url.rstrip("/")


class S3Storage(_Frozen):
    type: Literal["s3"]
    s3_access: S3Access = Field(alias="s3Access")


class FtpStorage(_Frozen):
    """``ftp://[user:password@]host[:port]/path`` or ``ftps://`` (explicit TLS)."""

    type: Literal["ftp"]
    url: str

    @field_validator("url")
    @classmethod
    def _ftp_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if has_control_characters(url):
            raise ValueError("url must not contain control characters")
        if parts.scheme not in ("ftp", "ftps"):
            raise ValueError("url must start with ftp:// or ftps://")
        if not parts.hostname:
            raise ValueError("url has no host")
        parts.port  # noqa: B018 - raises ValueError on a port out of range
        return url


class OutputEncryption(_Frozen):
    """AES-256-CBC as Ocean Node: key = the first 32 bytes of ``key``, IV = the first 16 bytes of
    the provider's compressed public key (``nodePublicKey``), PKCS#7 padding, no header."""

    encrypt_method: Literal["AES"] = Field(alias="encryptMethod")
    key: str
    # Filled in by the provider at admission (the publish step has no provider key).
    iv: str = ""

    @field_validator("key")
    @classmethod
    def _aes_key(cls, key: str) -> str:
        key = key.removeprefix("0x")
        if not _HEX.match(key) or len(key) < 64:
            raise ValueError("key must be at least 32 bytes as hex (64 hex digits)")
        return key


class OutputSpec(_Frozen):
    remote_storage: Annotated[S3Storage | FtpStorage, Field(discriminator="type")] = Field(
        alias="remoteStorage"
    )
    encryption: OutputEncryption | None = None
    # The archive's name at the destination when the key or path names a folder (ends in /).
    file_name: str = "outputs.tar"
