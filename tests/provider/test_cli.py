"""``c2d serve`` refuses a bad configuration with a message naming the field, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from devkit.launch import free_port


def _serve(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    port = str(free_port())
    return subprocess.run(
        [sys.executable, "-m", "provider.cli", "serve", "--port", port],
        env={**os.environ, "C2D_HOME": str(tmp_path / "home"), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_invalid_environment_field_is_named(tmp_path: Path) -> None:
    config = tmp_path / "c2d.yaml"
    config.write_text(
        "environments:\n"
        "  - id: gpu\n"
        "    maxJobDuration: -5\n"
        "    resources: [{id: cpu, total: 2, max: 2}, {id: ram, total: 4, max: 4},"
        " {id: disk, total: 9, max: 9}]\n"
        "    runtimes: [{images: ['python:3.11']}]\n"
    )
    done = _serve(tmp_path, C2D_CONFIG=str(config))
    assert done.returncode == 2
    assert "environments.0.maxJobDuration" in done.stderr
    assert "Traceback" not in done.stderr


def test_missing_resource_is_named(tmp_path: Path) -> None:
    config = tmp_path / "c2d.json"
    config.write_text(
        '{"environments": [{"id": "x", "resources": [{"id": "cpu", "total": 1, "max": 1}],'
        ' "runtimes": [{"images": ["python:3.11"]}]}]}'
    )
    done = _serve(tmp_path, C2D_CONFIG=str(config))
    assert done.returncode == 2
    assert "ram" in done.stderr and "Traceback" not in done.stderr


def test_unreadable_key_is_refused_without_echoing_it(tmp_path: Path) -> None:
    done = _serve(tmp_path, C2D_PROVIDER_PRIVATE_KEY="not-a-key-SECRET")
    assert done.returncode == 2
    assert "C2D_PROVIDER_PRIVATE_KEY" in done.stderr
    assert "SECRET" not in done.stderr


def test_invalid_setting_names_the_variable(tmp_path: Path) -> None:
    done = _serve(tmp_path, C2D_MAX_REQUEST_BYTES="0")
    assert done.returncode == 2
    assert "C2D_MAX_REQUEST_BYTES" in done.stderr
    assert "Traceback" not in done.stderr


def _runtime_config(tmp_path: Path, runtime: str) -> Path:
    config = tmp_path / "c2d.yaml"
    config.write_text(
        "environments:\n"
        "  - id: gpuish\n"
        "    resources: [{id: cpu, total: 1, max: 1}, {id: ram, total: 1, max: 1},"
        " {id: disk, total: 1, max: 1}]\n"
        "    free: {}\n"
        "    runtimes:\n"
        "      - {images: ['python:3.11']}\n"
        f"      - {runtime}\n"
    )
    return config


@pytest.mark.parametrize(
    ("runtime", "problem"),
    [
        (
            "{images: [tf], binds: [/usr, /opt/does-not-exist]}",
            "environments.0.runtimes.1.binds (environment gpuish): /opt/does-not-exist is no"
            " directory on this machine; every job on it would fail",
        ),
        (
            "{images: [tf], commands: {python: /usr/bin/python9}}",
            "environments.0.runtimes.1.commands.python (environment gpuish): /usr/bin/python9 is"
            " no executable file on this machine; every job on it would fail",
        ),
        (
            f"{{images: [tf], commands: {{python: {sys.executable}}}}}",
            f"environments.0.runtimes.1.commands.python (environment gpuish): {sys.executable}"
            " is outside the runtime's binds (/usr); every job on it would fail",
        ),
    ],
)
def test_a_runtime_naming_what_this_machine_lacks_is_refused_at_start(
    tmp_path: Path, runtime: str, problem: str
) -> None:
    config = _runtime_config(tmp_path, runtime)
    done = _serve(tmp_path, C2D_CONFIG=str(config))
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == f"c2d: config file {config}: {problem}"


def test_a_bind_the_sandboxs_user_cannot_reach_is_refused_at_start(tmp_path: Path) -> None:
    closed = tmp_path / "closed"
    (closed / "inside").mkdir(parents=True)
    closed.chmod(0o700)
    config = _runtime_config(tmp_path, f"{{images: [tf], binds: [/usr, {closed}/inside]}}")
    done = _serve(tmp_path, C2D_CONFIG=str(config))
    assert done.returncode == 2, done.stderr
    assert (
        f"environments.0.runtimes.1.binds (environment gpuish): {closed}/inside is closed to"
        " the sandbox's user (uid 1000):"
    ) in done.stderr, done.stderr
