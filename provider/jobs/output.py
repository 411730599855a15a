"""The start request's ``output``: decrypted with the provider key and checked before the job runs.

ocean.js sends ``output`` as the hex of ECIES(nodePublicKey, JSON ``{remoteStorage, encryption?}``)
(Ocean Node ``core/compute/utils.ts`` ``validateOutput``). Everything that can be checked
without connecting is checked here, so a bad ``output`` is a 400 at start, never a failed upload
after the algorithm ran; the storage's address is checked again when the publish step connects.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from eth_keys.datatypes import PrivateKey
from pydantic import ValidationError

from provider.errors import BadRequest
from provider.jobs.sealed import open_sealed_json
from steps.readers.guard import SourcePolicy
from workflows.contract import SOURCE_NETWORKS_ENV
from workflows.output_spec import OutputSpec, S3Storage

__all__ = ["parse_output"]

_IV_BYTES = 16


def parse_output(
    output: str | dict[str, Any] | None,
    *,
    private_key: bytes | None,
    policy: SourcePolicy,
    file_name: str,
) -> OutputSpec | None:
    """The output spec, or None when none was asked for; BadRequest says what is wrong."""
    if output is None or output == "" or output == {}:
        return None
    if not isinstance(output, str):
        raise BadRequest(
            "output: must be the hex string of the ECIES-encrypted {remoteStorage, encryption}"
            " (as ocean.js sends it), not an object"
        )
    document = open_sealed_json(output, private_key, "output")
    if not isinstance(document, dict) or not document.get("remoteStorage"):
        raise BadRequest("output: remoteStorage is missing")
    try:
        spec = OutputSpec.model_validate({**document, "file_name": file_name})
    except ValidationError as error:
        raise BadRequest(f"output: {_first_problem(error)}") from None
    _check_address(spec, policy)
    if spec.encryption is not None:
        assert private_key is not None  # open_sealed_json refused the field without a key
        iv = PrivateKey(private_key).public_key.to_compressed_bytes()[:_IV_BYTES]
        spec = spec.model_copy(
            update={"encryption": spec.encryption.model_copy(update={"iv": iv.hex()})}
        )
    return spec


def _first_problem(error: ValidationError) -> str:
    problem = error.errors()[0]
    # Union members appear in the location as their tag ("s3"); the consumer wrote none of it.
    where = ".".join(str(p) for p in problem["loc"] if p not in ("s3", "ftp"))
    message = str(problem["msg"]).removeprefix("Value error, ")
    if problem["type"] == "union_tag_invalid":
        message = "type must be 's3' or 'ftp'"
    return f"{where}: {message}" if where else message


def _check_address(spec: OutputSpec, policy: SourcePolicy) -> None:
    """An IP literal the source guard refuses is refused now; names are checked on connect."""
    storage = spec.remote_storage
    url = storage.s3_access.endpoint if isinstance(storage, S3Storage) else storage.url
    host = urlsplit(url).hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return
    if not policy.permits(host):
        raise BadRequest(
            "output: the storage's address is not allowed (private, loopback or reserved);"
            f" an operator may allow its network with {SOURCE_NETWORKS_ENV}"
        )
