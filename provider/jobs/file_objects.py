"""A client's or a DDO's file object → the job spec's FileObject, and Ocean's ``userdata``.

Types as Ocean Node's storage objects: ``url``, ``s3`` (``s3Access``), ``ftp`` (``url``),
``ipfs`` (``hash``) and ``arweave`` (``transactionId``); the last two are read through the
gateways the operator configures (``C2D_IPFS_GATEWAY``, ``C2D_ARWEAVE_GATEWAY``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, get_args
from urllib.parse import urlencode, urlsplit, urlunsplit

from pydantic import ValidationError

from provider.errors import BadRequest
from workflows.spec import FileObject, FileType

__all__ = ["FILE_TYPES", "parse_file_object", "with_userdata"]

FILE_TYPES: tuple[str, ...] = get_args(FileType)
# Ocean's own fields that c2d does not need (whether the file was encrypted, and how).
_IGNORED = frozenset({"encryptedBy", "encryptMethod"})


def parse_file_object(
    raw: dict[str, Any], *, label: str, gateways: Mapping[str, str] | None = None
) -> FileObject:
    """``gateways``: file type → gateway URL (ipfs, arweave); a type without one is refused."""
    kind = raw.get("type", "url")
    if kind not in FILE_TYPES:
        raise BadRequest(
            f"{label}: file type {kind!r} is not supported (supported: {', '.join(FILE_TYPES)})"
        )
    fields = {k: v for k, v in raw.items() if k not in _IGNORED}
    if kind == "url":
        fields["url"] = raw.get("url", "")
        fields["method"] = str(raw.get("method", "GET")).upper()
        fields["headers"] = _headers(raw.get("headers"))
    fields["checksum"] = raw.get("checksum") or None
    if kind in ("ipfs", "arweave"):
        fields["gateway"] = (gateways or {}).get(kind) or None
    try:
        return FileObject.model_validate(fields)
    except (ValidationError, TypeError, ValueError) as error:
        raise BadRequest(f"{label}: {_first_problem(error)}") from error


def with_userdata(file: FileObject, userdata: dict[str, Any] | None) -> FileObject:
    """As Ocean Node: a dataset's ``userdata`` is appended to its URL's query (url files only).

    Scalars as text, objects and lists as JSON.
    """
    if not userdata or file.type != "url":
        return file
    parts = urlsplit(file.url)
    extra = urlencode(
        [(k, v if isinstance(v, str) else json.dumps(v)) for k, v in userdata.items()]
    )
    query = f"{parts.query}&{extra}" if parts.query else extra
    return file.model_copy(update={"url": urlunsplit(parts._replace(query=query))})


def _headers(headers: Any) -> dict[str, str]:
    """Ocean sends headers as an object or as a list of one-entry objects."""
    if isinstance(headers, list):
        merged: dict[str, Any] = {}
        for entry in headers:
            if isinstance(entry, dict):
                merged.update(entry)
        headers = merged
    return {str(k): str(v) for k, v in dict(headers or {}).items()}


def _first_problem(error: Exception) -> str:
    if isinstance(error, ValidationError):
        problem = error.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        message = str(problem["msg"]).removeprefix("Value error, ")
        return f"{where}: {message}" if where else message
    return str(error)
