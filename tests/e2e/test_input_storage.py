"""Dataset files of every storage type run real jobs: s3 (ministack, SigV4 checked), ftp
(pyftpdlib), ipfs and arweave (a loopback HTTP server as the operator's gateway), and a url
dataset's ``userdata`` reaching its server as Ocean Node passes it (in the query)."""

from __future__ import annotations

import hashlib
import io
import tarfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from devkit.client import C2DClient, ProviderError
from tests.e2e.conftest import raw_algorithm, result_of_type, wait_for
from tests.storage_servers import FtpServer, S3Server
from workflows.status import JobStatus

COPIES_INPUT = """
import shutil
shutil.copy("/data/inputs/0/0", "/data/outputs/got")
"""
CONTENT = b"city,temp\nBerlin,12\n" * 100
CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
TXID = "Jj3b4o5ZbX7zXQbQ0yRk1mXyW3_8s7vDkq9H2oPzY-c"


def run_with(client: C2DClient, file_object: dict[str, Any], **dataset: Any) -> bytes:
    """Run a job whose dataset is ``file_object``; what the algorithm read from it."""
    body = {
        "environment": "free",
        "algorithm": raw_algorithm(COPIES_INPUT),
        "datasets": [{"fileObject": file_object, **dataset}],
    }
    job = wait_for(client, client.free_compute(body)["jobId"], timeout=120)
    assert job["status"] == JobStatus.FINISHED, job
    archive = client.result(job["jobId"], result_of_type(job, "output")["index"])
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        member = tar.extractfile("got")
        assert member is not None
        return member.read()


def test_s3_dataset(client: C2DClient, s3: S3Server) -> None:
    s3.s3.create_bucket(Bucket="data")
    s3.s3.put_object(Bucket="data", Key="in/weather.csv", Body=CONTENT)
    file_object = {
        "type": "s3",
        "s3Access": s3.access("data", "in/weather.csv"),
        "checksum": hashlib.sha256(CONTENT).hexdigest(),
    }
    assert run_with(client, file_object) == CONTENT


def test_s3_dataset_with_wrong_keys_fails_provisioning(client: C2DClient, s3: S3Server) -> None:
    access = s3.access("data", "in/weather.csv", secretAccessKey="wrong-secret-key")
    body = {
        "environment": "free",
        "algorithm": raw_algorithm(COPIES_INPUT),
        "datasets": [{"fileObject": {"type": "s3", "s3Access": access}}],
    }
    job = wait_for(client, client.free_compute(body)["jobId"], timeout=120)
    assert job["status"] == JobStatus.DATA_PROVISIONING_FAILED
    assert job["statusReason"] == (
        "data provisioning failed: input 0 file 0: HTTP status 403 (SignatureDoesNotMatch)"
    )


def test_ftp_dataset(client: C2DClient, ftp: FtpServer) -> None:
    (ftp.root / "weather.csv").write_bytes(CONTENT)
    assert run_with(client, {"type": "ftp", "url": ftp.url("weather.csv")}) == CONTENT


def test_ipfs_dataset_through_the_gateway(client: C2DClient, files_dir: Path) -> None:
    (files_dir / "ipfs" / CID).write_bytes(CONTENT)
    assert run_with(client, {"type": "ipfs", "hash": CID}) == CONTENT


def test_arweave_dataset_through_the_gateway(client: C2DClient, files_dir: Path) -> None:
    (files_dir / TXID).write_bytes(CONTENT)
    assert run_with(client, {"type": "arweave", "transactionId": TXID}) == CONTENT


@pytest.mark.parametrize(
    ("file_object", "message"),
    [
        (
            {"type": "ipfs", "hash": "https://evil.example/x"},
            "hash must be letters, digits, - or _ (no URL, no path)",
        ),
        ({"type": "arweave"}, "a file of type arweave needs transactionId"),
        ({"type": "s3"}, "a file of type s3 needs s3Access"),
        ({"type": "ftp", "url": "http://x/y"}, "url must start with ftp:// or ftps://"),
        ({"type": "gopher", "url": "gopher://x"}, "file type 'gopher' is not supported"),
    ],
)
def test_a_bad_file_object_is_a_400(
    client: C2DClient, file_object: dict[str, Any], message: str
) -> None:
    body = {
        "environment": "free",
        "algorithm": raw_algorithm(COPIES_INPUT),
        "datasets": [{"fileObject": file_object}],
    }
    with pytest.raises(ProviderError) as caught:
        client.free_compute(body)
    assert caught.value.status_code == 400
    assert caught.value.message.startswith("datasets[0].fileObject: ")
    assert message in caught.value.message


class _EchoQuery(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = self.path.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def echo() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoQuery)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_userdata_is_appended_to_the_url_as_ocean_node_does(client: C2DClient, echo: str) -> None:
    file_object = {"type": "url", "url": f"{echo}/data?v=1", "method": "GET"}
    got = run_with(client, file_object, userdata={"city": "Berlin", "n": 3, "tags": ["a"]})
    assert got == b"/data?v=1&city=Berlin&n=3&tags=%5B%22a%22%5D"
