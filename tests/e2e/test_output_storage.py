"""``output``: results to the consumer's S3 or FTP storage, through the REST API with real jobs.

Real servers on loopback (ministack checks SigV4, pyftpdlib); the server fixture opts loopback
in with C2D_SOURCE_NETWORKS. The consumer encrypts ``output`` for ``nodePublicKey`` as ocean.js
does, and decrypts the archive with openssl alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from devkit.client import C2DClient, ProviderError
from tests.e2e.conftest import raw_algorithm, result_of_type, wait_for
from tests.e2e.storage_checks import (
    AES,
    WRITES_OUTPUTS,
    assert_outputs,
    openssl_decrypt,
    sealed_output,
)
from tests.storage_servers import FtpServer, S3Server, free_port
from workflows.status import JobStatus


def start(client: C2DClient, document: dict[str, Any]) -> dict[str, Any]:
    body = {
        "environment": "free",
        "algorithm": raw_algorithm(WRITES_OUTPUTS),
        "output": seal(client, document),
    }
    return wait_for(client, client.free_compute(body)["jobId"], timeout=120)


def seal(client: C2DClient, document: dict[str, Any]) -> str:
    return sealed_output(client.discovery()["nodePublicKey"], document)


def decrypt(client: C2DClient, data: bytes, tmp_path: Path) -> bytes:
    return openssl_decrypt(client.discovery()["nodePublicKey"], data, tmp_path)


@pytest.mark.parametrize("encrypted", [False, True])
def test_output_to_s3(client: C2DClient, s3: S3Server, tmp_path: Path, encrypted: bool) -> None:
    document: dict[str, Any] = {
        "remoteStorage": {"type": "s3", "s3Access": s3.access("results", "jobs/")}
    }
    if encrypted:
        document["encryption"] = AES
    job = start(client, document)
    assert job["status"] == JobStatus.FINISHED, job
    stored = s3.read("results", f"jobs/outputs-free-{job['jobId']}.tar")
    assert_outputs(decrypt(client, stored, tmp_path) if encrypted else stored)
    # Logs (and the archive) stay downloadable from the provider.
    assert b"publish" in client.result(job["jobId"], result_of_type(job, "publishLog")["index"])


@pytest.mark.parametrize("encrypted", [False, True])
def test_output_to_ftp(client: C2DClient, ftp: FtpServer, tmp_path: Path, encrypted: bool) -> None:
    document: dict[str, Any] = {
        "remoteStorage": {"type": "ftp", "url": ftp.url(f"{encrypted}.tar")}
    }
    if encrypted:
        document["encryption"] = AES
    job = start(client, document)
    assert job["status"] == JobStatus.FINISHED, job
    stored = (ftp.root / f"{encrypted}.tar").read_bytes()
    assert_outputs(decrypt(client, stored, tmp_path) if encrypted else stored)


def assert_upload_failed(client: C2DClient, job: dict[str, Any], reason: str) -> None:
    """62 with the reason, and nothing lost: the outputs are on the provider."""
    assert job["status"] == JobStatus.RESULTS_UPLOAD_FAILED, job
    assert job["statusReason"] == (
        f"publish finished with exit code 62: {reason};"
        " the outputs stay downloadable with computeResult until they expire"
    )
    assert_outputs(client.result(job["jobId"], result_of_type(job, "output")["index"]))


def test_wrong_s3_keys_end_62_and_keep_the_outputs(client: C2DClient, s3: S3Server) -> None:
    access = s3.access("results", "x.tar", secretAccessKey="not-the-secret-at-all")
    job = start(client, {"remoteStorage": {"type": "s3", "s3Access": access}})
    assert_upload_failed(client, job, "S3 upload failed: HTTP status 403 (SignatureDoesNotMatch)")


def test_unreachable_s3_endpoint_ends_62(client: C2DClient, s3: S3Server) -> None:
    access = s3.access("results", "x.tar", endpoint=f"http://127.0.0.1:{free_port()}")
    job = start(client, {"remoteStorage": {"type": "s3", "s3Access": access}})
    assert_upload_failed(client, job, "S3 upload failed: connection refused")


def test_ftp_dropping_mid_upload_ends_62(client: C2DClient, tmp_path: Path) -> None:
    dropping = FtpServer(tmp_path / "ftp", drop_after_start=True)
    try:
        job = start(client, {"remoteStorage": {"type": "ftp", "url": dropping.url("x.tar")}})
    finally:
        dropping.close()
    assert_upload_failed(client, job, "FTP upload failed: the server closed the connection")


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            {"remoteStorage": {"type": "url", "url": "https://x.example"}},
            "output: remoteStorage: type must be 's3' or 'ftp'",
        ),
        (
            {"encryption": {"encryptMethod": "AES", "key": AES["key"]}},
            "output: remoteStorage is missing",
        ),
        (
            {
                "remoteStorage": {"type": "ftp", "url": "ftp://h/x"},
                "encryption": {"encryptMethod": "AES", "key": "ab"},
            },
            "output: encryption.key: key must be at least 32 bytes as hex (64 hex digits)",
        ),
        (
            {
                "remoteStorage": {
                    "type": "s3",
                    "s3Access": {"endpoint": "https://s3.example", "bucket": "b"},
                }
            },
            "output: remoteStorage.s3Access.objectKey: Field required",
        ),
        (
            {"remoteStorage": {"type": "ftp", "url": "ftp://10.0.0.1/x.tar"}},
            "output: the storage's address is not allowed",
        ),
    ],
)
def test_a_bad_output_is_a_400_at_start(
    client: C2DClient, document: dict[str, Any], message: str
) -> None:
    with pytest.raises(ProviderError) as caught:
        client.free_compute(
            {
                "environment": "free",
                "algorithm": raw_algorithm("print(1)"),
                "output": seal(client, document),
            }
        )
    assert caught.value.status_code == 400
    assert caught.value.message.startswith(message)
    assert client.status_list() == []
