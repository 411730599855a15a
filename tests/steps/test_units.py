"""PathMap and the results manifest, without processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from steps.manifest import write_manifest
from steps.paths import PathMap, PathMapError
from workflows import contract
from workflows.contract import PATH_MAP_ENV
from workflows.engines.base import ResultFile
from workflows.manifest import ManifestError, read_manifest


def test_path_map_uses_the_longest_prefix(tmp_path: Path) -> None:
    env = {PATH_MAP_ENV: f'{{"/c2d": "{tmp_path}/c2d", "/c2d/logs": "{tmp_path}/admin"}}'}
    paths = PathMap.from_env(env)

    assert paths.resolve(contract.CONFIGURE_LOG) == tmp_path / "admin" / "configure.log"
    assert paths.resolve(contract.SPEC_FILE) == tmp_path / "c2d" / "spec" / "jobspec.json"
    assert paths.resolve("/c2d") == tmp_path / "c2d"
    with pytest.raises(PathMapError):
        paths.resolve("/c2dx/file")
    with pytest.raises(PathMapError):
        paths.resolve("/c2d/../etc/passwd")


def test_path_map_is_identity_without_the_variable() -> None:
    assert PathMap.from_env({}).resolve(contract.ALGORITHM_LOG) == Path(contract.ALGORITHM_LOG)


@pytest.mark.parametrize("raw", ["not json", "[]", "{}", '{"/data": 1}', '{"data": "/x"}'])
def test_path_map_refuses_malformed_values(raw: str) -> None:
    with pytest.raises(PathMapError):
        PathMap.from_env({PATH_MAP_ENV: raw})


def test_manifest_round_trip(tmp_path: Path) -> None:
    files = [
        ResultFile("configuration.log", 3, "configurationLog", 0),
        ResultFile("outputs.tar", 10240, "output", 1),
    ]
    write_manifest(tmp_path, files)

    assert read_manifest(tmp_path) == files


@pytest.mark.parametrize(
    "body",
    [
        '[{"filename": "../x", "filesize": 1, "type": "output", "index": 0}]',
        '[{"filename": "x", "filesize": 1, "type": "output", "index": 1}]',
        '[{"filename": "x", "filesize": 1, "type": "secret", "index": 0}]',
        "{}",
    ],
)
def test_manifest_refuses_bad_entries(tmp_path: Path, body: str) -> None:
    (tmp_path / contract.RESULTS_MANIFEST).write_text(body)
    with pytest.raises(ManifestError):
        read_manifest(tmp_path)


def test_missing_manifest(tmp_path: Path) -> None:
    with pytest.raises(ManifestError):
        read_manifest(tmp_path)
