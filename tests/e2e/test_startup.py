"""``c2d serve`` refuses to start, with a clear one-line reason and no traceback, when it cannot
sandbox algorithms or when its environments file is invalid."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml

from devkit.launch import free_port, start_server

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


def test_serve_refuses_a_host_without_usable_cgroups_and_says_how_to_fix_it(
    tmp_path: Path,
) -> None:
    # An empty folder where the cgroup hierarchies would be: neither v2 nor v1 is there.
    no_cgroups = tmp_path / "no-cgroups"
    no_cgroups.mkdir()

    run = _serve(tmp_path / "home", C2D_CGROUP_ROOT=str(no_cgroups))

    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("c2d: cannot start the local engine: no usable cgroups"), lines
    assert f"no cgroup v2 hierarchy at {no_cgroups}" in lines[0]
    assert f"no cgroup v1 memory controller at {no_cgroups}/memory" in lines[0]
    assert "Delegate=yes" in lines[0] and "C2D_ALLOW_WEAK_SANDBOX=1" in lines[0]


def test_the_weak_sandbox_opt_out_starts_and_is_reported_by_the_log_and_get_root(
    tmp_path: Path,
) -> None:
    no_cgroups = tmp_path / "no-cgroups"
    no_cgroups.mkdir()
    server = start_server(
        tmp_path / "home",
        env={"C2D_CGROUP_ROOT": str(no_cgroups), "C2D_ALLOW_WEAK_SANDBOX": "1"},
    )
    try:
        root = httpx.get(server.url + "/", timeout=10).json()
    finally:
        server.stop()

    assert root["weakSandboxAllowed"] is True
    assert root["sandbox"].startswith("WEAK SANDBOX (C2D_ALLOW_WEAK_SANDBOX=1): ")
    assert "rlimits only (no cgroups)" in root["sandbox"]
    log = server.log_path.read_text()
    assert "WEAK SANDBOX: no cgroups" in log and "ready; sandbox: WEAK SANDBOX" in log, log


def test_a_host_with_cgroups_reports_the_backend_and_no_opt_out(tmp_path: Path) -> None:
    server = start_server(tmp_path / "home")
    try:
        root = httpx.get(server.url + "/", timeout=10).json()
    finally:
        server.stop()

    assert root["weakSandboxAllowed"] is False
    assert "limits: cgroup v" in root["sandbox"], root["sandbox"]
