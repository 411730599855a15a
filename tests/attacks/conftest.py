"""Hostile algorithms through the REST API: a provider of their own, a loopback file server, and
helpers to run one probe and read the report it leaves in its outputs."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from devkit.client import C2DClient
from devkit.demo.files import FileServer
from devkit.launch import ServerProcess, start_server
from tests.e2e.conftest import raw_algorithm, result_of_type, wait_for

# The probes write this file into /data/outputs; the tests read it back from outputs.tar.
REPORT = "report.json"


@pytest.fixture(scope="session")
def attack_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("attack-home")


@pytest.fixture(scope="session")
def attack_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("attack-files")


@pytest.fixture(scope="session")
def attack_files(attack_folder: Path) -> Iterator[FileServer]:
    server = FileServer(attack_folder)
    yield server
    server.close()


@pytest.fixture(scope="session")
def provider(attack_home: Path) -> Iterator[ServerProcess]:
    # Loopback sources opted in for the file server; a provider key in the environment too, so
    # the probes can look for it in /proc.
    process = start_server(
        attack_home,
        env={"C2D_SOURCE_NETWORKS": "127.0.0.0/8", "C2D_PROVIDER_PRIVATE_KEY": "0x" + "5a" * 32},
    )
    yield process
    process.stop()


@pytest.fixture
def attacker(provider: ServerProcess) -> Iterator[C2DClient]:
    with C2DClient(provider.url, Account.create()) as client:
        client.login()
        yield client


def start(client: C2DClient, code: str, **body: Any) -> str:
    job = client.free_compute({"environment": "free", "algorithm": raw_algorithm(code), **body})
    return str(job["jobId"])


def run(client: C2DClient, code: str, timeout: float = 60, **body: Any) -> dict[str, Any]:
    return wait_for(client, start(client, code, **body), timeout=timeout)


def outputs(client: C2DClient, job: dict[str, Any]) -> tarfile.TarFile:
    archive = client.result(job["jobId"], result_of_type(job, "output")["index"])
    return tarfile.open(fileobj=io.BytesIO(archive))


def report(client: C2DClient, job: dict[str, Any]) -> dict[str, Any]:
    with outputs(client, job) as tar:
        member = tar.extractfile(REPORT)
        assert member is not None, job
        loaded: dict[str, Any] = json.loads(member.read())
        return loaded


def algorithm_log(client: C2DClient, job: dict[str, Any]) -> bytes:
    return client.result(job["jobId"], result_of_type(job, "algorithmLog")["index"])
