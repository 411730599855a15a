"""FTPS (explicit TLS) for inputs and outputs against pyftpdlib's TLS handler on loopback, with a
self-signed certificate made here: trusted only because the operator names it in
C2D_FTPS_CA_FILE; a provider without it refuses the server's certificate."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from devkit.client import C2DClient
from devkit.launch import ServerProcess, start_server
from tests.e2e.conftest import raw_algorithm, result_of_type, wait_for
from tests.e2e.storage_checks import (
    AES,
    WRITES_OUTPUTS,
    assert_outputs,
    openssl_decrypt,
    sealed_output,
)
from tests.e2e.test_input_storage import COPIES_INPUT
from tests.storage_servers import FtpServer, TlsFiles
from workflows.status import JobStatus

CONTENT = b"sealed,1\n" * 300


@pytest.fixture(scope="module")
def ftps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FtpServer, TlsFiles]]:
    tls = TlsFiles.make(tmp_path_factory.mktemp("tls"))
    server = FtpServer(tmp_path_factory.mktemp("ftps"), tls=tls)
    yield server, tls
    server.close()


@pytest.fixture(scope="module")
def trusting(
    ftps: tuple[FtpServer, TlsFiles], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    _, tls = ftps
    env = {"C2D_SOURCE_NETWORKS": "127.0.0.0/8", "C2D_FTPS_CA_FILE": str(tls.cert)}
    server = start_server(tmp_path_factory.mktemp("ftps-home"), env=env)
    yield server
    server.stop()


def _run(url: str, body: dict[str, Any]) -> tuple[C2DClient, dict[str, Any]]:
    client = C2DClient(url, Account.create())
    job = client.free_compute({"environment": "free", **body})
    return client, wait_for(client, job["jobId"], timeout=120)


def _input_job(provider_url: str, ftps_server: FtpServer) -> tuple[C2DClient, dict[str, Any]]:
    """A job whose dataset is a file on the FTPS server, run to its end."""
    (ftps_server.root / "in.csv").write_bytes(CONTENT)
    assert ftps_server.url("in.csv").startswith("ftps://")
    dataset = {"fileObject": {"type": "ftp", "url": ftps_server.url("in.csv")}}
    return _run(provider_url, {"algorithm": raw_algorithm(COPIES_INPUT), "datasets": [dataset]})


def test_an_ftps_dataset_is_read_over_tls(
    trusting: ServerProcess, ftps: tuple[FtpServer, TlsFiles]
) -> None:
    client, job = _input_job(trusting.url, ftps[0])
    with client:
        assert job["status"] == JobStatus.FINISHED, job["statusReason"]
        archive = client.result(job["jobId"], result_of_type(job, "output")["index"])
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        member = tar.extractfile("got")
        assert member is not None and member.read() == CONTENT


def test_outputs_go_to_an_ftps_server_encrypted(
    trusting: ServerProcess, ftps: tuple[FtpServer, TlsFiles], tmp_path: Path
) -> None:
    server, _ = ftps
    with C2DClient(trusting.url, Account.create()) as probe:
        node_key = probe.discovery()["nodePublicKey"]
    document = {
        "remoteStorage": {"type": "ftp", "url": server.url("sealed.tar")},
        "encryption": AES,
    }
    client, job = _run(
        trusting.url,
        {"algorithm": raw_algorithm(WRITES_OUTPUTS), "output": sealed_output(node_key, document)},
    )
    client.close()
    assert job["status"] == JobStatus.FINISHED, job["statusReason"]
    assert_outputs(openssl_decrypt(node_key, (server.root / "sealed.tar").read_bytes(), tmp_path))


def test_without_the_operators_trust_the_certificate_is_refused(
    server: ServerProcess, ftps: tuple[FtpServer, TlsFiles]
) -> None:
    """The session's provider has no C2D_FTPS_CA_FILE: the self-signed server is not trusted."""
    client, job = _input_job(server.url, ftps[0])
    client.close()
    assert job["status"] == JobStatus.DATA_PROVISIONING_FAILED
    assert job["statusReason"] == "data provisioning failed: input 0 file 0: TLS handshake failed"
