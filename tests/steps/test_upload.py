"""steps.upload against real servers on loopback: ministack (SigV4 checked) and pyftpdlib."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from steps.readers.guard import SourcePolicy
from steps.upload import UploadError, upload_archive
from tests.storage_servers import FtpServer, S3Server, free_port
from workflows.output_spec import OutputSpec

LOOPBACK = SourcePolicy.parse("127.0.0.0/8")
KEY = "11" * 32
IV = "02" + "ab" * 15


@pytest.fixture
def ftp(tmp_path: Path) -> Iterator[FtpServer]:
    server = FtpServer(tmp_path / "ftp")
    yield server
    server.close()


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    path = tmp_path / "outputs.tar"
    path.write_bytes(os.urandom(100_000))
    return path


def _spec(storage: dict[str, object], *, encrypted: bool = False) -> OutputSpec:
    document: dict[str, object] = {"remoteStorage": storage, "file_name": "outputs-x.tar"}
    if encrypted:
        document["encryption"] = {"encryptMethod": "AES", "key": KEY, "iv": IV}
    return OutputSpec.model_validate(document)


def _openssl_decrypt(data: bytes, tmp_path: Path) -> bytes:
    """One tool decrypts the archive, as a consumer would (no header, IV from nodePublicKey)."""
    sealed = tmp_path / "sealed"
    sealed.write_bytes(data)
    return subprocess.run(
        ["openssl", "enc", "-d", "-aes-256-cbc", "-K", KEY, "-iv", IV, "-in", str(sealed)],
        check=True,
        capture_output=True,
    ).stdout


def test_s3_multipart_upload_of_a_large_archive(s3: S3Server, tmp_path: Path) -> None:
    big = tmp_path / "outputs.tar"
    big.write_bytes(os.urandom(40 * 1024 * 1024 + 5))  # three parts of 16 MiB at most
    spec = _spec({"type": "s3", "s3Access": s3.access("results", "jobs/")})
    where = upload_archive(big, spec, policy=LOOPBACK, timeout=30)
    assert where == "s3 bucket results, key jobs/outputs-x.tar"
    assert s3.read("results", "jobs/outputs-x.tar") == big.read_bytes()


def test_s3_upload_encrypted_as_ocean_node(s3: S3Server, archive: Path, tmp_path: Path) -> None:
    spec = _spec({"type": "s3", "s3Access": s3.access("results", "mine.tar")}, encrypted=True)
    upload_archive(archive, spec, policy=LOOPBACK, timeout=30)
    sealed = s3.read("results", "mine.tar")
    assert sealed != archive.read_bytes() and len(sealed) % 16 == 0
    assert _openssl_decrypt(sealed, tmp_path) == archive.read_bytes()


def test_s3_wrong_secret_is_refused_by_the_server(s3: S3Server, archive: Path) -> None:
    access = s3.access("results", "x.tar", secretAccessKey="wrong" * 8)
    with pytest.raises(UploadError) as caught:
        upload_archive(
            archive, _spec({"type": "s3", "s3Access": access}), policy=LOOPBACK, timeout=30
        )
    assert str(caught.value) == "S3 upload failed: HTTP status 403 (SignatureDoesNotMatch)"


def test_s3_unreachable_endpoint(archive: Path) -> None:
    access = {
        "endpoint": f"http://127.0.0.1:{free_port()}",
        "bucket": "b",
        "objectKey": "k",
        "accessKeyId": "a",
        "secretAccessKey": "s",
        "forcePathStyle": True,
    }
    with pytest.raises(UploadError) as caught:
        upload_archive(
            archive, _spec({"type": "s3", "s3Access": access}), policy=LOOPBACK, timeout=30
        )
    assert str(caught.value) == "S3 upload failed: connection refused"


def test_s3_endpoint_on_loopback_is_refused_by_default(s3: S3Server, archive: Path) -> None:
    spec = _spec({"type": "s3", "s3Access": s3.access("results", "guarded.tar")})
    with pytest.raises(UploadError) as caught:
        upload_archive(archive, spec, policy=SourcePolicy(), timeout=30)
    assert "not allowed (private, loopback or reserved)" in str(caught.value)
    assert "C2D_SOURCE_NETWORKS" in str(caught.value)


@pytest.mark.parametrize("encrypted", [False, True])
def test_ftp_upload_into_a_folder(
    ftp: FtpServer, archive: Path, tmp_path: Path, encrypted: bool
) -> None:
    (ftp.root / "results").mkdir()
    spec = _spec({"type": "ftp", "url": ftp.url("results/")}, encrypted=encrypted)
    where = upload_archive(archive, spec, policy=LOOPBACK, timeout=30)
    assert where == "ftp server 127.0.0.1, path /results/outputs-x.tar"
    stored = (ftp.root / "results" / "outputs-x.tar").read_bytes()
    assert (_openssl_decrypt(stored, tmp_path) if encrypted else stored) == archive.read_bytes()


def test_ftp_wrong_password(ftp: FtpServer, archive: Path) -> None:
    spec = _spec({"type": "ftp", "url": ftp.url("x.tar", password="nope")})
    with pytest.raises(UploadError) as caught:
        upload_archive(archive, spec, policy=LOOPBACK, timeout=30)
    assert str(caught.value) == (
        "FTP upload failed: the server answered 530 Authentication failed."
    )


def test_ftp_server_dropping_the_connection_mid_upload(tmp_path: Path, archive: Path) -> None:
    server = FtpServer(tmp_path / "dropping", drop_after_start=True)
    try:
        spec = _spec({"type": "ftp", "url": server.url("x.tar")})
        with pytest.raises(UploadError) as caught:
            upload_archive(archive, spec, policy=LOOPBACK, timeout=30)
    finally:
        server.close()
    assert str(caught.value) == "FTP upload failed: the server closed the connection"
