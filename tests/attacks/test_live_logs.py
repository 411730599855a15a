"""The algorithm's live log is the algorithm's file: it may turn it into a link to a host file, a
fifo, a link to /dev/zero, or a file larger than the log cap. Neither ``computeStreamableLogs``
nor the operator's ``c2d logs --follow`` may then show host data, hang the API, or stream past
the cap; and live streams are limited per job and per address."""

from __future__ import annotations

import contextlib
import functools
import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from eth_account import Account

from devkit.client import C2DClient
from devkit.launch import ServerProcess, start_server
from tests.attacks.conftest import start
from tests.e2e.conftest import wait_for
from workflows.spec import Limits

CAP: int = Limits.model_fields["log_bytes"].default
NEEDLE = "host-secret-0c9a7e51"
SECRET_NAME = "host-secret.txt"
# More than the cap may bring; a reader that gets this far has already failed.
READ_LIMIT = CAP + 1024 * 1024
# A regression must fail the test, not take the machine's memory (reading /dev/zero whole).
CLI_ADDRESS_SPACE = 4 * 1024**3

# The algorithm turns its log into something hostile, says so in its outputs, then waits for
# the test to release it (a file the test drops into its outputs).
PROBE = r"""
import os, time
log = "/data/logs/algorithm.log"
print("started", flush=True)
SETUP
open("/data/outputs/ready", "w").close()
for _ in range(2400):
    if os.path.exists("/data/outputs/release"):
        break
    time.sleep(0.05)
"""

SETUPS = {
    "absolute symlink": "os.unlink(log); os.symlink(SECRET, log)",
    # From <home>/jobs/<id>/volume/data/logs: five folders up is C2D_HOME.
    "relative symlink": f"os.unlink(log); os.symlink('../../../../../{SECRET_NAME}', log)",
    "fifo": "os.unlink(log); os.mkfifo(log)",
    "symlink to /dev/zero": "os.unlink(log); os.symlink('/dev/zero', log)",
    "larger than the cap": (
        f"f = open(log, 'ab')\nfor _ in range({CAP // 65536 + 64}): f.write(b'A' * 65535 + b'\\n')"
        "\nf.close()"
    ),
}


@pytest.fixture(scope="module")
def secret(attack_home: Path) -> Path:
    path = attack_home.resolve() / SECRET_NAME
    path.write_text(NEEDLE)
    return path


def _outputs(home: Path, job_id: str) -> Path:
    return home / "jobs" / job_id / "volume" / "data" / "outputs"


def _wait_until_ready(client: C2DClient, home: Path, job_id: str) -> None:
    ready = _outputs(home, job_id) / "ready"
    deadline = time.monotonic() + 120
    while not ready.exists():
        status = client.status(job_id)
        assert status["dateFinished"] in (None, "", 0), status
        assert time.monotonic() < deadline, f"job {job_id} never got ready: {status}"
        time.sleep(0.05)


def _release(home: Path, job_id: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        (_outputs(home, job_id) / "release").touch()


def _collect(
    chunks: Iterator[bytes], name: str, into: dict[str, bytes], started: threading.Event
) -> None:
    """Read a log reader's output (up to READ_LIMIT) into ``into[name]``; ``started`` is set at
    its first chunk or its end."""
    body = bytearray()
    try:
        for chunk in chunks:
            started.set()
            body += chunk
            if len(body) > READ_LIMIT:
                break
    finally:
        started.set()
        into[name] = bytes(body)


def _c2d_logs(home: Path, job_id: str) -> subprocess.Popen[bytes]:
    """The operator's ``c2d logs --follow`` on the provider's C2D_HOME."""
    return subprocess.Popen(
        [sys.executable, "-m", "provider.cli", "logs", "--follow", job_id],
        env={**os.environ, "C2D_HOME": str(home)},
        stdout=subprocess.PIPE,
        preexec_fn=_limit_memory,
    )


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CLI_ADDRESS_SPACE, CLI_ADDRESS_SPACE))


