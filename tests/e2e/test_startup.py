"""``c2d serve`` refuses to start, with a clear one-line reason and no traceback, when it cannot
sandbox algorithms or when its environments file is invalid."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from devkit.launch import free_port

_REPO = Path(__file__).resolve().parents[2]
# What the sandbox needs besides bubblewrap (see workflows/engines/local/runtime.py).
_OTHER_TOOLS = ("setpriv",)


def _serve(home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``c2d serve`` on loopback; it is expected to exit by itself, before listening."""
    environment = {**os.environ, "C2D_HOME": str(home), **env}
    command = [sys.executable, "-m", "provider.cli", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(free_port())]
    return subprocess.run(
        command,
        env=environment,
        cwd=_REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_serve_refuses_to_start_without_bubblewrap(tmp_path: Path) -> None:
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in _OTHER_TOOLS:
        found = shutil.which(tool)
        assert found is not None, f"{tool} is needed for this test"
        (tools / tool).symlink_to(found)
    assert shutil.which("bwrap", path=str(tools)) is None

    run = _serve(tmp_path / "home", PATH=str(tools))

    assert run.returncode != 0
    output = run.stdout + run.stderr
    assert "bubblewrap" in output, output
    assert "apt-get install -y bubblewrap" in output, output
    assert "Traceback" not in output, output


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        ({"maxJobDuration": -5}, "environments.0.maxJobDuration", "greater than 0"),
        ({"maxJobDurations": 60}, "environments.0.maxJobDurations", "not permitted"),
    ],
)
def test_serve_refuses_an_invalid_config_file_and_names_the_field(
    tmp_path: Path, change: dict[str, int], field: str, problem: str
) -> None:
    environment = {
        "id": "free",
        "resources": [
            {"id": "cpu", "total": 1, "max": 1},
            {"id": "ram", "total": 1, "max": 1},
            {"id": "disk", "total": 1, "max": 1},
        ],
        "free": {"maxJobDuration": 60},
        "runtimes": [{"images": ["python:3.11"], "commands": {"python": "/usr/bin/python3"}}],
        **change,
    }
    config = tmp_path / "environments.yaml"
    config.write_text(yaml.safe_dump({"environments": [environment]}, sort_keys=False))

    run = _serve(tmp_path / "home", C2D_CONFIG=str(config))

    assert run.returncode != 0
    output = run.stdout + run.stderr
    assert str(config) in output, output
    assert field in output and problem in output, output
    assert "Traceback" not in output, output
