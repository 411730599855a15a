"""DDO builders shared by the asset tests: the demo's shapes, varied one field at a time."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from devkit.demo import assets as demo
from provider.assets.ddo import Container, Ddo, container_section_checksum

PUBLISHER = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
CODE_CHECKSUM = "a" * 64


@pytest.fixture
def algorithm_json() -> dict[str, Any]:
    return demo.algorithm_ddo("http://127.0.0.1:1/stats.py", PUBLISHER)


@pytest.fixture
def dataset_json(algorithm_json: dict[str, Any]) -> dict[str, Any]:
    return demo.dataset_ddo(
        "http://127.0.0.1:1/weather.csv",
        trusted_did=algorithm_json["id"],
        files_checksum=CODE_CHECKSUM,
        container_checksum=container_section_checksum(Container(**demo.CONTAINER)),
        publisher=PUBLISHER,
    )


@pytest.fixture
def algorithm(algorithm_json: dict[str, Any]) -> Ddo:
    return Ddo.model_validate(algorithm_json)


@pytest.fixture
def dataset(dataset_json: dict[str, Any]) -> Ddo:
    return Ddo.model_validate(dataset_json)


def with_compute(dataset_json: dict[str, Any], **compute: Any) -> Ddo:
    """The dataset with its compute block replaced by ``compute`` (camelCase keys)."""
    changed = copy.deepcopy(dataset_json)
    changed["services"][0]["compute"] = compute
    return Ddo.model_validate(changed)
