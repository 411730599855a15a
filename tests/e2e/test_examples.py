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

from provider.demo.files import FileServer
from provider.launch import ServerProcess

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


def test_the_python_consumer(
    server: ServerProcess, file_server: FileServer, tmp_path: Path
) -> None:
    out = _run(
        [sys.executable, str(_EXAMPLES / "free_job.py")],
        server,
        file_server.url("weather.csv"),
        tmp_path,
    )
    assert "job ended: 70 Job finished" in out
    # The dataset has 50 rows and a header: the algorithm saw all 51 lines.
    assert "counted {'0/0': 51}" in out
    (folder,) = tmp_path.glob("results-*")
    with tarfile.open(folder / "outputs.tar") as tar:
        member = tar.extractfile("counts.json")
        assert member is not None
        assert json.loads(member.read()) == {"0/0": 51}


@pytest.mark.node
def test_the_oceanjs_consumer(
    server: ServerProcess, file_server: FileServer, tmp_path: Path
) -> None:
    out = _run(
        ["node", str(_EXAMPLES / "free_job.mjs")],
        server,
        file_server.url("weather.csv"),
        tmp_path,
    )
    assert "job ended: 70 Job finished" in out
    assert "counted {'0/0': 51}" in out
    (archive,) = tmp_path.glob("results-*.tar")
    with tarfile.open(archive) as tar:
        member = tar.extractfile("counts.json")
        assert member is not None
        assert json.loads(member.read()) == {"0/0": 51}
