"""Which registry images an environment accepts, as admission asks (provider/images.py)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from provider.environments import EnvironmentConfig
from provider.images import registry_image_allowed
from workflows.spec import Container

DIGEST = "sha256:" + "ab" * 32


def _env(**fields: Any) -> EnvironmentConfig:
    return EnvironmentConfig.model_validate(
        {
            "id": "e",
            "resources": [
                {"id": "cpu", "total": 1, "max": 1},
                {"id": "ram", "total": 1, "max": 1},
                {"id": "disk", "total": 1, "max": 1},
            ],
            "runtimes": [{"images": ["python:3.11"]}],
            **fields,
        }
    )


def _container(image: str, tag: str = "1", checksum: str = "") -> Container:
    return Container(entrypoint="sh $ALGO", image=image, tag=tag, checksum=checksum)


def test_no_patterns_no_registry_images() -> None:
    assert not registry_image_allowed(_container("ghcr.io/acme/algo"), _env())


def test_a_prefix_and_digests_only() -> None:
    env = _env(registryImages=["ghcr.io/acme/"], registryDigestsOnly=True)
    assert not registry_image_allowed(_container("ghcr.io/acme/algo"), env)
    assert registry_image_allowed(_container("ghcr.io/acme/algo", checksum=DIGEST), env)
    assert not registry_image_allowed(_container("ghcr.io/other/algo", checksum=DIGEST), env)
    # A digest in the tag, as Ocean clients sometimes send it, pins as well.
    assert registry_image_allowed(_container("ghcr.io/acme/algo", tag=DIGEST), env)


def test_a_bad_pattern_is_a_config_error() -> None:
    with pytest.raises(ValidationError, match="image pattern 'Bad Pattern'"):
        _env(registryImages=["Bad Pattern"])
