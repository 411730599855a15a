"""SSRF through IPv6 spellings of a loopback address: a raw dataset URL whose host is
``::127.0.0.1``, a 6to4 or a NAT64 form of 127.0.0.1 ends 31 without a connection, on a provider
that opts no network in."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account

from devkit.client import C2DClient
from devkit.launch import ServerProcess, start_server
from tests.attacks.conftest import run
from tests.e2e.conftest import raw_dataset
from workflows.status import JobStatus


@pytest.fixture(scope="module")
def public_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = start_server(Path(tmp_path_factory.mktemp("guard-home")))
    yield process
    process.stop()


@pytest.fixture(scope="module")
def listener() -> Iterator[socket.socket]:
    """A loopback port that would see any connection the guard let through."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        sock.setblocking(False)
        yield sock


@pytest.mark.parametrize(
    "host", ["[::127.0.0.1]", "[2002:7f00:1::1]", "[64:ff9b::7f00:1]", "[64:ff9b:1::7f00:1]"]
)
def test_ipv6_forms_of_loopback_end_31_without_a_connection(
    public_only: ServerProcess, listener: socket.socket, host: str
) -> None:
    port = listener.getsockname()[1]
    with C2DClient(public_only.url, Account.create()) as client:
        client.login()
        job = run(client, "print(1)", datasets=[raw_dataset(f"http://{host}:{port}/x.csv")])
    assert job["status"] == JobStatus.DATA_PROVISIONING_FAILED, job
    assert "not allowed" in job["statusReason"], job
    with pytest.raises(BlockingIOError):
        listener.accept()
