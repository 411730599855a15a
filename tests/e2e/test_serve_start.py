"""How ``c2d serve`` starts: one provider per C2D_HOME, the port bound before anything is said
ready, and a first log line naming what a newcomer looks for (address, home, config, ...)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from eth_account import Account

from devkit.client import C2DClient
from devkit.launch import ServerProcess
from tests.e2e.conftest import raw_algorithm, wait_for
from tests.faults.conftest import (
    HELD_ALGORITHM,
    release_algorithm,
    start_provider,
    wait_algorithm_ready,
)
from workflows.status import JobStatus

_REPO = Path(__file__).resolve().parents[2]


def _serve(home: Path, port: int, **env: str) -> subprocess.CompletedProcess[str]:
    """A second ``c2d serve``, expected to refuse and exit by itself."""
    return subprocess.run(
        [sys.executable, "-m", "provider.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env={**os.environ, "C2D_HOME": str(home), "C2D_LOG_FORMAT": "text", **env},
        cwd=_REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _port(server: ServerProcess) -> int:
    return int(server.url.rsplit(":", 1)[1])


def test_a_second_provider_on_the_same_home_leaves_the_first_ones_jobs_alone(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    first = start_provider(home)
    try:
        with C2DClient(first.url, Account.create()) as client:
            client.login()
            job_id = client.free_compute(
                {"environment": "free", "algorithm": raw_algorithm(HELD_ALGORITHM)}
            )["jobId"]
            wait_algorithm_ready(client, job_id)

            # The same port (the usual accident: a second terminal) and another one.
            for port in (_port(first), _port(first) + 1):
                second = _serve(home, port)
                assert second.returncode == 2, second.stderr
                assert "another c2d serve is using C2D_HOME" in second.stderr, second.stderr
                assert f"pid {first.process.pid}" in second.stderr, second.stderr
                assert f"listening on {first.url}" in second.stderr, second.stderr
                assert "Traceback" not in second.stderr and "ready" not in second.stderr

            assert client.status(job_id)["status"] == JobStatus.RUNNING_ALGORITHM
            release_algorithm(home, job_id)
            job = wait_for(client, job_id)
            assert job["status"] == JobStatus.FINISHED, job
    finally:
        first.stop()
    # The lock dies with its holder: the home serves again.
    again = start_provider(home)
    again.stop()


def test_a_taken_port_fails_before_anything_is_ready_or_touched(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _serve(tmp_path / "home", port)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"c2d: cannot listen on http://127.0.0.1:{port}: Address already in use;"
        " stop what uses it or pick another --port"
    ]
    # Nothing but the lock file: no state, no key, no jobs folder.
    assert sorted(p.name for p in (tmp_path / "home").iterdir()) == ["serve.lock"]


def test_an_unknown_log_level_is_a_usage_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "provider.cli", "serve", "--log-level", "loud"],
        env={**os.environ, "C2D_HOME": str(tmp_path / "home")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "invalid choice: 'loud'" in done.stderr and "debug" in done.stderr


def test_the_start_log_names_address_home_config_environments_engine_and_chain(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    server = start_provider(home)
    server.stop()
    events = [
        json.loads(line)["event"]
        for line in server.log_path.read_text().splitlines()
        if line.startswith("{")
    ]
    (start,) = [event for event in events if event.startswith("listening on")]
    address = Account.from_key((home / "provider.key").read_text().strip()).address
    assert start == (
        f"listening on {server.url}; C2D_HOME {home.resolve()};"
        f" config {(home / 'environments.json').resolve()}; environments free (python:3.11,"
        " python:3.11-slim); engine local; chain none (free jobs only);"
        f" provider address {address}"
    )
    assert events.index(start) < next(i for i, e in enumerate(events) if " ready;" in e)
    assert not any("<url>" in event for event in events), events


def test_a_home_that_cannot_be_written_is_one_line() -> None:
    done = _serve(Path("/proc/c2d-no-home"), 1)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "c2d: cannot use C2D_HOME /proc/c2d-no-home: /proc/c2d-no-home/serve.lock: No such file"
        " or directory; set C2D_HOME to a folder this user may write"
    ]