@pytest.mark.parametrize("trick", list(SETUPS))
def test_a_hostile_live_log_shows_no_host_data_and_blocks_nothing(
    attacker: C2DClient, provider: ServerProcess, attack_home: Path, secret: Path, trick: str
) -> None:
    home = attack_home.resolve()
    code = PROBE.replace("SETUP", SETUPS[trick].replace("SECRET", repr(str(secret))))
    job_id = start(attacker, code)
    _wait_until_ready(attacker, home, job_id)
    bodies: dict[str, bytes] = {}
    cli = _c2d_logs(home, job_id)
    started = [threading.Event(), threading.Event()]
    assert cli.stdout is not None
    printed = iter(functools.partial(cli.stdout.read1, 1 << 20), b"")
    readers = [
        threading.Thread(target=_collect, args=(attacker.logs(job_id), "http", bodies, started[0])),
        threading.Thread(target=_collect, args=(printed, "cli", bodies, started[1])),
    ]
    try:
        for reader in readers:
            reader.daemon = True
            reader.start()
        # Both readers have seen the hostile log (or are stuck on it) before the job may end.
        for event in started:
            event.wait(timeout=60)
        try:
            # While both follow the hostile log, the API answers everyone else.
            for _ in range(3):
                assert httpx.get(provider.url + "/", timeout=10).status_code == 200
                assert attacker.status(job_id)["jobId"] == job_id
        finally:
            _release(home, job_id)
        for reader in readers:
            reader.join(timeout=120)
        # Both streams end once the algorithm has (before the kill below).
        ended = {
            name: not reader.is_alive()
            for name, reader in zip(("http", "cli"), readers, strict=True)
        }
    finally:
        cli.kill()
        cli.wait()
    assert all(ended.values()), ended
    job = wait_for(attacker, job_id)
    assert job["dateFinished"], job
    for where, body in bodies.items():
        assert NEEDLE.encode() not in body, where
        assert len(body) <= CAP + 200, (where, len(body))
        if trick == "larger than the cap":
            assert body.endswith(f"[truncated: log longer than {CAP} bytes]\n".encode()), where
            assert body.startswith(b"started\n"), where
        else:
            assert b"log not shown: it is not a plain file of the job" in body, (where, body)


@pytest.fixture(scope="module")
def limited_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = start_server(
        tmp_path_factory.mktemp("streams-home"),
        env={"C2D_LOG_STREAMS_PER_JOB": "2", "C2D_LOG_STREAMS_PER_ADDRESS": "3"},
    )
    yield process
    process.stop()


def test_live_log_streams_are_limited_per_job_and_per_address(
    limited_provider: ServerProcess,
) -> None:
    home = limited_provider.log_path.parent.resolve()
    with C2DClient(limited_provider.url, Account.create()) as client:
        token = client.login()
        jobs = [start(client, PROBE.replace("SETUP", "pass")) for _ in range(2)]
        try:
            for job_id in jobs:
                _wait_until_ready(client, home, job_id)
            with httpx.Client(base_url=limited_provider.url, timeout=30) as http:

                def stream(job_id: str) -> contextlib.AbstractContextManager[httpx.Response]:
                    params = {"consumerAddress": client.account.address, "jobId": job_id}
                    return http.stream(
                        "GET",
                        "/api/services/computeStreamableLogs",
                        params=params,
                        headers={"Authorization": token},
                    )

                with contextlib.ExitStack() as held:
                    first = held.enter_context(stream(jobs[0]))
                    assert held.enter_context(stream(jobs[0])).status_code == 200
                    assert first.status_code == 200
                    with stream(jobs[0]) as refused:
                        assert refused.status_code == 429
                        refused.read()
                        assert "already has 2 live log streams open" in refused.json()["error"]
                    assert held.enter_context(stream(jobs[1])).status_code == 200
                    with stream(jobs[1]) as refused:
                        assert refused.status_code == 429
                        refused.read()
                        message = refused.json()["error"]
                        assert f"{client.account.address.lower()} already has 3" in message
                    # Ordinary requests still pass.
                    assert client.status(jobs[1])["jobId"] == jobs[1]
                # The streams closed by the client give their places back.
                deadline = time.monotonic() + 30
                while True:
                    with stream(jobs[0]) as again:
                        if again.status_code == 200:
                            break
                        again.read()
                    assert time.monotonic() < deadline, again.text
                    time.sleep(0.1)
        finally:
            for job_id in jobs:
                _release(home, job_id)
        for job_id in jobs:
            assert wait_for(client, job_id)["dateFinished"]
