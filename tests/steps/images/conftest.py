from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from steps.images.registry import RegistryClient
from steps.readers.guard import SourcePolicy
from tests.steps.images.oci import Pusher, registry


@pytest.fixture(scope="module")
def registry_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if shutil.which("docker-registry") is None:
        pytest.skip("docker-registry is not installed (make test installs it from apt)")
    with registry(tmp_path_factory.mktemp("registry")) as address:
        yield address


@pytest.fixture
def pusher(registry_address: str) -> Pusher:
    return Pusher(registry_address)


@pytest.fixture
def client(registry_address: str) -> RegistryClient:
    """Loopback allowed and plain HTTP for this registry only, as an operator would set it."""
    return RegistryClient(SourcePolicy.parse("127.0.0.0/8"), frozenset({registry_address}))


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder next to the cache: nothing a hostile image does may write here."""
    folder = tmp_path / "outside"
    folder.mkdir()
    return folder
