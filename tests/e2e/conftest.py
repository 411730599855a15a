"""A real ``c2d serve`` process on loopback, a loopback file server, and signed clients."""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from devkit.client import C2DClient
from devkit.demo import assets
from devkit.demo.files import FileServer
from devkit.launch import ServerProcess, start_server
from tests.storage_servers import FtpServer
from workflows.status import FAILED_STATUSES, JobStatus

CONTAINER = dict(assets.CONTAINER)


@pytest.fixture(scope="session")
def files_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("files")
    assets.write_csv(folder / "weather.csv", rows=50)
    (folder / "stats.py").write_text(assets.ALGORITHM_CODE)
    (folder / "ipfs").mkdir()
    return folder


@pytest.fixture(scope="session")
def file_server(files_dir: Path) -> Iterator[FileServer]:
    server = FileServer(files_dir)
    yield server
    server.close()


@pytest.fixture(scope="session")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("c2d-home")


@pytest.fixture(scope="session")
def server(home: Path, file_server: FileServer) -> Iterator[ServerProcess]:
    # The file servers of the tests are on loopback: opted in, as the SSRF guard refuses it.
    # The file server is the IPFS and Arweave gateway too (files_dir/ipfs/<cid>, files_dir/<txid>).
    env = {
        "C2D_SOURCE_NETWORKS": "127.0.0.0/8",
        "C2D_IPFS_GATEWAY": file_server.url(""),
        "C2D_ARWEAVE_GATEWAY": file_server.url(""),
    }
    process = start_server(home, env=env)
    yield process
    process.stop()


@pytest.fixture(scope="session")
def ftp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FtpServer]:
    server = FtpServer(tmp_path_factory.mktemp("ftp"))
    yield server
    server.close()


@pytest.fixture
def consumer() -> LocalAccount:
    account: LocalAccount = Account.create()
    return account


@pytest.fixture
def client(server: ServerProcess, consumer: LocalAccount) -> Iterator[C2DClient]:
    with C2DClient(server.url, consumer) as c2d:
        yield c2d


@pytest.fixture(scope="session")
def registry(home: Path, file_server: FileServer, files_dir: Path) -> dict[str, Any]:
    """A trusted algorithm, a dataset that trusts it, and a dataset whose policy lists nothing."""
    from provider.assets.ddo import Container, container_section_checksum

    publisher = Account.create().address
    algorithm = assets.algorithm_ddo(file_server.url("stats.py"), publisher)
    code = (files_dir / "stats.py").read_bytes()
    trusting = assets.dataset_ddo(
        file_server.url("weather.csv"),
        trusted_did=algorithm["id"],
        files_checksum=hashlib.sha256(code).hexdigest(),
        container_checksum=container_section_checksum(Container(**CONTAINER)),
        publisher=publisher,
    )
    private = assets.dataset_ddo(
        file_server.url("weather.csv"),
        trusted_did=algorithm["id"],
        files_checksum="",
        container_checksum="",
        publisher=publisher,
    )
    private["services"][0]["compute"]["publisherTrustedAlgorithms"] = []
    for name, ddo in {"algorithm": algorithm, "trusting": trusting, "private": private}.items():
        assets.save(ddo, home / "assets", name)
    return {"algorithm": algorithm, "trusting": trusting, "private": private}


def raw_algorithm(code: str) -> dict[str, Any]:
    return {"meta": {"rawcode": code, "container": CONTAINER}}


def raw_dataset(url: str) -> dict[str, Any]:
    return {"fileObject": {"type": "url", "url": url, "method": "GET"}}


def wait_for(client: C2DClient, job_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.status(job_id)
        status = JobStatus(job["status"])
        if status == JobStatus.FINISHED or status in FAILED_STATUSES:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still {job['status']} after {timeout} s")


def wait_for_status(client: C2DClient, job_id: str, wanted: JobStatus, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.status(job_id)["status"] == wanted:
            return
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} never reached {wanted}")


def result_of_type(job: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(r for r in job["results"] if r["type"] == kind)


def processes_with_home(home: Path) -> list[int]:
    """Processes whose environment names ``home`` as C2D_HOME (a provider left running)."""
    wanted = f"C2D_HOME={home}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):  # gone meanwhile, or not ours to read
                if wanted in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
    return found
