"""Environment ids are Kubernetes label values: a bad one is a config error naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from provider.environments import load_config
from provider.errors import ConfigError


def _config(tmp_path: Path, env_id: str) -> Path:
    path = tmp_path / "environments.yaml"
    environment = {
        "id": env_id,
        "resources": [
            {"id": "cpu", "total": 2, "max": 1},
            {"id": "ram", "total": 2, "max": 1},
            {"id": "disk", "total": 2, "max": 1},
        ],
        "runtimes": [{"images": ["python:3.11"]}],
    }
    path.write_text(yaml.safe_dump({"environments": [environment]}))
    return path


@pytest.mark.parametrize(
    "env_id",
    ["GPU", "gpu_a100", "gpu.a100", "-gpu", "gpu-", "a" * 64, "", "gpu a100", "gpü"],
)
def test_an_id_that_is_no_label_value_is_refused(tmp_path: Path, env_id: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_config(_config(tmp_path, env_id))
    message = str(refused.value)
    assert f"environments.0.id: Value error, {env_id!r} is not a valid environment id" in message
    assert "at most 63 lowercase letters, digits and '-'" in message


@pytest.mark.parametrize("env_id", ["free", "gpu-a100", "a" * 63, "0"])
def test_label_values_are_accepted(tmp_path: Path, env_id: str) -> None:
    (environment,) = load_config(_config(tmp_path, env_id)).environments
    assert environment.id == env_id
