"""examples/: the Python and the ocean.js consumer run a free job against a real provider."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from eth_account import Account

from devkit.demo.files import FileServer
from devkit.launch import ServerProcess

_EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _run(argv: list[str], server: ServerProcess, url: str, cwd: Path) -> str:
    env = {
        **os.environ,
        "PROVIDER_URL": server.url,
        "CONSUMER_KEY": Account.create().key.hex(),
        "DATASET_URL": url,
    }
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


def _check(argv: list[str], archive: str, server: ServerProcess, url: str, cwd: Path) -> None:
    """The example ran a job to 70 that saw every line of the dataset (50 rows and a header),
    printed the algorithm's log and saved the output archive (``archive``, a glob in ``cwd``)."""
    out = _run(argv, server, url, cwd)
    assert "job ended: 70 Job finished" in out
    assert "counted {'0/0': 51}" in out
    (saved,) = cwd.glob(archive)
    with tarfile.open(saved) as tar:
        member = tar.extractfile("counts.json")
        assert member is not None
        assert json.loads(member.read()) == {"0/0": 51}


def test_the_python_consumer(
    server: ServerProcess, file_server: FileServer, tmp_path: Path
) -> None:
    argv = [sys.executable, str(_EXAMPLES / "free_job.py")]
    _check(argv, "results-*/outputs.tar", server, file_server.url("weather.csv"), tmp_path)


@pytest.mark.node
def test_the_oceanjs_consumer(
    server: ServerProcess, file_server: FileServer, tmp_path: Path
) -> None:
    argv = ["node", str(_EXAMPLES / "free_job.mjs")]
    _check(argv, "results-*.tar", server, file_server.url("weather.csv"), tmp_path)
