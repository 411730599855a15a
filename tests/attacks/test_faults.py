"""Faults on purpose: bad data sources, a refused private source, full result storage, and many
concurrent requests signed with one nonce."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from eth_account import Account

from devkit.client import C2DClient, sign_request
from devkit.demo.files import FileServer
from devkit.launch import ServerProcess, start_server
from tests.attacks.conftest import run
from tests.e2e.conftest import raw_dataset
from tests.steps.conftest import Server
from workflows.status import JobStatus


@pytest.fixture(scope="module")
def bad_sources() -> Iterator[Server]:
    running = Server()
    yield running
    running.httpd.shutdown()
    running.httpd.server_close()


@pytest.mark.parametrize(
    ("endpoint", "words"),
    [
        ("error", "HTTP status 500"),
        ("lying", "closed the connection"),
        ("huge", "size cap exceeded"),
        ("missing", "HTTP status 404"),
    ],
)
def test_bad_data_source_is_31_with_the_reason(
    attacker: C2DClient, bad_sources: Server, endpoint: str, words: str
) -> None:
    job = run(attacker, "print('never runs')", datasets=[raw_dataset(bad_sources.url(endpoint))])
    assert job["status"] == JobStatus.DATA_PROVISIONING_FAILED, job
    assert words in job["statusReason"], job
    # The reason names the failure, never the URL.
    assert "127.0.0.1" not in job["statusReason"]


@pytest.fixture(scope="module")
def strict_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Defaults for sources (public only), and result storage on a 1 MiB file system."""
    home = tmp_path_factory.mktemp("strict-home")
    results = home / "results"
    results.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "c2d-test", str(results)], check=True)
    try:
        process = start_server(home)
        yield process
        process.stop()
    finally:
        subprocess.run(["umount", "-l", str(results)], check=False)


@pytest.fixture
def strict_client(strict_provider: ServerProcess) -> Iterator[C2DClient]:
    with C2DClient(strict_provider.url, Account.create()) as client:
        client.login()
        yield client


def test_loopback_source_is_refused_by_default(
    strict_client: C2DClient, attack_files: FileServer, attack_folder: Path
) -> None:
    (attack_folder / "internal.csv").write_text("internal\n")
    job = run(strict_client, "print(1)", datasets=[raw_dataset(attack_files.url("internal.csv"))])
    assert job["status"] == JobStatus.DATA_PROVISIONING_FAILED, job
    assert "not allowed" in job["statusReason"], job
    # It says how an operator allows it (a file server on their own machine, say).
    assert "may allow its network with C2D_SOURCE_NETWORKS" in job["statusReason"], job


def test_full_result_storage_is_62_and_the_provider_stays_up(strict_client: C2DClient) -> None:
    code = "import os\nopen(os.environ['OUTPUTS'] + '/big', 'wb').write(os.urandom(3 << 20))"
    job = run(strict_client, code)
    assert job["status"] == JobStatus.RESULTS_UPLOAD_FAILED, job
    assert "space" in job["statusReason"].lower(), job
    assert strict_client.environments()
    # The next job still runs (its small results fit once the failed ones are gone or not).
    assert run(strict_client, "print('after')")["status"] in (
        JobStatus.FINISHED,
        JobStatus.RESULTS_UPLOAD_FAILED,
    )


def test_one_nonce_sent_concurrently_is_accepted_once(provider: ServerProcess) -> None:
    account = Account.create()
    nonce = 1
    body = {
        "address": account.address,
        "nonce": str(nonce),
        "signature": sign_request(account, nonce, "createAuthToken"),
    }

    def attempt(_: int) -> int:
        with httpx.Client(base_url=provider.url, timeout=30) as http:
            return http.post("/api/services/auth/token", json=body).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        codes = list(pool.map(attempt, range(32)))
    assert codes.count(200) == 1, codes
    assert set(codes) == {200, 401}, codes
