"""Result storage caps from the operator: the environment's maxResultStorage and
C2D_MAX_RESULT_STORAGE, validated, and handed to publish in bytes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from provider.engine_factory import result_storage_env
from provider.environments import ProviderConfig, default_config
from provider.errors import ConfigError
from provider.settings import Settings, load_settings
from steps.storage import ENVIRONMENT_STORAGE_ENV, RESULT_STORAGE_ENV, StorageCaps

_GIB = 2**30


def _config(home: Path, **overrides: object) -> ProviderConfig:
    base = default_config(home).environments[0].model_dump(by_alias=True, exclude_none=True)
    return ProviderConfig.model_validate({"environments": [{**base, **overrides}]})


def test_caps_reach_publish_in_bytes(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, max_result_storage=2.5)
    env = result_storage_env(settings, _config(tmp_path, maxResultStorage=0.5))
    caps = StorageCaps.from_env(env)
    assert caps.host_bytes == int(2.5 * _GIB)
    assert caps.for_environment("free") == _GIB // 2
    assert caps.for_environment("other") is None


def test_without_settings_the_host_cap_is_half_the_file_system(tmp_path: Path) -> None:
    env = result_storage_env(Settings(home=tmp_path / "not-yet"), _config(tmp_path))
    assert int(env[RESULT_STORAGE_ENV]) == shutil.disk_usage(tmp_path).total // 2
    assert json.loads(env[ENVIRONMENT_STORAGE_ENV]) == {}


@pytest.mark.parametrize("value", [0, -1, "none"])
def test_a_bad_environment_cap_is_refused(tmp_path: Path, value: object) -> None:
    with pytest.raises(ValueError, match="maxResultStorage"):
        _config(tmp_path, maxResultStorage=value)


def test_a_bad_host_cap_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("C2D_MAX_RESULT_STORAGE", "0")
    with pytest.raises(ConfigError, match="C2D_MAX_RESULT_STORAGE"):
        load_settings()
