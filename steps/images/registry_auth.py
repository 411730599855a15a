"""Registry credentials as Ocean Node's ``encryptedDockerRegistryAuth`` carries them, once opened.

The decrypted document is Docker's auth entry: ``{"username", "password"}`` or ``{"auth"}`` (the
base64 of ``username:password``), or both. Nothing here logs or keeps the secret; the errors name
the field that is wrong, never its value.
"""

from __future__ import annotations

import base64
import binascii
import json

from steps.images.registry import Credentials

__all__ = ["InvalidRegistryAuth", "credentials_from_document", "docker_config_json"]

_MAX_FIELD = 4096


class InvalidRegistryAuth(ValueError):
    """The document is not a registry auth entry; the message says which part is wrong."""


def credentials_from_document(document: object) -> Credentials:
    """The username and password of a decrypted auth document (``auth`` wins when both agree
    or ``username``/``password`` are absent; a disagreement is refused)."""
    if not isinstance(document, dict):
        raise InvalidRegistryAuth("the decrypted document is not a JSON object")
    username, password, auth = (document.get(k) for k in ("username", "password", "auth"))
    for name, value in (("username", username), ("password", password), ("auth", auth)):
        if value is not None and (not isinstance(value, str) or len(value) > _MAX_FIELD):
            raise InvalidRegistryAuth(f"{name} must be a string of at most {_MAX_FIELD} characters")
    pair = Credentials(username, password) if username and password else None
    if auth:
        from_auth = _decode_auth(str(auth))
        if pair is not None and pair != from_auth:
            raise InvalidRegistryAuth("auth and username/password name different credentials")
        return from_auth
    if pair is None:
        raise InvalidRegistryAuth(
            "either 'auth' must be provided, or both 'username' and 'password'"
        )
    return pair


def docker_config_json(registry: str, credentials: Credentials) -> str:
    """The ``.dockerconfigjson`` of a Kubernetes image pull Secret for one registry."""
    pair = f"{credentials.username}:{credentials.password}".encode()
    entry = {
        "username": credentials.username,
        "password": credentials.password,
        "auth": base64.b64encode(pair).decode(),
    }
    return json.dumps({"auths": {registry: entry}}, separators=(",", ":"))


def _decode_auth(auth: str) -> Credentials:
    try:
        text = base64.b64decode(auth, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidRegistryAuth("auth is not the base64 of 'username:password'") from None
    username, colon, password = text.partition(":")
    if not colon or not username or not password:
        raise InvalidRegistryAuth("auth is not the base64 of 'username:password'")
    return Credentials(username, password)
