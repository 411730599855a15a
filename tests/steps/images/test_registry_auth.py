"""The decrypted ``encryptedDockerRegistryAuth`` document and the pull Secret made from it."""

from __future__ import annotations

import base64
import json

import pytest

from steps.images.registry import Credentials
from steps.images.registry_auth import (
    InvalidRegistryAuth,
    credentials_from_document,
    docker_config_json,
)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "document",
    [
        {"username": "alice", "password": "p:w"},
        {"auth": _b64("alice:p:w")},
        {"username": "alice", "password": "p:w", "auth": _b64("alice:p:w")},
    ],
)
def test_each_shape_ocean_node_accepts_gives_the_same_credentials(document: object) -> None:
    assert credentials_from_document(document) == Credentials("alice", "p:w")


SECRET = "S3CR3T"


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ([SECRET], "not a JSON object"),
        ({}, "either 'auth' must be provided"),
        ({"username": "alice"}, "either 'auth' must be provided"),
        ({"username": "alice", "password": ""}, "either 'auth' must be provided"),
        ({"username": 7, "password": SECRET}, "username must be a string"),
        ({"auth": SECRET + "!"}, "auth is not the base64"),
        ({"auth": _b64(SECRET)}, "auth is not the base64"),
        ({"auth": _b64(f"alice:{SECRET}"), "username": "bob", "password": "y"}, "different"),
    ],
)
def test_a_document_that_is_no_auth_entry_is_refused_without_its_secret(
    document: object, problem: str
) -> None:
    with pytest.raises(InvalidRegistryAuth, match=problem) as caught:
        credentials_from_document(document)
    assert SECRET not in str(caught.value)


def test_the_password_is_in_no_repr() -> None:
    assert "hunter2" not in repr(Credentials("alice", "hunter2"))


def test_the_pull_secret_is_a_docker_config_for_the_registry() -> None:
    config = json.loads(docker_config_json("127.0.0.1:5000", Credentials("alice", "p:w")))
    entry = config["auths"]["127.0.0.1:5000"]
    assert entry["username"] == "alice" and entry["password"] == "p:w"
    assert base64.b64decode(entry["auth"]).decode() == "alice:p:w"
