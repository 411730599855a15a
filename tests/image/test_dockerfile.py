"""The Dockerfile, built without a Docker engine (tests/image/build.py), holds what the provider
and the steps need at run time, and its entrypoint runs from the image's own root filesystem."""

from __future__ import annotations

import json
import os
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.image.build import ROOT, built_image
from tests.steps.conftest import BODY, Server, make_spec
from workflows import contract

SITE = "opt/c2d/lib/python3.11/site-packages"
IMAGE_PATH = "/opt/c2d/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@pytest.fixture(scope="module")
def image() -> Iterator[tuple[Path, dict[str, Any]]]:
    with built_image() as built:
        yield built


def run_in_image(rootfs: Path, *command: str, job: Path | None = None, **env: str) -> str:
    """``command`` in the image's root (read-only) as the image's uid 1000, with the image's
    PATH, ``job`` at /tmp/job, on the host's network (a loopback server is reachable); stdout and
    stderr."""
    sandbox = ["bwrap", "--ro-bind", str(rootfs), "/", "--proc", "/proc", "--dev", "/dev"]
    sandbox += ["--tmpfs", "/tmp", "--unshare-pid", "--die-with-parent", "--clearenv"]
    if job is not None:
        sandbox += ["--bind", str(job), "/tmp/job"]
    for name, value in {"PATH": IMAGE_PATH, "HOME": "/tmp", **env}.items():
        sandbox += ["--setenv", name, value]
    drop = ["setpriv", "--reuid=1000", "--regid=1000", "--clear-groups", "--"]
    done = subprocess.run(
        [*sandbox, *drop, *command], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"{command}: {done.returncode}\n{done.stdout}{done.stderr}"
    return done.stdout + done.stderr


def test_config_runs_c2d_as_uid_1000(image: tuple[Path, dict[str, Any]]) -> None:
    config = image[1]
    assert config["Entrypoint"] == ["c2d"]
    assert config["Cmd"] == ["serve", "--host", "0.0.0.0", "--port", "8000"]
    assert config["User"] == "1000:1000"
    assert any(e.startswith("PATH=/opt/c2d/bin:") for e in config["Env"])


def test_holds_the_contract_abis_and_the_steps(image: tuple[Path, dict[str, Any]]) -> None:
    site = image[0] / SITE
    shipped = [*(ROOT / "provider/chain/abi").glob("*.json"), ROOT / "provider/chains/address.json"]
    assert len(shipped) >= 5
    for path in shipped:
        inside = site / path.relative_to(ROOT)
        assert inside.read_bytes() == path.read_bytes(), inside
    for module in ("steps/configure.py", "steps/publish.py", "provider/ui/static"):
        assert (site / module).exists(), module


def test_entrypoint_prints_the_version(image: tuple[Path, dict[str, Any]]) -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert run_in_image(image[0], "c2d", "--version").strip() == f"c2d {version}"
    # A consumer command: its imports (the chain and HTTP clients) resolve in the image.
    assert "--provider" in run_in_image(image[0], "c2d", "submit", "--help")


def test_configure_step_provisions_an_input(
    image: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    folders = {contract.DATA: "data", contract.ADMIN_LOGS: "admin", contract.SPEC_DIR: "spec"}
    folders[contract.RESULTS] = "results"
    for folder in folders.values():
        (tmp_path / folder).mkdir()
        os.chown(tmp_path / folder, 1000, 1000)
    tmp_path.chmod(0o755)  # pytest's 0700: the step (uid 1000) must reach its folders
    mounts = {path: f"/tmp/job/{folder}" for path, folder in folders.items()}
    server = Server()
    try:
        inputs = [{"folder": "d1", "files": [{"url": server.url("file")}]}]
        spec = make_spec(inputs, {"rawcode": "print(1)\n"})
        (tmp_path / "spec" / "jobspec.json").write_text(spec.model_dump_json())
        output = run_in_image(
            image[0],
            *("python", "-m", "steps.configure"),
            job=tmp_path,
            **{
                contract.PATH_MAP_ENV: json.dumps(mounts),
                contract.SOURCE_NETWORKS_ENV: "127.0.0.0/8",
            },
        )
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
    assert "configure: ok" in output
    assert (tmp_path / "data" / "inputs" / "d1" / "0").read_bytes() == BODY
