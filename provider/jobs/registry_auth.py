"""``encryptedDockerRegistryAuth``: opened with the provider key when a job is admitted and again
when its image is pulled (or its pull Secret made); never kept or logged in clear.

ocean.js sends the hex of ECIES(nodePublicKey, JSON auth entry) (Ocean Node
``checkEncryptedDockerRegistryAuth``); the job keeps that sealed text, so a restart can still
pull, and only the holder of the provider key can read it.
"""

from __future__ import annotations

from provider.errors import BadRequest
from provider.jobs.sealed import open_sealed_json
from steps.images.registry import Credentials
from steps.images.registry_auth import InvalidRegistryAuth, credentials_from_document

__all__ = ["FIELD", "open_registry_auth"]

FIELD = "encryptedDockerRegistryAuth"


def open_registry_auth(sealed: str, private_key: bytes | None) -> Credentials:
    """The credentials ``sealed`` holds; BadRequest (never naming a secret) when it holds none."""
    document = open_sealed_json(sealed, private_key, FIELD)
    try:
        return credentials_from_document(document)
    except InvalidRegistryAuth as error:
        raise BadRequest(f"{FIELD}: {error}") from None
